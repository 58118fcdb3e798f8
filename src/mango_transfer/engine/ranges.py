"""Who moves the byte ranges of one large file: the plug between a run and its connections.

A run moves a large file's missing ranges through a :class:`RangeMover`. The default,
:class:`LocalRanges`, is ``irods.chunks``: ``--chunk-connections`` sessions of this process.
Scale-out plugs in a mover that shares the ranges of a very large file with other hosts
(``scaleout/split.py``); everything around it (skip decision, resume state, verification,
finalizing checks) stays the engine's, so a split file is exactly as safe as a local one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from mango_transfer.irods.chunks import Range, get_ranges, put_ranges

if TYPE_CHECKING:
    from mango_transfer.engine.context import RunContext

__all__ = ["LocalRanges", "RangeMover"]


class RangeMover(Protocol):
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


class LocalRanges:
    """This process's own parallel connections (the default)."""

    async def put(self, ctx: RunContext, local: Path, path: str, size: int,
                  missing: Sequence[Range], *, fresh: bool, on_done: Callable[[int, int], None],
                  before_close: Callable[[], None]) -> None:
        await put_ranges(ctx.pool, ctx.remote, local, path, size, missing, fresh=fresh,
                         connections=ctx.options.chunk_connections, on_done=on_done,
                         on_bytes=ctx.stats.add_bytes, before_close=before_close)

    async def get(self, ctx: RunContext, path: str, size: int, missing: Sequence[Range], *,
                  partial: Path, open_writer: Callable[[], BinaryIO],
                  on_done: Callable[[BinaryIO, int, int], None]) -> None:
        await get_ranges(ctx.pool, ctx.remote, path, size, missing,
                         connections=ctx.options.chunk_connections, open_writer=open_writer,
                         on_done=on_done, on_bytes=ctx.stats.add_bytes)
