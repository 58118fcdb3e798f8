"""A file too large for one worker: its byte ranges shared with other hosts as *part* tasks.

The worker whose batch holds the file is the **leader**. Its engine run decides, keeps the
resume state and verifies exactly as for any large file; only the moving of the missing ranges
is shared (this is the run's :class:`~mango_transfer.engine.context.RangeMover`):

1. The missing ranges are cut into parts of ``part_size``. The leader opens the object (upload:
   the *primary* handle, which holds the replica and its token, as ``irods.chunks`` does) and
   sends parts 1..K-1 as tasks; any worker that takes one opens its own handle (upload: a
   *secondary* joining with the replica token and resource hierarchy, python-irodsclient's
   protocol), moves the part, closes its handle (REPLICA_CLOSE: no finalize) and stores the
   part's outcome in Redis.
2. Meanwhile the leader moves part 0 and then **takes over** every part nobody holds
   (``--chunk-connections`` lanes), so it finishes alone when no other worker is free: no
   deadlock, never slower than a local run by more than the bookkeeping.
3. When every part is done the leader records the ranges, and only then finalizes (upload: closes
   the primary, after the unchanged-source check). A failed part, or a part whose worker died
   (the server then marks the replica stale, as iRODS does for a vanished writer), fails this
   attempt: nothing is finalized, the engine retries the file, and its recorded ranges resume.

Parts of one attempt are keyed by the replica token (upload) or a fresh id (download), so a
part task left over from an earlier attempt cannot join the new one (a wrong token is refused).
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
from irods.session import iRODSSession

from mango_transfer.byteranges import Range
from mango_transfer.engine.ranges import LocalRanges
from mango_transfer.errors import MangoError, TransferFailed
from mango_transfer.irods.chunks import (
    copy_down,
    copy_up,
    cut_ranges,
    open_primary,
    open_secondary,
)
from mango_transfer.irods.remote import IrodsRemote, RemoteHandle
from mango_transfer.scaleout.app import QUEUE
from mango_transfer.scaleout.records import RunRecords
from mango_transfer.scaleout.tasks import renewing

if TYPE_CHECKING:
    from mango_transfer.engine.context import RunContext

__all__ = ["PART_TASK", "PartSpec", "SplitPolicy", "SplitRanges", "run_part"]

log = logging.getLogger(__name__)
PART_TASK = "mango_transfer.transfer_part"
_WAIT = 0.25  # seconds between looks at the parts others hold


@dataclass(frozen=True)
class SplitPolicy:
    """Files of ``split_from`` bytes or more are shared in parts of ``part_size``."""

    split_from: int
    part_size: int


@dataclass(frozen=True)
class PartSpec:
    """One part task's message: where, which ranges, and how to join (no credential)."""

    run: str
    attempt: str
    index: int
    direction: str
    local: str  # upload: the source file; download: the partial file
    remote: str
    size: int
    ranges: list[Range]
    token: str
    hierarchy: str
    lease: float

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ranges": [list(r) for r in self.ranges]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartSpec:
        return cls(**{**data, "ranges": [tuple(r) for r in data["ranges"]]})

    @property
    def key(self) -> str:
        return part_key(self.attempt, self.index)


def part_key(attempt: str, index: int) -> str:
    return f"part:{attempt}:{index}"


