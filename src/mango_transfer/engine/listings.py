"""The listings a run merges: local folders and iRODS collections as streams of entries.

Every listing here yields in catalog order (see :mod:`mango_transfer.engine.merge`) and blocks
no event loop: local ``stat`` calls run in worker threads, a batch at a time, and the remote
listing pages through one GenQuery on one session. Their threads are the listings' own
(``RunContext.listing``), not the transfers': a walk never waits for a busy transfer to hand
back a thread, so it runs ahead of them as far as the queue lets it.

- :func:`remote_listing`: every object below a collection (the GenQuery walk).
- :func:`remote_tree`: the same with every collection below it, empty ones included.
- :func:`local_files`: a local destination folder as listing entries.
- :func:`listed`: an explicit list of local files (an ingest batch, a scale-out batch), each
  ``stat``-ed, announced with its folder as a walk would.
- :func:`top_level`: the files directly in a folder (ingest without ``-r``).
- :func:`pruned`: a walk without the folders a filter refuses;
  :func:`unpruned`: a listing (remote, flat) without the entries inside such folders.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any, TypeVar

import anyio

from mango_transfer.engine.context import RunContext
from mango_transfer.engine.merge import catalog_key
from mango_transfer.errors import LocalNotFound, TransferFailed, UsageError
from mango_transfer.fileinfo import DirInfo, FileInfo, ListedFile, WalkError, WalkItem
from mango_transfer.localfs.errors import os_error_to_mango, translate_os_errors
from mango_transfer.localfs.partial import PARTIAL_SUFFIX, STATE_SUFFIX
from mango_transfer.localfs.walk import file_info, walk
from mango_transfer.readahead import ReadAhead

__all__ = ["by_directory", "listed", "local_files", "one", "pruned", "remote_collections",
           "remote_listing", "remote_tree", "stat_listed", "top_level", "unpruned"]

Entry = TypeVar("Entry", DirInfo | ListedFile, ListedFile)
_STAT_BATCH = 512  # listed files stat-ed per worker-thread hop
T = TypeVar("T")


async def _paged(ctx: RunContext, start: Callable[[Any], Iterator[list[T]]],
                 ) -> AsyncGenerator[T, None]:
    """Stream the entries of a paged query (``start(session)`` gives its pages) on one
    session, checked out for as long as it pages (the continuation needs its connection); the
    next page is read in a thread of its own while this one is merged (``ReadAhead``).
    Stopped early, the query is closed on that connection before the session goes back; when
    that fails, the session is discarded (disconnecting closes the query with it)."""
    session = await ctx.pool.checkout()
    pages = ReadAhead(start(session), name="genquery-pages")  # the next page while this merges
    healthy = False
    try:
        while (page := await anyio.to_thread.run_sync(pages.get,
                                                      limiter=ctx.listing)) is not None:
            for entry in page:
                yield entry
        healthy = True
    finally:
        with anyio.CancelScope(shield=True):
            try:  # stops the reader; stopped early, the query is closed on its connection
                await anyio.to_thread.run_sync(pages.close, limiter=ctx.listing)
            except Exception:  # noqa: BLE001 - a broken connection: the session goes
                healthy = False
        await ctx.pool.checkin(session, discard=not healthy)


async def remote_listing(ctx: RunContext, collection: str,
                         recursive: bool = True) -> AsyncGenerator[ListedFile, None]:
    """Stream the GenQuery walk of the objects below ``collection``."""
    async with aclosing(_paged(ctx, lambda session: ctx.remote.walk_pages(
            session, collection, recursive))) as entries:
        async for entry in entries:
            yield entry


async def remote_collections(ctx: RunContext, collection: str,
                             recursive: bool = True) -> AsyncGenerator[DirInfo, None]:
    """Stream every collection below ``collection`` (relative names, in name order)."""
    async with aclosing(_paged(ctx, lambda session: ctx.remote.collection_pages(
            session, collection, recursive))) as entries:
        async for name, mtime in entries:
            yield DirInfo(name, mtime)


async def remote_tree(ctx: RunContext, collection: str,
                      recursive: bool = True) -> AsyncGenerator[DirInfo | ListedFile, None]:
    """Every collection and object below ``collection``, in catalog order: a collection
    (``DirInfo``) after its parent and before its objects, empty ones included. Two paged
    GenQueries on two sessions, merged side by side (bounded memory). An object whose
    collection the second listing did not show (no access to it) still has it announced.
    ``recursive=False``: what is directly in ``collection`` (``ls`` without ``-r``)."""
    objects = remote_listing(ctx, collection, recursive)
    folders = remote_collections(ctx, collection, recursive)
    async with aclosing(objects), aclosing(folders):
        folder = await anext(folders, None)
        announced = ""
        async for entry in objects:
            directory = catalog_key(entry.info.path)[0]
            while folder is not None and folder.path <= directory:
                announced = folder.path
                yield folder
                folder = await anext(folders, None)
            if directory and directory != announced:
                announced = directory
                yield DirInfo(directory)
            yield entry
        while folder is not None:
            yield folder
            folder = await anext(folders, None)


async def local_files(root: Path, limiter: anyio.CapacityLimiter,
                      links: str = "follow", prune: Callable[[str], bool] | None = None,
                      ) -> AsyncGenerator[ListedFile, None]:
    """The local destination as listing entries (our partial/state files are not files);
    ``links="store"`` (``--links``): a symbolic link as the ``NAME.rclonelink`` it came from;
    ``prune``: folders never walked (a filter leaves them out)."""
    if not await anyio.to_thread.run_sync(root.is_dir, limiter=limiter):
        return
    async for entry in walk(root, links=links, limiter=limiter, prune=prune):
        if isinstance(entry, FileInfo) and not entry.path.endswith((PARTIAL_SUFFIX,
                                                                    STATE_SUFFIX)):
            yield ListedFile(entry, good=True)


def by_directory(files: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Sorted relative paths grouped by folder: ``[("a", ["x", "y"]), ...]``."""
    groups: list[tuple[str, list[str]]] = []
    for path in files:
        directory, name = catalog_key(path)
        if not groups or groups[-1][0] != directory:
            groups.append((directory, []))
        groups[-1][1].append(name)
    return groups


