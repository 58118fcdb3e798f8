"""What a worker does with one batch: a plain engine run over the batch's files, under a lease.

``run_batch`` is the whole job and knows nothing of Celery (the task in ``worker.py`` only maps
its answer to ack/retry), so it can be read, and reasoned about, on its own:

1. an outcome already stored → nothing to do (a redelivered or repeated task);
2. the lease held by another worker → ``BUSY`` (the task retries later; if that worker died,
   its lease lapses and this one takes over);
3. otherwise run the engine with the batch's file list, renewing the lease, and store the
   outcome (first one wins). The engine's skip rules make a repeat cheap, and a transfer the
   lost worker left half-done resumes from its recorded ranges.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import anyio
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from mango_transfer import engine
from mango_transfer.engine.context import RangeMover
from mango_transfer.engine.stats import FileResult, Stats, StatsSnapshot, Status
from mango_transfer.errors import MangoError
from mango_transfer.irods.pool import SessionCache
from mango_transfer.scaleout.payload import BatchPayload
from mango_transfer.scaleout.records import RunRecords

__all__ = ["BatchError", "BatchState", "error_outcome", "renewing", "run_batch"]

log = logging.getLogger(__name__)
_REPORT_EVERY = 0.5  # seconds between live byte-count updates to Redis


class BatchState(enum.Enum):
    DONE = "done"
    ALREADY_DONE = "already done"
    BUSY = "busy"


class BatchError(Exception):
    """The engine could not run the batch at all (no session, source gone...)."""

    def __init__(self, error: MangoError) -> None:
        super().__init__(error.user_message())
        self.error = error


def error_outcome(message: str, node: str) -> dict[str, Any]:
    """What the coordinator reports when a batch could not run: each of its files failed."""
    return {"node": node, "bytes": 0, "retries": 0, "results": [], "error": message}


def run_batch(payload: BatchPayload, records: RunRecords, *, node: str,
              environ: Mapping[str, str] | None = None,
              ranges: RangeMover | None = None,
              sessions: SessionCache | None = None) -> BatchState:
    """``ranges``: how this worker moves a large file's ranges (split among workers or not);
    ``sessions``: the worker's logged-in sessions, kept from one batch to the next."""
    if records.has_outcome(payload.batch):
        return BatchState.ALREADY_DONE
    lease = records.lease(payload.batch, payload.lease)
    if not lease.acquire():
        return BatchState.BUSY
    try:
        if records.has_outcome(payload.batch):  # finished while we waited for the lease
            return BatchState.ALREADY_DONE
        with renewing(lease, payload.lease):
            outcome = _transfer(payload, records, node, environ, ranges, sessions)
        records.store_outcome(payload.batch, outcome)
        records.forget_progress(payload.batch)  # the outcome says it all now
        return BatchState.DONE
    finally:
        try:
            lease.release()
        except (LockError, RedisError):
            log.warning("batch %s: the lease had lapsed before the end", payload.batch)


def _transfer(payload: BatchPayload, records: RunRecords, node: str,
              environ: Mapping[str, str] | None, ranges: RangeMover | None,
              sessions: SessionCache | None) -> dict[str, Any]:
    earlier, earlier_bytes = records.earlier_progress(payload.batch)
    stats = Stats(record_files=True)
    reporter = _Reporter(records, payload.batch)
    options = payload.transfer_options()
    try:
        anyio.run(lambda: engine.transfer(
            payload.direction, payload.src, payload.dest, options, stats=stats,
            progress=reporter, environ=environ, files=payload.files, dirs=payload.dirs,
            on_result=reporter.moved, ranges=ranges, sessions=sessions))
    except MangoError as exc:
        raise BatchError(exc) from None
    snap = stats.snapshot()
    reporter.flush(snap)
    results = [_row(result) for result in stats.results]
    # A file an earlier, lost attempt moved is "already there" now; it was moved by this run.
    results = [earlier.get(row[0], row) if row[1] == Status.SKIPPED.value else row
               for row in results]
    return {"node": node, "bytes": snap.bytes + earlier_bytes, "retries": snap.retries,
            "results": results}


def _row(result: FileResult) -> list[Any]:
    """One result as JSON for Redis: the five first fields, then what the report adds."""
    return [result.path, result.status.value, result.reason, result.action, result.size,
            result.bytes_moved, result.checksum, result.seconds, result.resumed_from,
            result.verified]


class _Reporter:
    """The engine's progress and result callbacks (on its event loop). A moved file is
    written at once (one pipelined round trip, small beside a file's own iRODS requests), so a
    repeat after a lost worker knows what it moved up to its last moments; the byte count for
    the coordinator's bar goes with it, or every ``_REPORT_EVERY`` seconds."""

    def __init__(self, records: RunRecords, batch: str) -> None:
        self.records = records
        self.batch = batch
        self.sent = 0
        self.last = 0.0
        self.pending: dict[str, list[Any]] = {}
        self.latest: StatsSnapshot | None = None

    def moved(self, result: FileResult) -> None:
        if result.status is Status.TRANSFERRED:
            self.pending[result.path] = _row(result)
            self.flush(self.latest)

    def __call__(self, snap: StatsSnapshot) -> None:
        self.latest = snap
        if time.monotonic() - self.last >= _REPORT_EVERY:
            self.flush(snap)

    def flush(self, snap: StatsSnapshot | None) -> None:
        self.last = time.monotonic()
        total = snap.bytes if snap is not None else self.sent
        delta, moved = total - self.sent, self.pending
        try:
            self.records.note_progress(self.batch, moved, delta)
        except RedisError:  # a nicety for the bar and for a repeat; the outcome is exact
            return
        self.sent, self.pending = total, {}


@contextmanager
def renewing(lease: Lock, seconds: float) -> Iterator[None]:
    """Renew the lease every third of its span while the batch runs."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            try:
                lease.extend(seconds, replace_ttl=True)
            except (LockError, RedisError) as exc:
                log.warning("could not renew a batch lease: %s", exc)

    thread = threading.Thread(target=renew, name="lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
