"""Opening one run: the context it shares (``run_context``) and its direction
(``open_direction``), used by the entry points (``api``), by each worker process
(``worker_process``) and by a scale-out coordinator, which walks a source exactly as a run does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from mango_transfer.engine.context import RangeMover, RunContext
from mango_transfer.engine.from_irods import Download
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.ranges import LocalRanges
from mango_transfer.engine.resume import default_state_dir
from mango_transfer.engine.runner import Direction
from mango_transfer.engine.small import SmallFiles
from mango_transfer.engine.stats import Stats
from mango_transfer.engine.to_irods import Upload
from mango_transfer.irods.environment import IrodsEnvironment, load_environment
from mango_transfer.irods.pool import SessionCache, SessionPool
from mango_transfer.irods.remote import IrodsRemote

__all__ = ["environment_of", "open_direction", "run_context"]


async def environment_of(environment: IrodsEnvironment | None,
                       environ: Mapping[str, str] | None) -> IrodsEnvironment:
    """``environment``, or the one the environment file (named by ``environ``) holds."""
    if environment is not None:
        return environment
    return await anyio.to_thread.run_sync(lambda: load_environment(environ=environ))


@asynccontextmanager
async def run_context(options: TransferOptions, stats: Stats,
                      environment: IrodsEnvironment | None = None,
                      environ: Mapping[str, str] | None = None,
                      ranges: RangeMover | None = None,
                      sessions: SessionCache | None = None) -> AsyncIterator[RunContext]:
    """What one run shares (session pool, limiter, state folder), closed at the end. Public
    so that a scale-out coordinator can walk a source exactly as a run does."""
    environment = await environment_of(environment, environ)
    size = options.threads + options.chunk_connections + 2  # + the two listings
    limiter = anyio.CapacityLimiter(size)
    pool = SessionPool(environment, size, limiter=limiter,
                       factory=sessions.take if sessions is not None else None,
                       release=sessions.give if sessions is not None else None)
    listing = anyio.CapacityLimiter(3)
    control = SessionPool(environment, 1, limiter=listing,
                          factory=sessions.take if sessions is not None else None,
                          release=sessions.give if sessions is not None else None)
    state_dir = Path(options.state_dir) if options.state_dir else default_state_dir(environ)
    try:
        yield RunContext(options=options, pool=pool, remote=IrodsRemote(), stats=stats,
                         state_dir=state_dir, ranges=ranges or LocalRanges(),
                         small=SmallFiles(options.small_files), listing=listing,
                         control=control)
    finally:
        try:
            await control.aclose()  # opened only when the walk made a collection
        finally:
            await pool.aclose()


def open_direction(ctx: RunContext, direction: str, src: str, dest: str) -> Direction:
    """The :class:`Upload` or :class:`Download` of ``src`` → ``dest`` (``direction`` is
    ``"upload"`` or ``"download"``; the iRODS side as :func:`remote_path` leaves it)."""
    if direction == "upload":
        return Upload(ctx, Path(src), dest)
    return Download(ctx, src, Path(dest))
