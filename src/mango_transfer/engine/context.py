"""What every part of one run shares: options, the session pool and its limiter, the stats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import anyio
from irods.session import iRODSSession
from typing_extensions import TypeVarTuple, Unpack

from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.ranges import LocalRanges, RangeMover
from mango_transfer.engine.stats import Stats
from mango_transfer.irods.pool import SessionPool
from mango_transfer.irods.remote import RemoteSide

__all__ = ["RunContext"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@dataclass
class RunContext:
    options: TransferOptions
    pool: SessionPool
    remote: RemoteSide
    stats: Stats
    state_dir: Path
    ranges: RangeMover = field(default_factory=LocalRanges)  # a large file's byte ranges

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
