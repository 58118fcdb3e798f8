"""The coordinator: walk the source as a local run does, send batches, gather the outcomes.

The walk is the engine's own (``Upload``/``Download.source()``: local ``scandir`` or one paged
GenQuery), streamed into a :class:`~mango_transfer.scaleout.batches.Batcher`; at most
``max_pending`` batches are in flight, so memory stays bounded however large the tree. Outcomes
are read back from Redis (one ``MGET`` per poll for all pending batches) into the same
:class:`Stats` a local run fills, so the CLI prints the same summary and writes the same JSON
report.

**Restart.** The run id names everything the run keeps in Redis. A coordinator started again
with the same id (by default: the same command, see :func:`default_run_id`) walks again, forms
the same batches, and for each one either takes the stored outcome, waits for the task already
queued, or sends it; nothing finished is sent twice. A completed run clears its records, so the
next nightly run of the same command starts afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from mango_transfer import engine
from mango_transfer.engine.options import MIB, TransferOptions
from mango_transfer.engine.stats import FileResult, Stats, Status, finishing
from mango_transfer.errors import UsageError
from mango_transfer.fileinfo import DirInfo, FileInfo, Skipped, WalkError
from mango_transfer.irods.environment import IrodsEnvironment
from mango_transfer.scaleout.app import DEFAULT_LEASE, QUEUE, TASK_NAME, make_app
from mango_transfer.scaleout.batches import Batch, Batcher, batch_key
from mango_transfer.scaleout.payload import BatchPayload
from mango_transfer.scaleout.records import RunRecords, connect, redacted

__all__ = ["ScaleOut", "coordinate", "default_run_id"]

_POLL = 0.2  # seconds between outcome polls
_STALL_LEASES = 3  # no outcome and no lease held for this many lease spans: re-send


@dataclass(frozen=True)
class ScaleOut:
    """How to spread one run: the broker, the run id and the batch sizes."""

    broker: str
    run_id: str | None = None
    batch_files: int = 200
    batch_bytes: int = 512 * MIB
    lease: float = DEFAULT_LEASE
    max_pending: int = 256
    split_from: int = 8 * 1024 * MIB  # 0: never share a file among workers
    part_size: int = 1024 * MIB

    def __post_init__(self) -> None:
        if self.batch_files < 1 or self.batch_bytes < 1:
            raise UsageError("--batch-files and --batch-bytes must be at least 1")
        if self.part_size < 4 * MIB:
            raise UsageError("--part-size must be at least 4M")
        if self.lease < 5:
            raise UsageError(f"--lease must be at least 5 seconds, got {self.lease:g}")


def default_run_id(direction: str, src: str, dest: str) -> str:
    """The same command (direction, source, destination) gets the same id, so running it
    again after an interruption continues the run."""
    text = "\0".join((direction, src, dest))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


async def coordinate(direction: str, src: str, dest: str, options: TransferOptions,
                     scale: ScaleOut, *, stats: Stats | None = None,
                     progress: engine.Progress | None = None,
                     environ: Mapping[str, str] | None = None,
                     notice: Callable[[str], None] | None = None) -> Stats:
    """Run ``upload``/``download``/``sync`` of ``src`` → ``dest`` on the Celery workers."""
    if options.links:
        raise UsageError("--links cannot be combined with --celery",
                         hint="use --copy-links, or run the links without --celery")
    if options.delete:
        raise UsageError("--delete cannot be combined with --celery",
                         hint="migrate with --celery, then run the same sync with --delete "
                              "without --celery")
    stats = stats if stats is not None else Stats()
    app = make_app(scale.broker, scale.lease)
    client = await anyio.to_thread.run_sync(connect, scale.broker)
    walk_options = dataclasses.replace(options, threads=1, chunk_connections=1)
    try:
        with finishing(stats, progress):
            async with engine.run_context(walk_options, stats, environ=environ) as ctx:
                direction = engine.resolve_direction(direction, src, dest, ctx.pool.env.zone)
                src, dest = await anyio.to_thread.run_sync(_shared_paths, direction, src, dest,
                                                           ctx.pool.env)
                walker = engine.open_direction(ctx, direction, src, dest)
                await walker.setup()
                run_id = scale.run_id or default_run_id(direction, src, dest)
                if notice is not None:
                    notice(f"run {run_id}: {direction} {src} → {dest} on the workers of "
                           f"{redacted(scale.broker)}")
                    if not await anyio.to_thread.run_sync(_any_worker, app):
                        notice("no Celery worker answered yet; the batches wait in the queue "
                               f"until one starts (mango-transfer worker --celery "
                               f"{redacted(scale.broker)})")
                records = RunRecords(client, run_id)
                follower = _Follower(app, records, stats, scale, options,
                                     (run_id, direction, src, dest), notice)
                await follower.run(walker, progress)
                await walker.finish()  # --acl, once for the whole tree
                await anyio.to_thread.run_sync(records.clear)
    finally:
        client.close()
    return stats


def _shared_paths(direction: str, src: str, dest: str,
                  env: IrodsEnvironment) -> tuple[str, str]:
    """``(src, dest)`` as every worker reads them: the iRODS side absolute (resolved against
    this environment's home and cwd), the local side absolute (a worker has another working
    directory)."""
    where = {"home": env.home, "cwd": env.working_collection}
    if direction == "upload":
        return os.path.abspath(src), engine.remote_path(dest, "the destination collection",
                                                        **where)
    return engine.remote_path(src, "the source collection", **where), os.path.abspath(dest)


def _any_worker(app: Any) -> bool:
    try:
        return bool(app.control.ping(timeout=1.0, limit=1))  # the first answer suffices
    except Exception:  # noqa: BLE001 - only decides whether to print a hint
        return False


class _Follower:
    """Sends batches (at most ``max_pending`` in flight) and turns outcomes into results."""

    def __init__(self, app: Any, records: RunRecords, stats: Stats, scale: ScaleOut,
                 options: TransferOptions, route: tuple[str, str, str, str],
                 notice: Callable[[str], None] | None = None) -> None:
        self.app, self.records, self.stats, self.scale = app, records, stats, scale
        self.notice = notice or (lambda text: None)
        self.payloads: dict[str, BatchPayload] = {}
        self.last_change = time.monotonic()
        self.run_id, self.direction, self.src, self.dest = route
        self.options = BatchPayload.options_to_json(options)
        self.scope = options.path_filter()
        self.alone_from = options.chunk_threshold
        self.pending: dict[str, Batch] = {}
        self.live_bytes = 0
        self._absorbed = anyio.Event()  # set (and replaced) whenever outcomes arrived

    async def run(self, walker: engine.Direction, progress: engine.Progress | None) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._follow)
            if progress is not None:
                group.start_soon(self._tick, progress)
            await self._walk(walker)
            await self._until(lambda: not self.pending)
            group.cancel_scope.cancel()

    async def _until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()``; it can only change when outcomes are absorbed."""
        while not condition():
            await self._absorbed.wait()

    async def _walk(self, walker: engine.Direction) -> None:
        batcher = Batcher(self.scale.batch_files, self.scale.batch_bytes, self.alone_from)
        scope = self.scope
        async for entry in walker.source():  # (folders the filter prunes are never listed)
            reason = None if scope is None or isinstance(entry, DirInfo) else \
                scope.file_reason(entry.path)
            if reason is not None:
                self.stats.add_result(FileResult(entry.path, Status.FILTERED, reason, "filter",
                                                 getattr(entry, "size", 0)))
                continue
            if not isinstance(entry, DirInfo):  # the totals the bar shows, as discovered
                self.stats.discovered(entry.size if isinstance(entry, FileInfo) else 0)
            if isinstance(entry, WalkError):
                self.stats.add_result(FileResult(entry.path, Status.FAILED,
                                                 entry.error.user_message(), "error"))
                continue
            if isinstance(entry, Skipped):  # a symbolic link not followed
                self.stats.add_result(FileResult(entry.path, Status.SKIPPED, entry.reason,
                                                 "link"))
                continue
            if walker.single:  # one file or object: moved whole, by path
                assert not isinstance(entry, DirInfo)  # (a single file's walk has no folder)
                await self._submit(Batch(size=entry.size), whole=True)
                continue
            produced = (batcher.add_dir(entry.path) if isinstance(entry, DirInfo)
                        else batcher.add_file(entry))
            for batch in produced:
                await self._submit(batch)
        for batch in batcher.finish():
            await self._submit(batch)
        self.stats.walk_finished()

    async def _submit(self, batch: Batch, *, whole: bool = False) -> None:
        await self._until(lambda: len(self.pending) < self.scale.max_pending)
        key = batch_key(self.direction, self.src, self.dest, batch)
        payload = BatchPayload(
            run=self.run_id, batch=key, direction=self.direction, src=self.src, dest=self.dest,
            options=self.options, files=None if whole else batch.files,
            dirs=batch.dirs, lease=self.scale.lease,
            split=[self.scale.split_from, self.scale.part_size] if self.scale.split_from else None)
        self.pending[key] = batch
        self.payloads[key] = payload
        self.last_change = time.monotonic()
        await anyio.to_thread.run_sync(self._send_unless_known, payload)

    def _send_unless_known(self, payload: BatchPayload) -> None:
        """Send, then mark sent: a crash in between only sends it twice (harmless)."""
        if self.records.has_outcome(payload.batch) or self.records.was_sent(payload.batch):
            return
        self.app.send_task(TASK_NAME, args=[payload.to_json()], queue=QUEUE,
                           task_id=f"{payload.run}-{payload.batch}")
        self.records.mark_sent(payload.batch)

    async def _follow(self) -> None:
        while True:
            keys = list(self.pending)
            outcomes = await anyio.to_thread.run_sync(self._outcomes, keys)
            absorbed = False
            for key, outcome in zip(keys, outcomes, strict=True):
                if outcome is not None:
                    self.payloads.pop(key, None)
                    self._absorb(self.pending.pop(key), outcome)
                    absorbed = True
            if absorbed:
                self.last_change = time.monotonic()
                self._absorbed.set()
                self._absorbed = anyio.Event()
            elif self.pending and time.monotonic() - self.last_change > _STALL_LEASES * self.scale.lease:
                await anyio.to_thread.run_sync(self._resend_stalled)
                self.last_change = time.monotonic()
            await anyio.sleep(_POLL)

    def _resend_stalled(self) -> None:
        """Nothing finished for a long time and no worker holds any of our batches: their
        messages may be lost (a broker restarted without persistence). Send them again; a
        batch that was merely waiting in the queue then runs once and its copy is a no-op."""
        if not _any_worker(self.app):
            self.notice("no Celery worker answers; the run waits for one")
            return
        keys = list(self.pending)
        idle = [key for key, held in zip(keys, self.records.leased(keys), strict=True) if not held]
        if len(idle) < len(keys):
            return  # a worker is on it (a long batch): nothing is lost
        self.notice(f"no batch finished in {_STALL_LEASES * self.scale.lease:.0f} s and none is "
                    f"being worked on; sending {len(idle)} again")
        for key in idle:
            payload = self.payloads[key]
            self.app.send_task(TASK_NAME, args=[payload.to_json()], queue=QUEUE,
                               task_id=f"{payload.run}-{payload.batch}-{time.time_ns()}")

    def _outcomes(self, keys: list[str]) -> list[dict[str, Any] | None]:
        found: list[dict[str, Any] | None] = []
        for start in range(0, len(keys), 1000):
            found.extend(self.records.outcomes(keys[start:start + 1000]))
        self.live_bytes = self.records.live_bytes()
        return found

    def _absorb(self, batch: Batch, outcome: dict[str, Any]) -> None:
        self.stats.add_bytes(int(outcome.get("bytes", 0)))
        self.stats.count("retries", int(outcome.get("retries", 0)))
        reported = set()
        for row in outcome.get("results", []):
            path, status, reason, action, size, *more = row
            reported.add(path)
            moved, checksum, seconds, resumed_from, verified = (more + [0, None, None, None,
                                                                        False])[:5]
            self.stats.add_result(FileResult(path, Status(status), reason, action, size,
                                             checksum=checksum, seconds=seconds,
                                             bytes_moved=int(moved or 0),
                                             resumed_from=resumed_from,
                                             verified=bool(verified)))
        error = outcome.get("error")
        if error:
            names = batch.files or [posixpath.basename(self.src)]
            for path in names:
                if path not in reported:
                    self.stats.add_result(FileResult(path, Status.FAILED, error, "error"))

    async def _tick(self, progress: engine.Progress) -> None:
        while True:
            snap = self.stats.snapshot()
            live = max(snap.bytes, self.live_bytes)  # bytes of batches still running count
            done = snap.bytes_done + live - snap.bytes
            progress(dataclasses.replace(snap, bytes=live, bytes_done=min(
                done, snap.bytes_found) if snap.bytes_found else done))
            await anyio.sleep(0.25)