def stat_listed(root: Path, paths: Sequence[str]) -> list[FileInfo | WalkError]:
    """Blocking: one entry per listed path (a vanished or odd one becomes a WalkError)."""
    out: list[FileInfo | WalkError] = []
    for relative in paths:
        parts = relative.split("/")
        if relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
            out.append(WalkError(relative, UsageError("not a path inside the local folder",
                                                      path=relative)))
            continue
        full = root.joinpath(*parts)
        try:
            st = os.stat(full)
        except OSError as exc:
            error = os_error_to_mango(exc, full)
            if isinstance(error, LocalNotFound):
                error = LocalNotFound("the local file no longer exists; not uploaded", path=full)
            out.append(WalkError(relative, error))
            continue
        if not stat.S_ISREG(st.st_mode):
            out.append(WalkError(relative, TransferFailed("not a regular file; not uploaded",
                                                          path=full)))
            continue
        out.append(file_info(relative, st))
    return out


async def listed(root: Path, files: Sequence[str], limiter: anyio.CapacityLimiter,
                 dirs: Sequence[str] = ()) -> AsyncGenerator[WalkItem, None]:
    """The given (sorted) files as a walk would yield them: each folder announced before its
    files, the stats done in worker threads 512 at a time. ``dirs`` (folders with no listed
    file, e.g. empty ones) are announced first."""
    for directory in dirs:
        yield DirInfo(directory)
    current = ""
    for start in range(0, len(files), _STAT_BATCH):
        chunk = files[start:start + _STAT_BATCH]
        for entry in await anyio.to_thread.run_sync(stat_listed, root, chunk, limiter=limiter):
            directory = catalog_key(entry.path)[0]
            if directory != current:
                current = directory
                if directory:
                    yield DirInfo(directory)
            yield entry


def _top_files(root: Path) -> list[FileInfo | WalkError]:
    """Blocking: the regular files directly in ``root`` (links followed), sorted by name."""
    with translate_os_errors(root):
        names = sorted(os.listdir(root))
    entries: list[FileInfo | WalkError] = []
    for info in stat_listed(root, names):
        if isinstance(info, FileInfo) or not os.path.isdir(root / info.path):
            entries.append(info)
    return entries


async def top_level(root: Path,
                    limiter: anyio.CapacityLimiter) -> AsyncGenerator[WalkItem, None]:
    """The files directly in ``root``, sorted; its folders are left out."""
    for entry in await anyio.to_thread.run_sync(_top_files, root, limiter=limiter):
        yield entry


async def pruned(entries: AsyncGenerator[WalkItem, None],
                 prune: Callable[[str], bool]) -> AsyncGenerator[WalkItem, None]:
    """Drop every entry below a folder ``prune`` refuses. The walk yields a folder before
    anything below it, so a folder is pruned when its parent was or ``prune`` says so."""
    refused: set[str] = set()
    async with aclosing(entries):
        async for entry in entries:
            parent = posixpath.dirname(entry.path)
            if parent in refused:
                if isinstance(entry, DirInfo):
                    refused.add(entry.path)
                continue
            if isinstance(entry, (DirInfo, WalkError)) and (entry.path in refused
                                                             or prune(entry.path)):
                if isinstance(entry, DirInfo):
                    refused.add(entry.path)
                continue
            yield entry


async def unpruned(entries: AsyncGenerator[Entry, None],
                   prune: Callable[[str], bool]) -> AsyncGenerator[Entry, None]:
    """A flat listing (one GenQuery of a whole collection, or the tree of collections and
    objects) without the entries inside a folder ``prune`` refuses, nor those folders: what a
    walk that never entered them would have listed."""
    async with aclosing(entries):
        async for entry in entries:
            folder = entry.path if isinstance(entry, DirInfo) else posixpath.dirname(
                entry.info.path)
            if not prune(folder):
                yield entry


async def one(entry: ListedFile) -> AsyncGenerator[ListedFile | WalkError, None]:
    """A listing of a single entry (a run whose source is one data object)."""
    yield entry
