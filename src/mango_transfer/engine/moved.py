"""What moving one file answers (:class:`Moved`), and the checks every way of moving shares."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mango_transfer.errors import TransferFailed, VerificationFailed

__all__ = ["ByteCounter", "Moved", "compare", "refuse_changed"]

ByteCounter = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Moved:
    """What moving one file did.

    ``bytes``: sent or received by this attempt (a resumed file moves only its missing
    ranges). ``checksum``: with ``--verify`` (or an upload with ``--checksum``), the SHA-256
    of the moved bytes in iRODS form, found equal to the server's; else None. ``resumed``:
    the attempt continued ranges that an earlier one left.
    """

    bytes: int
    checksum: str | None = None
    resumed: bool = False


def compare(path: str, local: str, server: str) -> None:
    """Raise VerificationFailed unless the local and the server's checksum are equal."""
    if local != server:
        raise VerificationFailed("checksum differs between the local file and the server",
                                 path=path, expected=local, actual=server or "none")


def refuse_changed(local: Path, now: os.stat_result, size: int, mtime_ns: int, *,
                   whole_seconds: bool = False) -> None:
    """Raise (retryable) when the local file is not the one whose bytes were sent: a recording
    still being written must never be published as a complete, "good" replica."""
    current = now.st_mtime_ns // 1_000_000_000 * 1_000_000_000 if whole_seconds else now.st_mtime_ns
    if now.st_size != size or current != mtime_ns:
        raise TransferFailed("the local file changed during the upload (is it still being "
                             "written?); it was not stored as complete", path=local,
                             retryable=True, hint="upload it again once it is complete")
