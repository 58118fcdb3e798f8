"""The engine's entry points: ``await upload(src, dest, options)``, ``download``, ``sync`` and
``transfer`` (any of the three by name), each returning the run's :class:`Stats`;
``upload_sync`` etc. wrap them with ``anyio.run``.

One run opens a :func:`run_context` (session pool, limiter, state folder), builds its
direction (``Upload`` or ``Download``) and hands both to the :class:`Runner`.

**Upload hooks** (``mango-transfer ingest`` uses them; all optional, defaults = plain upload):

- ``files``: upload exactly these relative paths (a watch batch, a ``--restart`` list). The
  local side is ``stat``-ed per file; the remote side is looked up per collection with one
  GenQuery for the named objects (``irods.lookup``), never by listing the whole destination.
- ``select(relative) -> reason | None``: a file with a reason is not uploaded and is reported
  with status ``filtered``; ``admit(FileInfo) -> reason | None`` is the same for a check that
  blocks (ingest's ``--filter-func`` may read the file): a worker thread asks it, just before
  the file's decision, and a MangoError it raises fails that file; ``prune_dir(relative_dir) -> bool`` drops everything below a folder
  (the walk still reads it; nothing below is reported); ``recursive=False``: top level only.
- ``empty_dirs``: True (plain ``upload``) creates every folder's collection as the walk meets
  it, so empty folders are mirrored; False (ingest) creates a collection only before the first
  file that is new in it, so empty or fully filtered folders leave no trace, and an unchanged
  re-run creates none.
- ``metadata(FileInfo) -> AVUs``: after a file is uploaded (and verified with ``--verify``), its
  managed AVUs are made exactly the desired ones with ONE atomic call
  (``avus.metadata_operations`` against what is on the object; nothing to change =
  no call; a new object is known to carry none, so it costs no read). A file *skipped* as
  unchanged is reconciled too (one AVU read, and a call only when something differs): adding
  ``--md-path`` on a re-run labels the files already uploaded. The hook itself runs in a worker
  thread (a user's ``--metadata-handler`` may read the file); a MangoError from it, or a
  metadata failure, fails the file (the data is there; a re-run retries the metadata).
  ``--dry-run`` applies nothing.
- ``on_result(FileResult)``: called on the event loop for every outcome as it happens (live
  logging).
- ``ranges`` (both directions): who moves a large file's byte ranges (default: this process's
  chunk connections; scale-out shares very large files among workers); ``sessions``: a
  ``SessionCache`` that keeps logged-in sessions from one run to the next (a worker). A result
  carries the file's SHA-256 when the run knows it (see ``FileResult``) and the seconds the
  file took.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from mango_transfer.avus import Avu
from mango_transfer.engine.context import RangeMover, RunContext
from mango_transfer.engine.from_irods import Download
from mango_transfer.engine.opening import environment_of, open_direction, run_context
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.processes import farm_for
from mango_transfer.engine.route import remote_path, sync_direction
from mango_transfer.engine.runner import Direction, RunHooks, Runner
from mango_transfer.engine.stats import FileResult, Progress, Stats, finishing
from mango_transfer.engine.to_irods import Upload
from mango_transfer.fileinfo import FileInfo
from mango_transfer.groups import single_errors
from mango_transfer.irods.environment import IrodsEnvironment
from mango_transfer.irods.pool import SessionCache

__all__ = [
    "compare",
    "download",
    "download_sync",
    "open_direction",
    "run_context",
    "sync",
    "sync_sync",
    "transfer",
    "upload",
    "upload_sync",
]


async def _run(
    make: Callable[[RunContext], Direction],
    options: TransferOptions,
    stats: Stats | None,
    progress: Progress | None,
    environment: IrodsEnvironment | None,
    environ: Mapping[str, str] | None,
    hooks: RunHooks | None = None,
    ranges: RangeMover | None = None,
    sessions: SessionCache | None = None,
) -> Stats:
    stats = stats if stats is not None else Stats()
    with finishing(stats, progress):
        async with run_context(options, stats, environment, environ, ranges, sessions) as ctx:
            with single_errors():
                await Runner(ctx, make(ctx), hooks).run(progress, workers=farm_for)
    return stats


async def upload(src: str | os.PathLike[str], dest: str, options: TransferOptions | None = None,
                 *, stats: Stats | None = None, progress: Progress | None = None,
                 environment: IrodsEnvironment | None = None,
                 environ: Mapping[str, str] | None = None,
                 files: Iterable[str] | None = None,
                 dirs: Iterable[str] = (),
                 select: Callable[[str], str | None] | None = None,
                 admit: Callable[[FileInfo], str | None] | None = None,
                 prune_dir: Callable[[str], bool] | None = None,
                 recursive: bool = True,
                 metadata: Callable[[FileInfo], Sequence[Avu]] | None = None,
                 on_result: Callable[[FileResult], None] | None = None,
                 empty_dirs: bool = True, ranges: RangeMover | None = None,
                 sessions: SessionCache | None = None) -> Stats:
    """Upload the contents of local ``src`` into collection ``dest`` (created if missing;
    relative to ``irods_cwd`` unless absolute, ``~`` for ``irods_home``).

    The keyword hooks (``files`` … ``empty_dirs``) are described in the module docstring;
    without them this is a plain mirror of the tree, empty folders included.
    """
    environment = await environment_of(environment, environ)
    dest = remote_path(dest, "the destination collection", home=environment.home,
                       cwd=environment.working_collection)
    listed = None if files is None else list(files)
    hooks = RunHooks(select=select, admit=admit, metadata=metadata, on_result=on_result,
                     lazy_dirs=not empty_dirs)
    return await _run(lambda ctx: Upload(ctx, Path(src), dest, files=listed, dirs=dirs,
                                         prune_dir=prune_dir, recursive=recursive),
                      options or TransferOptions(), stats, progress, environment, environ, hooks,
                      ranges, sessions)


async def download(src: str, dest: str | os.PathLike[str],
                   options: TransferOptions | None = None, *, stats: Stats | None = None,
                   progress: Progress | None = None,
                   environment: IrodsEnvironment | None = None,
                   environ: Mapping[str, str] | None = None,
                   files: Iterable[str] | None = None, dirs: Iterable[str] = (),
                   on_result: Callable[[FileResult], None] | None = None,
                   ranges: RangeMover | None = None,
                   sessions: SessionCache | None = None) -> Stats:
    """Download the contents of collection (or object) ``src`` into local folder ``dest``.

    ``files``: only these relative paths (looked up per collection, not by a full listing);
    ``dirs``: local folders to create besides (empty collections), as ``upload`` has them;
    ``on_result`` as for ``upload``.
    """
    environment = await environment_of(environment, environ)
    src = remote_path(src, "the source collection", home=environment.home,
                      cwd=environment.working_collection)
    listed = None if files is None else list(files)
    return await _run(lambda ctx: Download(ctx, src, Path(dest), files=listed, dirs=dirs),
                      options or TransferOptions(), stats, progress, environment, environ,
                      RunHooks(on_result=on_result), ranges, sessions)


async def transfer(direction: str, src: str, dest: str, options: TransferOptions | None = None,
                   *, environment: IrodsEnvironment | None = None,
                   environ: Mapping[str, str] | None = None, **keywords: Any) -> Stats:
    """``upload``, ``download`` or ``sync`` (named by ``direction``) of ``src`` → ``dest``: the
    one entry for callers that carry the direction as data (the CLI, a scale-out batch).
    ``keywords`` are those ``upload`` and ``download`` share (``stats``, ``progress``,
    ``files``, ``dirs``, ``on_result``, ``ranges``, ``sessions``)."""
    if direction == "sync":
        environment = await environment_of(environment, environ)
        direction = sync_direction(src, dest, environment.zone)
    run = upload if direction == "upload" else download
    return await run(src, dest, options, environment=environment, environ=environ, **keywords)


async def compare(src: str, dest: str, options: TransferOptions | None = None, *,
                  stats: Stats | None = None, progress: Progress | None = None,
                  environment: IrodsEnvironment | None = None,
                  environ: Mapping[str, str] | None = None) -> Stats:
    """Compare ``src`` with ``dest`` (one local, one iRODS, either way round, as ``sync``)
    without moving, creating or deleting anything: each file's result is ``identical``,
    ``differs`` (with the reason), ``missing_on_destination`` or ``missing_on_source``.

    Files compare by size, or by size and SHA-256 with ``options.checksum`` (a local file is
    hashed; an object's checksum is the catalog's, or one the server computes and registers).
    The listings, decisions and checksums are a run's own; only the moving is left out.
    """
    environment = await environment_of(environment, environ)
    direction = sync_direction(src, dest, environment.zone, command="diff")
    base = options or TransferOptions()
    checking = dataclasses.replace(base, dry_run=True, delete=False, force=False,
                                   update=False, ignore_existing=False,
                                   size_only=not base.checksum, acl=())
    where = {"home": environment.home, "cwd": environment.working_collection}
    hooks = RunHooks(compare=True)
    if direction == "upload":
        dest = remote_path(dest, "the iRODS side", **where)
        return await _run(lambda ctx: Upload(ctx, Path(src), dest), checking, stats, progress,
                          environment, environ, hooks)
    src = remote_path(src, "the iRODS side", **where)
    return await _run(lambda ctx: Download(ctx, src, Path(dest)), checking, stats, progress,
                      environment, environ, hooks)


async def sync(src: str, dest: str, options: TransferOptions | None = None, *,
               stats: Stats | None = None, progress: Progress | None = None,
               environment: IrodsEnvironment | None = None,
               environ: Mapping[str, str] | None = None) -> Stats:
    """Upload or download, whichever way makes ``dest`` match ``src`` (see ``route.is_remote``)."""
    return await transfer("sync", src, dest, options, stats=stats, progress=progress,
                          environment=environment, environ=environ)


def upload_sync(*args: Any, **kwargs: Any) -> Stats:
    """:func:`upload` from synchronous code."""
    return anyio.run(lambda: upload(*args, **kwargs))


def download_sync(*args: Any, **kwargs: Any) -> Stats:
    """:func:`download` from synchronous code."""
    return anyio.run(lambda: download(*args, **kwargs))


def sync_sync(*args: Any, **kwargs: Any) -> Stats:
    """:func:`sync` from synchronous code."""
    return anyio.run(lambda: sync(*args, **kwargs))
