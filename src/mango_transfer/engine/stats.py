"""Accounting for one run: counted in one place, rendered elsewhere (the CLI's tqdm, the report).

Worker threads add bytes as they move them and tasks add file outcomes, so every counter is
behind one lock. Readers take a :meth:`Stats.snapshot`, a consistent frozen copy.

**Totals as discovered.** The source walk runs ahead of the transfers (through a bounded
queue), and counts every file it hands on (:meth:`Stats.discovered`): ``files_found`` and
``bytes_found`` grow while ``scanning`` is true and are the run's totals once the walk has
ended (:meth:`Stats.walk_finished`). Progress against them counts every file that reached an
outcome (moved, skipped or failed: ``files_done``) and, in bytes, the sizes of those files
plus the bytes already moved of the files still in flight (``bytes_done``), so a re-run that
skips everything still reaches 100 %. Several processes' ``Stats`` add up field by field.
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
    # ``diff``: compared, nothing moved
    IDENTICAL = "identical"
    DIFFERS = "differs"
    MISSING_ON_DESTINATION = "missing_on_destination"
    MISSING_ON_SOURCE = "missing_on_source"


# Outcomes of a file the source walk found (every other outcome is a deletion or a filter).
_SOURCE_OUTCOMES = frozenset({Status.TRANSFERRED, Status.SKIPPED, Status.FAILED, Status.PLANNED,
                              Status.IDENTICAL, Status.DIFFERS, Status.MISSING_ON_DESTINATION})
_COUNT_NAMES = {Status.SKIPPED: "skipped", Status.FAILED: "failed", Status.DELETED: "deleted",
                Status.PLANNED: "planned", Status.FILTERED: "filtered",
                Status.IDENTICAL: "identical", Status.DIFFERS: "differs",
                Status.MISSING_ON_DESTINATION: "missing_on_destination",
                Status.MISSING_ON_SOURCE: "missing_on_source"}


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's line in the report. ``action`` is the plan (new, changed, skip, delete,
    filter). ``checksum`` is the file's SHA-256 in iRODS form (``sha2:<base64>``) when the run
    knows it: with ``--verify``, computed while the bytes streamed and equal to the server's;
    else with ``--checksum``, the source's as the skip decision read it. ``seconds`` is the time
    the file took, from the worker picking it up to its outcome (metadata included).
    ``bytes_moved``: what its successful attempt sent or received (a resumed file moves only
    its missing ranges); ``resumed_from``: the bytes an earlier attempt had left in place, when
    the transfer resumed; ``verified``: ``--verify`` compared the streamed SHA-256 with the
    server's and found them equal. ``retryable``: a failure whose cause a later attempt may
    cure (the connection was lost or refused, the server was busy, the file changed while it
    was sent), after this run's retries were spent; a watcher keeps such a file waiting
    instead of giving up on it."""

    path: str
    status: Status
    reason: str
    action: str
    size: int = 0
    checksum: str | None = None
    seconds: float | None = None
    bytes_moved: int = 0
    resumed_from: int | None = None
    verified: bool = False
    retryable: bool = False

    @property
    def from_source(self) -> bool:
        """The source walk found this file (not a deletion, not a filtered one)."""
        return self.status in _SOURCE_OUTCOMES and self.action != "delete"


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
    files_found: int = 0
    bytes_found: int = 0
    scanning: bool = True
    files_done: int = 0
    bytes_done: int = 0
    files_resumed: int = 0
    files_verified: int = 0
    files_identical: int = 0
    files_differ: int = 0
    missing_on_destination: int = 0
    missing_on_source: int = 0
    planned_deletions: int = 0  # --dry-run: of files_planned, the deletions
    not_deleted: int = 0  # --delete candidates left in place: a file failed, or the guard

    @property
    def transferred(self) -> int:
        return self.files_new + self.files_changed

    @property
    def rate(self) -> float:
        """Bytes per second over the elapsed time."""
        return self.bytes / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def file_rate(self) -> float:
        """Files reaching an outcome per second over the elapsed time."""
        return self.files_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        """How far the run is, 0..1, once the walk has ended (None while it scans): by bytes,
        or by files when the files found hold no bytes."""
        if self.scanning:
            return None
        if self.bytes_found > 0:
            return min(1.0, self.bytes_done / self.bytes_found)
        if self.files_found > 0:
            return min(1.0, self.files_done / self.files_found)
        return 1.0