class SplitRanges:
    """The :class:`RangeMover` of a worker's engine run when the run may split files."""

    def __init__(self, app: Any, records: RunRecords, run: str, policy: SplitPolicy,
                 lease: float) -> None:
        self.app, self.records, self.run, self.policy, self.lease = app, records, run, policy, lease
        self.local = LocalRanges()

    async def put(self, ctx: RunContext, local: Path, path: str, size: int,
                  missing: Sequence[Range], *, fresh: bool, on_done: Callable[[int, int], None],
                  before_close: Callable[[], None]) -> None:
        parts = cut_ranges(missing, self.policy.part_size)
        if size < self.policy.split_from or len(parts) < 2:
            await self.local.put(ctx, local, path, size, missing, fresh=fresh, on_done=on_done,
                                 before_close=before_close)
            return
        def record(part: list[Range]) -> None:
            for start, end in part:
                on_done(start, end)

        leader = _Leader(self, ctx, "upload", os.fspath(local), path, size, parts, record)
        await leader.run(fresh=fresh, before_close=before_close)

    async def get(self, ctx: RunContext, path: str, size: int, missing: Sequence[Range], *,
                  partial: Path, open_writer: Callable[[], BinaryIO],
                  on_done: Callable[[BinaryIO, int, int], None]) -> None:
        parts = cut_ranges(missing, self.policy.part_size)
        if size < self.policy.split_from or len(parts) < 2:
            await self.local.get(ctx, path, size, missing, partial=partial,
                                 open_writer=open_writer, on_done=on_done)
            return
        writer = await ctx.call(open_writer)

        def record(part: list[Range]) -> None:  # the part's bytes are fsynced by its mover
            for start, end in part:
                on_done(writer, start, end)

        try:
            leader = _Leader(self, ctx, "download", os.fspath(partial), path, size, parts, record)
            await leader.run()
        finally:
            await ctx.call(writer.close)


