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
from pathlib import Path
from typing import Any

import anyio
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from mango_transfer.engine import run as engine
from mango_transfer.engine.stats import Stats, StatsSnapshot
from mango_transfer.errors import MangoError
from mango_transfer.scaleout.payload import BatchPayload
from mango_transfer.scaleout.records import RunRecords

__all__ = ["BatchError", "BatchState", "error_outcome", "run_batch"]

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


def error_outcome(payload: BatchPayload, message: str, node: str) -> dict[str, Any]:
    """What the coordinator reports when a batch could not run: each of its files failed."""
    return {"node": node, "bytes": 0, "retries": 0, "results": [], "error": message}


def run_batch(payload: BatchPayload, records: RunRecords, *, node: str,
              environ: Mapping[str, str] | None = None) -> BatchState:
    if records.has_outcome(payload.batch):
        return BatchState.ALREADY_DONE
    lease = records.lease(payload.batch, payload.lease)
    if not lease.acquire():
        return BatchState.BUSY
    try:
        if records.has_outcome(payload.batch):  # finished while we waited for the lease
            return BatchState.ALREADY_DONE
        with _renewing(lease, payload.lease):
            outcome = _transfer(payload, records, node, environ)
        records.store_outcome(payload.batch, outcome)
        return BatchState.DONE
    finally:
        try:
            lease.release()
        except (LockError, RedisError):
            log.warning("batch %s: the lease had lapsed before the end", payload.batch)


def _transfer(payload: BatchPayload, records: RunRecords, node: str,
              environ: Mapping[str, str] | None) -> dict[str, Any]:
    stats = Stats(record_files=True)
    reporter = _ByteReporter(records)
    options = payload.transfer_options()
    if payload.direction == "upload":
        start = lambda: engine.upload(  # noqa: E731
            payload.src, payload.dest, options, stats=stats, progress=reporter, environ=environ,
            files=payload.files, dirs=payload.dirs)
    else:
        start = lambda: engine.download(  # noqa: E731
            payload.src, Path(payload.dest), options, stats=stats, progress=reporter,
            environ=environ, files=payload.files, dirs=payload.dirs)
    try:
        anyio.run(start)
    except MangoError as exc:
        raise BatchError(exc) from None
    snap = stats.snapshot()
    reporter.flush(snap)
    return {
        "node": node,
        "bytes": snap.bytes,
        "retries": snap.retries,
        "results": [[r.path, r.status.value, r.reason, r.action, r.size] for r in stats.results],
    }


class _ByteReporter:
    """The engine's progress callback: adds the bytes moved to the run's live counter, at most
    every ``_REPORT_EVERY`` seconds (one INCRBY), so the coordinator's bar moves."""

    def __init__(self, records: RunRecords) -> None:
        self.records = records
        self.sent = 0
        self.last = 0.0

    def __call__(self, snap: StatsSnapshot) -> None:
        if time.monotonic() - self.last >= _REPORT_EVERY:
            self.flush(snap)

    def flush(self, snap: StatsSnapshot) -> None:
        self.last = time.monotonic()
        delta, self.sent = snap.bytes - self.sent, snap.bytes
        try:
            self.records.add_bytes(delta)
        except RedisError:  # the bar is a nicety; the outcome carries the exact count
            self.sent -= delta


@contextmanager
def _renewing(lease: Lock, seconds: float) -> Iterator[None]:
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
