"""How one file's handling ends inside the runner, before it is timed and counted."""

from __future__ import annotations

from dataclasses import dataclass

from mango_transfer.engine.file_transfer import Moved
from mango_transfer.engine.stats import Status
from mango_transfer.errors import MangoError

__all__ = ["Outcome", "StepFailed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one file ended, before it is timed and counted (``Runner.result``)."""

    status: Status
    reason: str
    action: str
    checksum: str | None = None
    moved: Moved | None = None  # what the transfer did, when bytes moved
    retryable: bool = False  # a failure a later attempt may cure


class StepFailed(Exception):
    """A step of one file failed for good: the file fails with ``error`` and its remaining
    steps are skipped."""

    def __init__(self, error: MangoError, action: str) -> None:
        super().__init__(error.user_message())
        self.error, self.action = error, action