class _Leader:
    """One attempt at one split file, from the leader's side."""

    def __init__(self, mover: SplitRanges, ctx: RunContext, direction: str, local: str,
                 remote: str, size: int, parts: list[list[Range]],
                 record: Callable[[list[Range]], None]) -> None:
        self.mover, self.ctx, self.direction = mover, ctx, direction
        self.local, self.remote, self.size, self.parts = local, remote, size, parts
        self.records = mover.records
        self.record = record  # a finished part goes into the resume state at once
        self.recorded: set[int] = set()
        self.sessions: list[iRODSSession] = []
        self.handles: list[RemoteHandle] = []

    async def run(self, *, fresh: bool = False,
                  before_close: Callable[[], None] | None = None) -> None:
        ok = False
        try:
            token, hierarchy = "", ""
            if self.direction == "upload":
                primary = await self._open(lambda session: open_primary(
                    self.ctx.remote, session, self.remote, "w" if fresh else "r+", self.size,
                    len(self.parts), fresh))
                token, hierarchy = await self.ctx.call(primary.access_info)
            attempt = f"{uuid.uuid5(uuid.NAMESPACE_URL, self.remote).hex[:12]}-" \
                      f"{token or uuid.uuid4().hex}"
            specs = [PartSpec(self.mover.run, attempt, index, self.direction, self.local,
                              self.remote, self.size, part, token, hierarchy, self.mover.lease)
                     for index, part in enumerate(self.parts)]
            await self.ctx.call(self.records.set_live, attempt, True)
            await self.ctx.call(self._send, specs[1:])
            try:
                await self._work_until_done(specs)
                await self._check(specs)
            except MangoError:
                await self.ctx.call(self.records.set_live, attempt, False)  # queued parts: skip
                await self._drain(specs)
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await self.ctx.call(self.records.set_live, attempt, False)
            if self.direction == "upload":
                for handle in self.handles[1:]:
                    await self.ctx.call(handle.close)
                if before_close is not None:
                    await self.ctx.call(before_close)
                with anyio.CancelScope(shield=True):
                    await self.ctx.call(self.handles[0].close)
            else:
                for handle in self.handles:
                    await self.ctx.call(handle.close)
            ok = True
        finally:
            for session in self.sessions:  # after a failure: disconnect, never close (stale)
                await self.ctx.pool.checkin(session, discard=not ok)

    async def _open(self, opener: Callable[[iRODSSession], RemoteHandle]) -> RemoteHandle:
        session = await self.ctx.pool.checkout()
        self.sessions.append(session)
        handle = await self.ctx.call(opener, session)
        self.handles.append(handle)
        return handle

    def _send(self, specs: Sequence[PartSpec]) -> None:
        for spec in specs:
            self.mover.app.send_task(PART_TASK, args=[spec.to_json()], queue=QUEUE,
                                     task_id=f"{spec.run}-{spec.key}")

    async def _work_until_done(self, specs: list[PartSpec]) -> None:
        """Lanes take every part nobody holds; then wait for the parts others hold, taking
        over any whose holder vanished (its lease lapsed)."""
        lanes = max(1, self.ctx.options.chunk_connections)
        while True:
            async with anyio.create_task_group() as group:
                for lane in range(lanes):
                    group.start_soon(self._lane, lane, specs)
            outcomes = await self.ctx.call(self.records.outcomes, [s.key for s in specs])
            for spec, outcome in zip(specs, outcomes, strict=True):
                if outcome is not None and outcome.get("ok"):
                    await self._record(spec)
            if all(outcome is not None for outcome in outcomes):
                return
            await anyio.sleep(_WAIT)

    async def _drain(self, specs: list[PartSpec]) -> None:
        """After a failed attempt, wait (at most a lease) until no other worker still writes a
        part of it: the engine's retry reopens the object, which the server refuses while a
        handle of the old attempt is open."""
        deadline = time.monotonic() + specs[0].lease + 5
        while time.monotonic() < deadline:
            keys = [spec.key for spec in specs]
            outcomes = await self.ctx.call(self.records.outcomes, keys)
            held = await self.ctx.call(self.records.leased, keys)
            if not any(outcome is None and lease for outcome, lease in zip(outcomes, held,
                                                                          strict=True)):
                return
            await anyio.sleep(_WAIT)

    async def _record(self, spec: PartSpec) -> None:
        if spec.index not in self.recorded:
            self.recorded.add(spec.index)
            await self.ctx.call(self.record, list(spec.ranges))

    async def _lane(self, lane: int, specs: list[PartSpec]) -> None:
        handle = self.handles[lane] if lane < len(self.handles) else None
        # Part 0 is lane 0's alone: on an upload lane 0 holds the primary handle, and a primary
        # that wrote nothing would leave the replica's old (stale) status at its close.
        order = specs if lane == 0 else specs[lane:] + specs[1:lane]
        for spec in order:
            lease = self.records.lease(spec.key, spec.lease)
            claim = await self.ctx.call(_claim, self.records, spec, lease)
            if claim is _Claim.HOLDER_LOST:
                raise TransferFailed(f"the worker writing part {spec.index} vanished; the replica "
                                     "is stale, this attempt ends here", path=self.remote,
                                     retryable=True)
            if claim is not _Claim.TAKEN:
                continue
            try:
                if handle is None:
                    handle = await self._open(functools.partial(_handle_for, self.ctx.remote,
                                                                spec))
                with renewing(lease, spec.lease):
                    moved = await self.ctx.call(_move_part, handle, spec, self.ctx.stats.add_bytes)
                await self.ctx.call(self.records.store_outcome, spec.key,
                                    {"ok": True, "bytes": moved, "node": "leader"})
                await self._record(spec)
            except MangoError as exc:
                await self.ctx.call(self.records.store_outcome, spec.key,
                                    {"ok": False, "error": exc.user_message(), "node": "leader"})
                raise
            finally:
                await self.ctx.call(_release, lease)

    async def _check(self, specs: list[PartSpec]) -> None:
        outcomes = await self.ctx.call(self.records.outcomes, [s.key for s in specs])
        for spec, outcome in zip(specs, outcomes, strict=True):
            assert outcome is not None
            if not outcome.get("ok"):
                raise TransferFailed(f"part {spec.index} failed on {outcome.get('node')}: "
                                     f"{outcome.get('error')}", path=self.remote, retryable=True)
            if outcome.get("node") != "leader":
                self.ctx.stats.add_bytes(int(outcome.get("bytes", 0)))


class _Claim(enum.Enum):
    TAKEN = "taken"
    NOT_MINE = "done or held"
    HOLDER_LOST = "its holder vanished"


