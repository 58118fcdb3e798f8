"""Accounting for one run: counted in one place, rendered elsewhere (the CLI's tqdm, the report).

Worker threads add bytes as they move them and tasks add file outcomes, so every counter is
behind one lock. Readers take a :meth:`Stats.snapshot`, a consistent frozen copy.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["FileResult", "Progress", "Stats", "StatsSnapshot", "Status", "finishing"]


class Status(enum.Enum):
    """A file's outcome, as the JSON report names it."""

    TRANSFERRED = "transferred"
    SKIPPED = "skipped"
    FAILED = "failed"
    DELETED = "deleted"
    PLANNED = "planned"  # --dry-run: would be transferred or deleted
    FILTERED = "filtered"  # left out by a selection (ingest's --glob/--ignore...); not an error


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's line in the report. ``action`` is the plan (new, changed, skip, delete,
    filter). ``checksum`` is the file's SHA-256 in iRODS form (``sha2:<base64>``) when the run
    knows it: with ``--verify``, computed while the bytes streamed and equal to the server's;
    else with ``--checksum``, the source's as the skip decision read it. ``seconds`` is the time
    the file took, from the worker picking it up to its outcome (metadata included)."""

    path: str
    status: Status
    reason: str
    action: str
    size: int = 0
    checksum: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class StatsSnapshot:
    bytes: int
    files_new: int
    files_changed: int
    files_skipped: int
    files_failed: int
    files_deleted: int
    files_planned: int
    bytes_planned: int
    errors: int
    retries: int
    queue_depth: int
    seen: int
    elapsed: float
    files_filtered: int = 0

    @property
    def transferred(self) -> int:
        return self.files_new + self.files_changed

    @property
    def rate(self) -> float:
        """Bytes per second over the elapsed time."""
        return self.bytes / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class Stats:
    """Counters of one run; see the module docstring. ``record_files`` keeps every file's result
    (for ``--json-report``); failures are always kept so they can be shown."""

    record_files: bool = True
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    results: list[FileResult] = field(default_factory=list)
    failures: list[FileResult] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _bytes: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    queue_depth: int = 0

    def add_bytes(self, count: int) -> None:
        """Bytes that really crossed the wire (a retried range counts again)."""
        with self._lock:
            self._bytes += count

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def add_result(self, result: FileResult) -> None:
        """Record one file's outcome and count it."""
        names = {Status.SKIPPED: "skipped", Status.FAILED: "failed", Status.DELETED: "deleted",
                 Status.PLANNED: "planned", Status.FILTERED: "filtered"}
        name = names.get(result.status) or ("new" if result.action == "new" else "changed")
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1
            if result.status is Status.FAILED:
                self._counts["errors"] = self._counts.get("errors", 0) + 1
                self.failures.append(result)
            if result.status is Status.PLANNED:
                self._counts["bytes_planned"] = self._counts.get("bytes_planned", 0) + result.size
            if self.record_files:
                self.results.append(result)

    def finish(self) -> None:
        self.finished = time.monotonic()

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            counts = dict(self._counts)
            moved = self._bytes
        end = self.finished if self.finished is not None else time.monotonic()
        get = counts.get
        return StatsSnapshot(
            bytes=moved, files_new=get("new", 0), files_changed=get("changed", 0),
            files_skipped=get("skipped", 0), files_failed=get("failed", 0),
            files_deleted=get("deleted", 0), files_planned=get("planned", 0),
            bytes_planned=get("bytes_planned", 0), errors=get("errors", 0),
            retries=get("retries", 0), queue_depth=self.queue_depth, seen=get("seen", 0),
            elapsed=end - self.started, files_filtered=get("filtered", 0))


Progress = Callable[[StatsSnapshot], None]  # called with a snapshot while a run goes


@contextmanager
def finishing(stats: Stats, progress: Progress | None) -> Iterator[Stats]:
    """The end of every run, however it ends: the clock stops and the progress callback sees
    the final snapshot (so a bar shows the last bytes, also after an error)."""
    try:
        yield stats
    finally:
        stats.finish()
        if progress is not None:
            progress(stats.snapshot())
