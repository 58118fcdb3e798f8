"""Waiting out an unreachable server or a vanished folder: the backoff, the limit, the words.

Pure (the caller sleeps and probes): :func:`backoff` is the wait before the next probe (1 s,
doubling, capped at :data:`RETRY_MAX`), :class:`Outage` remembers since when and why, and says
it in the one status line the user sees and the log keeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from mango_transfer.errors import MangoError

__all__ = ["RETRY_MAX", "Outage", "OutageTooLong", "backoff", "format_duration"]

RETRY_MAX = 60.0  # seconds between probes of an unreachable server, at most


def backoff(attempt: int, first: float = 1.0, cap: float = RETRY_MAX) -> float:
    """Seconds before probe number ``attempt`` (1-based): ``first`` × 2^(attempt−1), capped."""
    return min(first * 2.0 ** max(attempt - 1, 0), cap)


def format_duration(seconds: float) -> str:
    """``75`` → ``1 min 15 s``; ``7300`` → ``2 h 1 min``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


class OutageTooLong(MangoError):
    """The server (or the folder) stayed away longer than ``--max-outage``."""


@dataclass
class Outage:
    """One stretch of unavailability of ``what`` ("server" or "folder")."""

    what: str
    reason: str
    since: datetime = field(default_factory=lambda: datetime.now().astimezone())
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def subject(self, folder: str) -> str:
        if self.what == "server":
            return "server unreachable"
        return f"watched folder {folder} missing"

    def status(self, folder: str, waiting: int, retry_in: float | None) -> str:
        """``server unreachable since 14:02:05 (reason), 3 files waiting, retrying in 30 s``."""
        files = "1 file" if waiting == 1 else f"{waiting} files"
        text = f"{self.subject(folder)} since {self.since:%H:%M:%S} ({self.reason}), {files} waiting"
        if retry_in is not None:
            text += f", retrying in {format_duration(retry_in)}"
        return text

    def ended(self, folder: str, waiting: int) -> str:
        back = ("server reachable again" if self.what == "server"
                else f"watched folder {folder} is back")
        files = "1 file" if waiting == 1 else f"{waiting} files"
        return f"{back} after {format_duration(self.seconds)}; {files} waiting"

    def too_long(self, folder: str, limit: float, waiting: int) -> OutageTooLong:
        return OutageTooLong(
            f"{self.subject(folder)} for {format_duration(self.seconds)} (since "
            f"{self.since:%Y-%m-%d %H:%M:%S}, {self.reason}), longer than --max-outage "
            f"{format_duration(limit)}; {waiting} files waiting are logged as pending",
            hint="run again with --restart LOG (or --sync) once it is back")