def _claim(records: RunRecords, spec: PartSpec, lease: Any) -> _Claim:
    """Take a part's lease. An upload part that someone started and that has neither lease nor
    outcome lost its holder mid-write: the server has marked the replica stale, so finishing
    the part is wasted; the attempt must fail and resume (a download part is simply redone)."""
    if records.has_outcome(spec.key) or not lease.acquire():
        return _Claim.NOT_MINE
    if records.has_outcome(spec.key):
        _release(lease)
        return _Claim.NOT_MINE
    if not records.mark_started(spec.key) and spec.direction == "upload":
        _release(lease)
        return _Claim.HOLDER_LOST
    return _Claim.TAKEN


def _release(lease: Any) -> None:
    try:
        lease.release()
    except Exception:  # noqa: BLE001 - a lapsed lease needs no release
        pass


def _handle_for(remote: Any, spec: PartSpec, session: iRODSSession) -> RemoteHandle:
    return _part_handle(remote, session, spec)


def _part_handle(remote: Any, session: iRODSSession, spec: PartSpec) -> RemoteHandle:
    """A handle for a part: a secondary joining the replica (upload) or a plain read."""
    if spec.direction == "upload":
        return open_secondary(remote, session, spec.remote, "a", spec.size, 1, spec.token,
                              spec.hierarchy)
    return remote.open(session, spec.remote, "r")


def _move_part(handle: RemoteHandle, spec: PartSpec, on_bytes: Callable[[int], None]) -> int:
    """Blocking: the part's bytes through ``handle``; downloads are fsynced before returning."""
    moved = [0]

    def count(amount: int) -> None:
        moved[0] += amount
        on_bytes(amount)

    if spec.direction == "upload":
        copy_up(handle, spec.local, list(spec.ranges), lambda start, end: None, count)
    else:
        copy_down(handle, lambda: open(spec.local, "r+b"), list(spec.ranges), _fsync, count,
                  spec.remote)
    return moved[0]


def _ignore(amount: int) -> None:
    del amount


def _fsync(writer: BinaryIO, start: int, end: int) -> None:
    writer.flush()
    os.fsync(writer.fileno())


def run_part(spec: PartSpec, records: RunRecords, session_factory: Callable[[], iRODSSession],
             node: str) -> str:
    """A worker's part task (blocking). A part that is done or held is left alone: its holder
    finishes it, or the leader takes it over when that holder's lease lapses."""
    if not records.is_live(spec.attempt):
        return "its attempt is over"  # a part left in the queue by a finished or failed attempt
    lease = records.lease(spec.key, spec.lease)
    claim = _claim(records, spec, lease)
    if claim is _Claim.HOLDER_LOST:
        records.store_outcome(spec.key, {"ok": False, "node": node,
                                         "error": "the worker writing this part vanished"})
        return "failed"
    if claim is not _Claim.TAKEN:
        return "already done or held"
    session: iRODSSession | None = None
    handle: RemoteHandle | None = None
    started = time.monotonic()
    try:
        session = session_factory()
        handle = _part_handle(IrodsRemote(), session, spec)
        log.info("part %d of %s: handle open, moving %d bytes", spec.index, spec.remote,
                 sum(end - start for start, end in spec.ranges))
        with renewing(lease, spec.lease):
            # The copy loops check for cancellation: they run in an AnyIO worker thread.
            moved = anyio.run(functools.partial(anyio.to_thread.run_sync, _move_part, handle,
                                                spec, _ignore))
        handle.close()
        records.store_outcome(spec.key, {"ok": True, "bytes": moved, "node": node,
                                         "seconds": time.monotonic() - started})
        return "done"
    except Exception as exc:  # noqa: BLE001 - any failure is the part's outcome
        if handle is not None:  # never close a failed part: the server marks the replica stale
            handle.abort()
        message = exc.user_message() if isinstance(exc, MangoError) else repr(exc)
        log.warning("part %d of %s failed: %s", spec.index, spec.remote, message)
        records.store_outcome(spec.key, {"ok": False, "error": message, "node": node})
        return "failed"
    finally:
        _release(lease)
        if session is not None:
            session.cleanup()