@dataclass
class Stats:
    """Counters of one run; see the module docstring. ``record_files`` keeps every file's result
    (for ``--json-report``); failures are always kept so they can be shown."""

    record_files: bool = True
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    # Not in the repr: asyncio formats a finished run's result (these Stats) when it restores
    # the SIGINT handler, and 100,000 results took it seconds.
    results: list[FileResult] = field(default_factory=list, repr=False)
    failures: list[FileResult] = field(default_factory=list, repr=False)
    started_at: float = field(default_factory=time.time)  # wall clock, for the report
    finished_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _bytes: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _scanning: bool = True
    _watchers: list[Callable[[FileResult], None]] = field(default_factory=list, repr=False)
    queue_depth: int = 0

    def add_bytes(self, count: int) -> None:
        """Bytes that really crossed the wire (a retried range counts again)."""
        with self._lock:
            self._bytes += count

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def discovered(self, size: int) -> None:
        """The source walk handed on one more file of ``size`` bytes (see the module
        docstring); an entry that could not be read counts with size 0."""
        with self._lock:
            self._counts["found"] = self._counts.get("found", 0) + 1
            self._counts["bytes_found"] = self._counts.get("bytes_found", 0) + size

    def walk_finished(self) -> None:
        """The source walk has ended: ``files_found``/``bytes_found`` are the totals now."""
        with self._lock:
            self._scanning = False

    def watch(self, callback: Callable[[FileResult], None]) -> None:
        """Call ``callback(result)`` for every outcome as it is recorded (``-v`` lines)."""
        self._watchers.append(callback)

    def add_result(self, result: FileResult) -> None:
        """Record one file's outcome and count it."""
        name = _COUNT_NAMES.get(result.status) or ("new" if result.action == "new"
                                                   else "changed")
        if result.action == "delete" and result.status is Status.SKIPPED:
            name = "not_deleted"  # a --delete candidate held back (engine/deletions.py)
        with self._lock:
            counts = self._counts
            counts[name] = counts.get(name, 0) + 1
            if result.action == "delete" and result.status is Status.PLANNED:
                counts["planned_deletions"] = counts.get("planned_deletions", 0) + 1
            if result.status is Status.FAILED:
                counts["errors"] = counts.get("errors", 0) + 1
                self.failures.append(result)
            if result.status is Status.PLANNED and result.action != "delete":
                counts["bytes_planned"] = counts.get("bytes_planned", 0) + result.size
            if result.from_source:
                counts["done"] = counts.get("done", 0) + 1
                counts["bytes_settled"] = counts.get("bytes_settled", 0) + result.size
                counts["moved_settled"] = counts.get("moved_settled", 0) + result.bytes_moved
            if result.resumed_from is not None:
                counts["resumed"] = counts.get("resumed", 0) + 1
            if result.verified:
                counts["verified"] = counts.get("verified", 0) + 1
            if self.record_files:
                self.results.append(result)
        for callback in self._watchers:
            callback(result)

    def finish(self) -> None:
        self.finished = time.monotonic()
        self.finished_at = time.time()

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            counts = dict(self._counts)
            moved = self._bytes
            scanning = self._scanning
        end = self.finished if self.finished is not None else time.monotonic()
        get = counts.get
        in_flight = max(0, moved - get("moved_settled", 0))
        bytes_done = get("bytes_settled", 0) + in_flight
        if get("bytes_found", 0):
            bytes_done = min(bytes_done, get("bytes_found", 0))
        return StatsSnapshot(
            bytes=moved, files_new=get("new", 0), files_changed=get("changed", 0),
            files_skipped=get("skipped", 0), files_failed=get("failed", 0),
            files_deleted=get("deleted", 0), files_planned=get("planned", 0),
            bytes_planned=get("bytes_planned", 0), errors=get("errors", 0),
            retries=get("retries", 0), queue_depth=self.queue_depth, seen=get("seen", 0),
            elapsed=end - self.started, files_filtered=get("filtered", 0),
            files_found=get("found", 0), bytes_found=get("bytes_found", 0),
            scanning=scanning, files_done=get("done", 0), bytes_done=bytes_done,
            files_resumed=get("resumed", 0), files_verified=get("verified", 0),
            files_identical=get("identical", 0), files_differ=get("differs", 0),
            missing_on_destination=get("missing_on_destination", 0),
            missing_on_source=get("missing_on_source", 0),
            planned_deletions=get("planned_deletions", 0), not_deleted=get("not_deleted", 0))


Progress = Callable[[StatsSnapshot], None]  # called with a snapshot while a run goes


@contextmanager
def finishing(stats: Stats, progress: Progress | None) -> Iterator[Stats]:
    """The end of every run, however it ends: the clock stops and the progress callback sees
    the final snapshot (so a bar shows the last bytes, also after an error)."""
    try:
        yield stats
    finally:
        stats.walk_finished()
        stats.finish()
        if progress is not None:
            progress(stats.snapshot())
