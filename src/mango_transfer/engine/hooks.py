"""The per-file hooks a caller gives one run (see ``engine.api``), and the two that run
blocking code of the caller's: ``admit`` (ingest's ``--filter-func``) and ``metadata``
(ingest's AVUs, a ``--metadata-handler`` among them). Both are called in a worker thread,
never on the event loop: a user's function may read the file or start exiftool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mango_transfer.avus import Avu, metadata_operations
from mango_transfer.engine.context import RunContext
from mango_transfer.engine.stats import FileResult
from mango_transfer.fileinfo import FileInfo
from mango_transfer.irods.metadata import apply_atomic_operations, read_avus

__all__ = ["RunHooks", "admitted", "desired_avus", "reconcile_avus"]


@dataclass(frozen=True)
class RunHooks:
    """The per-file hooks of one run (see ``engine.api``); the defaults change nothing."""

    select: Callable[[str], str | None] | None = None
    admit: Callable[[FileInfo], str | None] | None = None  # blocking: asked in a worker thread
    metadata: Callable[[FileInfo], Sequence[Avu]] | None = None  # blocking, likewise
    on_result: Callable[[FileResult], None] | None = None
    lazy_dirs: bool = False
    compare: bool = False  # ``diff``: decide and report each file, never move or delete one


async def admitted(ctx: RunContext, hooks: RunHooks, src: FileInfo) -> str | None:
    """Why the ``admit`` hook leaves ``src`` out, or None (its MangoError propagates)."""
    if hooks.admit is None:
        return None
    return await ctx.call(hooks.admit, src)


async def desired_avus(ctx: RunContext, hooks: RunHooks, src: FileInfo) -> list[Avu]:
    """The AVUs the ``metadata`` hook wants on ``src`` (none without a hook)."""
    hook = hooks.metadata
    if hook is None:
        return []
    return await ctx.call(lambda: list(hook(src)))


def reconcile_avus(session: Any, path: str, desired: Sequence[Avu], fresh: bool) -> None:
    """Worker thread: make the managed AVUs of ``path`` exactly ``desired``, in one atomic call
    (none when nothing differs). ``fresh``: the object was just created, so it carries none."""
    current = [] if fresh else read_avus(session, path)
    apply_atomic_operations(session, path, metadata_operations(current, desired))
