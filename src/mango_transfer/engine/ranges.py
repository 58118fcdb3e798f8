"""The default :class:`~mango_transfer.engine.context.RangeMover`: this process's own parallel
chunk connections (``irods.chunks``), ``--chunk-connections`` sessions of the run's pool."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from mango_transfer.byteranges import Range
from mango_transfer.engine.context import RunContext
from mango_transfer.irods.chunks import get_ranges, put_ranges

__all__ = ["LocalRanges"]


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
