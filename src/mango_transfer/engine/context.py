"""What every part of one run shares: options, the session pool and its limiter, the stats,
and the plug that moves a large file's byte ranges.

A run moves a large file's missing ranges through a :class:`RangeMover`. The default,
``engine.ranges.LocalRanges``, is ``irods.chunks``: ``--chunk-connections`` sessions of this
process. Scale-out plugs in a mover that shares the ranges of a very large file with other
hosts (``scaleout/split.py``); everything around it (skip decision, resume state,
verification, finalizing checks) stays the engine's, so a split file is exactly as safe as a
local one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from irods.session import iRODSSession
from typing_extensions import TypeVarTuple, Unpack

from mango_transfer.byteranges import Range
from mango_transfer.engine.merge import Item
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.small import SmallFiles
from mango_transfer.engine.stats import Stats
from mango_transfer.irods.pool import SessionPool
from mango_transfer.irods.remote import RemoteSide

__all__ = ["RangeMover", "RunContext", "Workers", "WorkersFor"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class RangeMover(Protocol):
    """Who moves the byte ranges of one large file (see the module docstring)."""

    async def put(self, ctx: RunContext, local: Path, path: str, size: int,
                  missing: Sequence[Range], *, fresh: bool, on_done: Callable[[int, int], None],
                  before_close: Callable[[], None]) -> None:
        """Write ``missing`` ranges of ``local`` into ``path`` and finalize it (see
        ``chunks.put_ranges``); ``on_done(start, end)`` once bytes are on the server."""

    async def get(self, ctx: RunContext, path: str, size: int, missing: Sequence[Range], *,
                  partial: Path, open_writer: Callable[[], BinaryIO],
                  on_done: Callable[[BinaryIO, int, int], None]) -> None:
        """Read ``missing`` ranges of ``path`` into the ``partial`` file; ``on_done(writer,
        start, end)`` records them (after an fsync through ``writer``)."""


class Workers(Protocol):
    """Who settles a run's items in place of its worker tasks (``engine/processes.py``)."""

    async def run(self, receive: MemoryObjectReceiveStream[Item]) -> None: ...


WorkersFor = Callable[[Any], Workers | None]  # a run's Runner → its workers, or None: its tasks


@dataclass
class RunContext:
    options: TransferOptions
    pool: SessionPool
    remote: RemoteSide
    stats: Stats
    state_dir: Path
    ranges: RangeMover  # who moves a large file's byte ranges
    small: SmallFiles = field(default_factory=SmallFiles)  # how small files cross the wire
    # Files held whole in memory above SMALL_BUFFER take one of these (bounded memory).
    buffers: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(4))
    # The listings' own threads (the local walk, the remote pages): they never wait behind
    # the transfers for a thread, so the walk runs ahead and the totals are known early.
    listing: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(3))
    # One session of its own for the walk's folder creation, so that the walk never waits for
    # the transfers to hand back a session (None: it shares the pool).
    control: SessionPool | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        return self.pool.limiter

    async def call(self, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> T:
        """Run a blocking function in a worker thread, within the run's thread budget."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self.pool.limiter)

    async def remote_call(self, function: Callable[[iRODSSession, Unpack[Ts]], T],
                          *args: Unpack[Ts]) -> T:
        """Run ``function(session, *args)`` in a thread with a session checked out for it."""
        async with self.pool.session() as session:
            return await anyio.to_thread.run_sync(function, session, *args,
                                                  limiter=self.pool.limiter)

    async def control_call(self, function: Callable[[iRODSSession, Unpack[Ts]], T],
                           *args: Unpack[Ts]) -> T:
        """:meth:`remote_call` for the walk itself (creating a folder's collection), on the
        control session and the listings' threads: it never queues behind the transfers."""
        if self.control is None:
            return await self.remote_call(function, *args)
        async with self.control.session() as session:
            return await anyio.to_thread.run_sync(function, session, *args, limiter=self.listing)
