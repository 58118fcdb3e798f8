"""One transfer run: a walker streams work into a bounded queue, N workers decide and move.

Shape of a run (one anyio task group)::

    producer ──(bounded memory stream, 4×threads)──▶ worker × --threads
      │  merges the source walk with the destination listing (both in catalog order)
      │  and creates each destination directory once, before its files are queued
      ▼
    source walk (local ``localfs.walk`` or remote GenQuery)  +  destination listing

- **Bounded memory.** Both listings are streamed and merged side by side (they share the
  order ``(directory, name)`` by byte value, see ``localfs/walk.py``), so neither is ever held
  whole; the queue's finite buffer parks the walk when workers fall behind.
- **Decisions** are ``decide()`` (pure) plus one rule of our own: a destination replica that is
  not good (stale or intermediate, i.e. an interrupted upload) is always *changed*.
- **Threads and sessions.** Every PRC call runs via ``anyio.to_thread.run_sync`` with the run's
  ``CapacityLimiter``, whose tokens equal the session-pool size
  (``threads + chunk_connections + 1``: workers, one large file's extra connections, and the
  listing, which holds its session while it pages).
- **Retries.** A retryable MangoError is retried ``--retries`` times with exponential backoff,
  a verification mismatch once; a permanent error fails that file at once. Authentication and
  configuration errors abort the run (every file would fail the same way).

Public API: ``await upload(src, dest, options)``, ``download``, ``sync``, each returning the
run's :class:`Stats`; ``upload_sync`` etc. wrap them with ``anyio.run``.

**Upload hooks** (``mango-transfer ingest`` uses them; all optional, defaults = plain upload):

- ``files``: upload exactly these relative paths (a watch batch, a ``--restart`` list). The
  local side is ``stat``-ed per file; the remote side is looked up per collection with one
  GenQuery for the named objects (``irods.lookup``), never by listing the whole destination.
- ``select(relative) -> reason | None``: a file with a reason is not uploaded and is reported
  with status ``filtered``; ``prune_dir(relative_dir) -> bool`` drops everything below a folder
  (the walk still reads it; nothing below is reported); ``recursive=False``: top level only.
- ``empty_dirs``: True (plain ``upload``) creates every folder's collection as the walk meets
  it, so empty folders are mirrored; False (ingest) creates a collection only before the first
  file that is new in it, so empty or fully filtered folders leave no trace, and an unchanged
  re-run creates none.
- ``metadata(FileInfo) -> AVUs``: after a file is uploaded (and verified with ``--verify``), its
  managed AVUs are made exactly the desired ones with ONE atomic call
  (``ingest.metadata.metadata_operations`` against what is on the object; nothing to change =
  no call; a new object is known to carry none, so it costs no read). A file *skipped* as
  unchanged is reconciled too (one AVU read, and a call only when something differs): adding
  ``--md-path`` on a re-run labels the files already uploaded. A metadata failure fails the
  file (the data is there; a re-run retries the metadata). ``--dry-run`` applies nothing.
- ``on_result(FileResult)``: called on the event loop for every outcome as it happens (live
  logging).
- ``ranges`` (both directions): who moves a large file's byte ranges (default: this process's
  chunk connections; scale-out shares very large files among workers); ``sessions``: a
  ``SessionCache`` that keeps logged-in sessions from one run to the next (a worker). A result carries the local SHA-256 when it was computed while streaming
  (``--verify``, where it equals the server's) and the seconds the file took.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mango_transfer.engine.context import RunContext
from mango_transfer.engine.decide import Action, Decision, Reason, Side, decide
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.ranges import LocalRanges, RangeMover
from mango_transfer.engine.resume import default_state_dir
from mango_transfer.engine.stats import FileResult, Stats, StatsSnapshot, Status
from mango_transfer.engine.transfer import download_file, upload_file
from mango_transfer.errors import (
    AuthError,
    ConfigError,
    LocalNotFound,
    MangoError,
    PermissionDenied,
    RemoteNotFound,
    TransferFailed,
    UsageError,
    VerificationFailed,
)
from mango_transfer.fileinfo import FileInfo
from mango_transfer.groups import single_errors
from mango_transfer.ingest.metadata import Avu, metadata_operations
from mango_transfer.irods.environment import IrodsEnvironment, load_environment
from mango_transfer.irods.lookup import stat_names
from mango_transfer.irods.metadata import apply_atomic_operations, read_avus
from mango_transfer.irods.pool import SessionCache, SessionPool
from mango_transfer.irods.remote import IrodsRemote, RemoteFile
from mango_transfer.localfs.errors import os_error_to_mango, translate_os_errors
from mango_transfer.localfs.hashing import file_checksum
from mango_transfer.localfs.partial import PARTIAL_SUFFIX, STATE_SUFFIX
from mango_transfer.localfs.paths import irods_join, local_target
from mango_transfer.localfs.walk import DirInfo, WalkError, walk

__all__ = [
    "Download",
    "Upload",
    "REMOTE_PREFIX",
    "Progress",
    "RunHooks",
    "download",
    "download_sync",
    "is_remote",
    "remote_path",
    "run_context",
    "sync_direction",
    "sync",
    "sync_sync",
    "upload",
    "upload_sync",
]

REMOTE_PREFIX = "irods:"
Progress = Callable[[StatsSnapshot], None]
_TICK = 0.1  # seconds between progress callbacks
_FATAL = (AuthError, ConfigError)


@dataclass(frozen=True, slots=True)
class Item:
    """One file pair for a worker. ``src``/``dst`` None = missing on that side."""

    path: str
    src: FileInfo | None
    dst: FileInfo | None
    dst_complete: bool = True
    error: MangoError | None = None


SourceEntry = FileInfo | DirInfo | WalkError


@dataclass(frozen=True)
class RunHooks:
    """The per-file hooks of one run (see the module docstring); the defaults change nothing."""

    select: Callable[[str], str | None] | None = None
    metadata: Callable[[FileInfo], Sequence[Avu]] | None = None
    on_result: Callable[[FileResult], None] | None = None
    lazy_dirs: bool = False


class _RecordingRemote(IrodsRemote):
    """:class:`IrodsRemote` that remembers the last checksum read per iRODS path.

    The transfer code compares the SHA-256 it computed while streaming with the server's and
    raises on a difference, so once a file is verified the remembered value *is* the local
    SHA-256; the run reports it without hashing the file again. Entries are popped when the
    file's outcome is recorded (plain dict operations: atomic under the GIL).
    """

    def __init__(self) -> None:
        self.recorded: dict[str, str] = {}

    def checksum(self, session: Any, path: str) -> str:
        value = super().checksum(session, path)
        self.recorded[path] = value
        return value


class Direction(Protocol):
    """One direction of a run: where items come from and how one is moved."""

    async def setup(self) -> None: ...

    def source(self) -> AsyncGenerator[SourceEntry, None]: ...

    def destination(self) -> AsyncGenerator[RemoteFile, None]: ...

    async def prepare_dir(self, relative: str) -> None: ...

    async def transfer(self, item: Item) -> None: ...

    async def checksum(self, item: Item, side: Side) -> str | None: ...

    async def fix_mtime(self, item: Item) -> None: ...

    async def delete(self, item: Item) -> None: ...

    async def finish(self) -> None: ...

    def remote(self, relative: str) -> str: ...


def _key(path: str) -> tuple[str, str]:
    directory, _, name = path.rpartition("/")
    return directory, name


async def _remote_listing(ctx: RunContext, collection: str) -> AsyncGenerator[RemoteFile, None]:
    """Stream the GenQuery walk; the session stays checked out (paging needs its connection)."""
    session = await ctx.pool.checkout()
    pages = ctx.remote.walk_pages(session, collection)
    finished = False
    try:
        while (page := await ctx.call(next, pages, None)) is not None:
            for entry in page:
                yield entry
        finished = True
    finally:
        # Stopped early: disconnecting closes the open query on the server with the session.
        await ctx.pool.checkin(session, discard=not finished)


async def _local_files(root: Path, limiter: anyio.CapacityLimiter) -> AsyncGenerator[RemoteFile, None]:
    """The local destination as listing entries (our partial/state files are not files)."""
    if not await anyio.to_thread.run_sync(root.is_dir, limiter=limiter):
        return
    async for entry in walk(root, limiter=limiter):
        if isinstance(entry, FileInfo) and not entry.path.endswith((PARTIAL_SUFFIX,
                                                                    STATE_SUFFIX)):
            yield RemoteFile(entry, good=True)


def _by_directory(files: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Sorted relative paths grouped by folder: ``[("a", ["x", "y"]), ...]``."""
    groups: list[tuple[str, list[str]]] = []
    for path in files:
        directory, name = _key(path)
        if not groups or groups[-1][0] != directory:
            groups.append((directory, []))
        groups[-1][1].append(name)
    return groups


def _stat_listed(root: Path, paths: Sequence[str]) -> list[FileInfo | WalkError]:
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
        out.append(FileInfo(relative, st.st_size, st.st_mtime_ns // 1_000_000_000))
    return out


async def _listed(root: Path, files: Sequence[str], limiter: anyio.CapacityLimiter,
                  dirs: Sequence[str] = ()) -> AsyncGenerator[SourceEntry, None]:
    """The given (sorted) files as a walk would yield them: each folder announced before its
    files, the stats done in worker threads 512 at a time. ``dirs`` (folders with no listed
    file, e.g. empty ones) are announced first."""
    for directory in dirs:
        yield DirInfo(directory)
    current = ""
    for start in range(0, len(files), 512):
        chunk = files[start:start + 512]
        for entry in await anyio.to_thread.run_sync(_stat_listed, root, chunk, limiter=limiter):
            directory = _key(entry.path)[0]
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
    for info in _stat_listed(root, names):
        if isinstance(info, FileInfo) or not os.path.isdir(root / info.path):
            entries.append(info)
    return entries


async def _top_level(root: Path,
                     limiter: anyio.CapacityLimiter) -> AsyncGenerator[SourceEntry, None]:
    for entry in await anyio.to_thread.run_sync(_top_files, root, limiter=limiter):
        yield entry


async def _pruned(entries: AsyncGenerator[SourceEntry, None],
                  prune: Callable[[str], bool]) -> AsyncGenerator[SourceEntry, None]:
    """Drop every entry below a folder ``prune`` refuses. The walk yields a folder before
    anything below it, so a folder is pruned when its parent was or ``prune`` says so."""
    pruned: set[str] = set()
    async with aclosing(entries):
        async for entry in entries:
            parent = posixpath.dirname(entry.path)
            if parent in pruned:
                if isinstance(entry, DirInfo):
                    pruned.add(entry.path)
                continue
            if isinstance(entry, (DirInfo, WalkError)) and (entry.path in pruned
                                                             or prune(entry.path)):
                if isinstance(entry, DirInfo):
                    pruned.add(entry.path)
                continue
            yield entry


class Upload:
    """Local folder (or file) → collection: ``SRC/a/b`` lands at ``DEST/a/b``."""

    def __init__(self, ctx: RunContext, src: Path, dest: str, *,
                 files: Iterable[str] | None = None, dirs: Iterable[str] = (),
                 prune_dir: Callable[[str], bool] | None = None, recursive: bool = True) -> None:
        self.ctx, self.root, self.collection = ctx, src, dest.rstrip("/") or "/"
        self.single = False
        self.base = src
        self.files = None if files is None else sorted(dict.fromkeys(files), key=_key)
        self.dirs = sorted(dict.fromkeys(dirs))
        self.prune_dir = prune_dir
        self.recursive = recursive

    async def setup(self) -> None:
        if not await self.ctx.call(os.path.exists, self.root):
            raise LocalNotFound("local source does not exist", path=self.root)
        if await self.ctx.call(os.path.isfile, self.root):
            if self.files is not None:
                raise UsageError("a list of files to upload needs a folder as the local source",
                                 path=self.root)
            self.single, self.base = True, self.root.parent
        if not self.ctx.options.dry_run:
            try:
                await self.ctx.remote_call(self.ctx.remote.mkdir, self.collection)
            except RemoteNotFound as exc:  # created, yet invisible: no access to it
                raise PermissionDenied("cannot create or see the destination collection",
                                       path=self.collection) from exc

    async def source(self) -> AsyncGenerator[SourceEntry, None]:
        if self.files is not None:
            entries = _listed(self.root, self.files, self.ctx.limiter, self.dirs)
        elif not self.recursive and not self.single:
            entries = _top_level(self.root, self.ctx.limiter)
        else:
            # walk() is an async generator function, typed as an AsyncIterator
            entries = cast(AsyncGenerator[SourceEntry, None],
                           walk(self.root, limiter=self.ctx.limiter))
        if self.prune_dir is not None:
            entries = _pruned(entries, self.prune_dir)
        async with aclosing(entries):
            async for entry in entries:
                yield entry

    async def destination(self) -> AsyncGenerator[RemoteFile, None]:
        if self.files is not None:
            for directory, names in _by_directory(self.files):
                collection = self.remote(directory) if directory else self.collection
                prefix = f"{directory}/" if directory else ""
                for entry in await self.ctx.remote_call(stat_names, collection, names, prefix):
                    yield entry
            return
        if self.single:
            found = await self.ctx.remote_call(self.ctx.remote.stat, self.remote(self.root.name))
            if found is not None:
                yield RemoteFile(dataclasses.replace(found.info, path=self.root.name), found.good)
            return
        async with aclosing(_remote_listing(self.ctx, self.collection)) as listing:
            async for entry in listing:
                yield entry

    def remote(self, relative: str) -> str:
        return irods_join(self.collection, relative)

    def local(self, relative: str) -> Path:
        return self.base.joinpath(*relative.split("/"))

    async def prepare_dir(self, relative: str) -> None:
        if not self.ctx.options.dry_run:
            await self.ctx.remote_call(self.ctx.remote.mkdir, self.remote(relative))

    async def transfer(self, item: Item) -> None:
        assert item.src is not None
        await upload_file(self.ctx, self.local(item.path), self.remote(item.path), item.src)

    async def checksum(self, item: Item, side: Side) -> str | None:
        if side is Side.SRC:
            with translate_os_errors(self.local(item.path)):
                return await self.ctx.call(file_checksum, self.local(item.path))
        return await self.ctx.remote_call(self.ctx.remote.checksum, self.remote(item.path))

    async def fix_mtime(self, item: Item) -> None:
        assert item.src is not None
        await self.ctx.remote_call(self.ctx.remote.set_mtime, self.remote(item.path),
                                   item.src.mtime)

    async def delete(self, item: Item) -> None:
        await self.ctx.remote_call(self.ctx.remote.unlink, self.remote(item.path))

    async def finish(self) -> None:
        if self.ctx.options.dry_run:
            return
        target = self.remote(self.root.name) if self.single else self.collection
        for grant in self.ctx.options.acl:
            await self.ctx.remote_call(self.ctx.remote.set_acl, target, grant.user, grant.level,
                                       not self.single)


class Download:
    """Collection (or data object) → local folder: ``SRC/a/b`` lands at ``DEST/a/b``."""

    def __init__(self, ctx: RunContext, src: str, dest: Path, *,
                 files: Iterable[str] | None = None, dirs: Iterable[str] = ()) -> None:
        self.ctx, self.root, self.dest = ctx, src.rstrip("/") or "/", dest
        self.single = False
        self.base = self.root
        self.files = None if files is None else sorted(dict.fromkeys(files), key=_key)
        self.dirs = sorted(dict.fromkeys(dirs))

    async def setup(self) -> None:
        kind = await self.ctx.remote_call(self.ctx.remote.collection_or_object, self.root)
        if kind == "object":
            if self.files is not None:
                raise UsageError("a list of objects to download needs a collection as the "
                                 "source", path=self.root)
            self.single, self.base = True, posixpath.dirname(self.root)
        if not self.ctx.options.dry_run:
            with translate_os_errors(self.dest):
                await self.ctx.call(lambda: self.dest.mkdir(parents=True, exist_ok=True))

    async def source(self) -> AsyncGenerator[SourceEntry, None]:
        if self.single:
            found = await self.ctx.remote_call(self.ctx.remote.stat, self.root)
            if found is None:
                raise RemoteNotFound("remote source does not exist", path=self.root)
            entries: AsyncGenerator[RemoteFile | WalkError, None] = _single(
                RemoteFile(dataclasses.replace(found.info,
                                               path=posixpath.basename(self.root)), found.good))
        elif self.files is not None:
            for directory in self.dirs:
                yield DirInfo(directory)
            entries = self._named_objects(self.files)
        else:
            entries = _remote_listing(self.ctx, self.root)
        current: str | None = None
        async with aclosing(entries) as listing:
            async for entry in listing:
                directory = _key(entry.path if isinstance(entry, WalkError) else entry.info.path)[0]
                if directory != current:
                    current = directory
                    if directory:
                        yield DirInfo(directory)
                if isinstance(entry, WalkError):
                    yield entry
                    continue
                if not entry.good:
                    yield WalkError(entry.info.path, TransferFailed(
                        "its replica is stale or still being written; not downloaded",
                        path=self.remote(entry.info.path),
                        hint="finish or repeat the upload, then download again"))
                    continue
                yield entry.info

    async def _named_objects(self, files: Sequence[str]) -> AsyncGenerator[RemoteFile | WalkError,
                                                                           None]:
        """The listed objects, looked up one GenQuery per collection; a vanished one fails."""
        for directory, names in _by_directory(files):
            prefix = f"{directory}/" if directory else ""
            found = {entry.info.path: entry for entry in await self.ctx.remote_call(
                stat_names, self.remote(directory) if directory else self.root, names, prefix)}
            for name in names:
                entry = found.get(prefix + name)
                if entry is None:
                    yield WalkError(prefix + name, RemoteNotFound(
                        "the data object no longer exists; not downloaded",
                        path=self.remote(prefix + name)))
                else:
                    yield entry

    async def destination(self) -> AsyncGenerator[RemoteFile, None]:
        if self.files is not None:
            for found in await self.ctx.call(_stat_listed, self.dest, self.files):
                if isinstance(found, FileInfo):
                    yield RemoteFile(found, good=True)
            return
        if self.single:
            name = posixpath.basename(self.root)
            target = self.dest / name
            try:
                st = await self.ctx.call(os.stat, target)
            except OSError:
                return
            yield RemoteFile(FileInfo(name, st.st_size, st.st_mtime_ns // 1_000_000_000), True)
            return
        async with aclosing(_local_files(self.dest, self.ctx.limiter)) as files:
            async for entry in files:
                yield entry

    def remote(self, relative: str) -> str:
        return irods_join(self.base, relative)

    def local(self, relative: str) -> Path:
        return local_target(self.dest, relative)

    async def prepare_dir(self, relative: str) -> None:
        if self.ctx.options.dry_run:
            return
        try:
            folder = self.local(relative)
        except MangoError:
            return  # an unsafe name: each file below it fails with the reason
        with translate_os_errors(folder):
            await self.ctx.call(lambda: folder.mkdir(parents=True, exist_ok=True))

    async def transfer(self, item: Item) -> None:
        assert item.src is not None
        await download_file(self.ctx, self.remote(item.path), self.local(item.path), item.src)

    async def checksum(self, item: Item, side: Side) -> str | None:
        if side is Side.DST:
            with translate_os_errors(self.local(item.path)):
                return await self.ctx.call(file_checksum, self.local(item.path))
        if item.src is not None and item.src.checksum:
            return item.src.checksum
        return await self.ctx.remote_call(self.ctx.remote.checksum, self.remote(item.path))

    async def fix_mtime(self, item: Item) -> None:
        assert item.src is not None
        mtime = item.src.mtime
        target = self.local(item.path)
        with translate_os_errors(target):
            await self.ctx.call(os.utime, target, (mtime, mtime))

    async def delete(self, item: Item) -> None:
        target = self.local(item.path)
        with translate_os_errors(target):
            await self.ctx.call(target.unlink)

    async def finish(self) -> None:
        return None


async def _single(entry: RemoteFile) -> AsyncGenerator[RemoteFile | WalkError, None]:
    yield entry


async def _merge(source: AsyncGenerator[SourceEntry, None],
                 destination: AsyncGenerator[RemoteFile, None]) -> AsyncGenerator[Item | DirInfo, None]:
    """Join two listings sorted by ``(directory, name)``; refuse a listing out of order (a
    wrong merge could delete files with ``--delete``)."""
    head = await anext(destination, None)
    last_src: tuple[str, str] | None = None
    last_dst: tuple[str, str] | None = None

    async def advance() -> RemoteFile | None:
        nonlocal last_dst
        assert head is not None
        key = _key(head.info.path)
        if last_dst is not None and key <= last_dst:
            raise TransferFailed("the destination listing is not in catalog order",
                                 path=head.info.path, hint="report this as a bug")
        last_dst = key
        return await anext(destination, None)

    async for entry in source:
        if isinstance(entry, DirInfo):
            yield entry
            continue
        if isinstance(entry, WalkError):
            yield Item(entry.path, None, None, error=entry.error)
            continue
        key = _key(entry.path)
        if last_src is not None and key <= last_src:
            raise TransferFailed("the source listing is not in catalog order", path=entry.path,
                                 hint="report this as a bug")
        last_src = key
        while head is not None and _key(head.info.path) < key:
            yield Item(head.info.path, None, head.info, head.good)
            head = await advance()
        if head is not None and _key(head.info.path) == key:
            yield Item(entry.path, entry, head.info, head.good)
            head = await advance()
        else:
            yield Item(entry.path, entry, None)
    while head is not None:
        yield Item(head.info.path, None, head.info, head.good)
        head = await advance()


def _reconcile_avus(session: Any, path: str, desired: Sequence[Avu], fresh: bool) -> None:
    """Worker thread: make the managed AVUs of ``path`` exactly ``desired``, in one atomic call
    (none when nothing differs). ``fresh``: the object was just created, so it carries none."""
    current = [] if fresh else read_avus(session, path)
    apply_atomic_operations(session, path, metadata_operations(current, desired))


class _Runner:
    def __init__(self, ctx: RunContext, direction: Direction, hooks: RunHooks | None = None,
                 checksums: dict[str, str] | None = None) -> None:
        self.ctx = ctx
        self.direction = direction
        self.options = ctx.options
        self.stats = ctx.stats
        self.hooks = hooks or RunHooks()
        self.checksums = checksums if checksums is not None else {}
        self.started: dict[str, float] = {}
        self.failed_dirs: dict[str, str] = {}

    async def produce(self, send: MemoryObjectSendStream[Item]) -> None:
        select = self.hooks.select
        waiting: str | None = None  # lazy_dirs: the folder announced, its collection not made
        async with send:
            source = self.direction.source()
            destination = self.direction.destination()
            async with aclosing(source), aclosing(destination):
                async with aclosing(_merge(source, destination)) as merged:
                    async for entry in merged:
                        if isinstance(entry, DirInfo):
                            if self.hooks.lazy_dirs:
                                waiting = entry.path
                            else:
                                await self.prepare_dir(entry.path)
                            continue
                        if select is not None and (entry.src is not None or entry.error):
                            reason = select(entry.path)
                            if reason is not None:
                                self.result(entry, Status.FILTERED, reason, "filter")
                                continue
                        if (waiting is not None and entry.src is not None
                                and entry.error is None and _key(entry.path)[0] == waiting):
                            if entry.dst is None:  # the first new file: its collection now
                                await self.prepare_dir(waiting)
                            waiting = None  # (an object listed in it proves it exists)
                        broken = self.broken_dir(entry.path)
                        if broken is not None and entry.src is not None:
                            self.result(entry, Status.FAILED, broken, "error")
                            continue
                        await send.send(entry)

    async def prepare_dir(self, relative: str) -> None:
        """Create one destination folder; when that fails for good, only the files below it
        fail (with the reason), the rest of the run goes on."""
        attempt = 0
        while True:
            try:
                await self.direction.prepare_dir(relative)
                return
            except _FATAL:
                raise
            except MangoError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.options.retries:
                    self.failed_dirs[relative] = f"its folder could not be created: {exc.user_message()}"
                    return
                self.stats.count("retries")
                await anyio.sleep(self.options.backoff(attempt))

    def broken_dir(self, path: str) -> str | None:
        for folder, reason in self.failed_dirs.items():
            if path.startswith(folder + "/") or not folder:
                return reason
        return None

    async def work(self, receive: MemoryObjectReceiveStream[Item]) -> None:
        async with receive:
            async for item in receive:
                self.stats.queue_depth = receive.statistics().current_buffer_used
                await self.handle(item)

    def result(self, item: Item, status: Status, reason: str, action: str) -> None:
        size = item.src.size if item.src is not None else (item.dst.size if item.dst else 0)
        checksum = self.checksums.pop(self.direction.remote(item.path), None)
        started = self.started.pop(item.path, None)
        result = FileResult(
            item.path, status, reason, action, size,
            checksum=checksum if status in (Status.TRANSFERRED, Status.SKIPPED) else None,
            seconds=None if started is None else time.monotonic() - started)
        self.stats.add_result(result)
        if self.hooks.on_result is not None:
            self.hooks.on_result(result)

    async def set_metadata(self, item: Item, fresh: bool) -> bool:
        """Apply the metadata hook's AVUs (with retries); False when it failed (recorded)."""
        hook = self.hooks.metadata
        if hook is None or item.src is None or self.options.dry_run:
            return True
        desired = list(hook(item.src))
        if not desired:
            return True
        first = [fresh]

        async def apply(target: Item) -> None:
            known_empty, first[0] = first[0], False  # a retry reads what the first one left
            try:
                await self.ctx.remote_call(_reconcile_avus, self.direction.remote(target.path),
                                           desired, known_empty)
            except MangoError as exc:
                exc.detail = f"metadata not set: {exc.detail}"
                raise

        return await self.attempt(item, apply, "metadata", count=False)

    async def decide(self, item: Item) -> Decision:
        rules = self.options.skip_rules()
        src, dst = item.src, item.dst
        if dst is not None and src is not None and not item.dst_complete:
            return Decision(Action.CHANGED, Reason.DESTINATION_INCOMPLETE)
        decision = decide(src, dst, rules)
        if decision.action is Action.NEED_CHECKSUM and src is not None and dst is not None:
            try:
                if Side.SRC in decision.need:
                    src = dataclasses.replace(src, checksum=await self.direction.checksum(
                        item, Side.SRC) or None)
                if Side.DST in decision.need:
                    dst = dataclasses.replace(dst, checksum=await self.direction.checksum(
                        item, Side.DST) or None)
            except _FATAL:
                raise
            except MangoError:
                return Decision(Action.CHANGED, Reason.CHECKSUM_UNAVAILABLE)
            decision = decide(src, dst, rules)
            if decision.action is Action.NEED_CHECKSUM:
                return Decision(Action.CHANGED, Reason.CHECKSUM_UNAVAILABLE)
        return decision

    async def handle(self, item: Item) -> None:
        self.stats.count("seen")
        self.started[item.path] = time.monotonic()
        if item.error is not None:
            self.result(item, Status.FAILED, item.error.user_message(), "error")
            return
        decision = await self.decide(item)
        action = decision.action.value
        if decision.action is Action.SKIP:
            if item.src is None:
                self.started.pop(item.path, None)
                return  # only on the destination and no --delete: not this run's business
            if decision.fix_mtime and not self.options.dry_run:
                await self.attempt(item, self.direction.fix_mtime, action, count=False)
            if await self.set_metadata(item, fresh=False):
                self.result(item, Status.SKIPPED, decision.reason.value, action)
            return
        if self.options.dry_run:
            self.result(item, Status.PLANNED, decision.reason.value, action)
            return
        if decision.action is Action.DELETE:
            if await self.attempt(item, self.direction.delete, action, count=False):
                self.result(item, Status.DELETED, decision.reason.value, action)
            return
        if (await self.attempt(item, self.direction.transfer, action)
                and await self.set_metadata(item, fresh=item.dst is None)):
            self.result(item, Status.TRANSFERRED, decision.reason.value, action)

    async def attempt(self, item: Item, operation: Callable[[Item], Any], action: str, *,
                      count: bool = True) -> bool:
        """Run ``operation`` with retries; record a failure and return False when it fails."""
        attempt = 0
        while True:
            try:
                await operation(item)
                return True
            except _FATAL:
                raise
            except MangoError as exc:
                attempt += 1
                allowed = 1 if isinstance(exc, VerificationFailed) else self.options.retries
                if not exc.retryable or attempt > allowed:
                    self.result(item, Status.FAILED, exc.user_message(), action)
                    return False
                self.stats.count("retries")
                await anyio.sleep(self.options.backoff(attempt))

    async def tick(self, progress: Progress) -> None:
        while True:
            progress(self.stats.snapshot())
            await anyio.sleep(_TICK)

    async def run(self, progress: Progress | None) -> None:
        await self._with_retries(self.direction.setup)
        threads = self.options.threads
        async with anyio.create_task_group() as outer:
            if progress is not None:
                outer.start_soon(self.tick, progress)
            send, receive = anyio.create_memory_object_stream[Item](max(16, 4 * threads))
            async with anyio.create_task_group() as group:
                group.start_soon(self.produce, send.clone())
                for _ in range(threads):
                    group.start_soon(self.work, receive.clone())
                send.close()
                receive.close()
            outer.cancel_scope.cancel()
        await self._with_retries(self.direction.finish)

    async def _with_retries(self, operation: Callable[[], Any]) -> None:
        attempt = 0
        while True:
            try:
                await operation()
                return
            except MangoError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.options.retries:
                    raise
                await anyio.sleep(self.options.backoff(attempt))


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
    try:
        async with run_context(options, stats, environment, environ, ranges, sessions) as ctx:
            with single_errors():
                assert isinstance(ctx.remote, _RecordingRemote)
                await _Runner(ctx, make(ctx), hooks, ctx.remote.recorded).run(progress)
    finally:
        stats.finish()
        if progress is not None:
            progress(stats.snapshot())
    return stats


@asynccontextmanager
async def run_context(options: TransferOptions, stats: Stats,
                      environment: IrodsEnvironment | None = None,
                      environ: Mapping[str, str] | None = None,
                      ranges: RangeMover | None = None,
                      sessions: SessionCache | None = None) -> AsyncIterator[RunContext]:
    """What one run shares (session pool, limiter, state folder), closed at the end. Public
    so that a scale-out coordinator can walk a source exactly as a run does."""
    if environment is None:
        environment = await anyio.to_thread.run_sync(lambda: load_environment(environ=environ))
    size = options.threads + options.chunk_connections + 1
    limiter = anyio.CapacityLimiter(size)
    pool = SessionPool(environment, size, limiter=limiter,
                       factory=sessions.take if sessions is not None else None,
                       release=sessions.give if sessions is not None else None)
    state_dir = Path(options.state_dir) if options.state_dir else default_state_dir(environ)
    try:
        yield RunContext(options=options, pool=pool, remote=_RecordingRemote(), stats=stats,
                         state_dir=state_dir, ranges=ranges or LocalRanges())
    finally:
        await pool.aclose()


def sync_direction(src: str, dest: str, zone: str) -> str:
    """``"upload"`` or ``"download"``: the side that is iRODS (see :func:`is_remote`) is the
    destination or the source; exactly one side must be."""
    src_remote, dest_remote = is_remote(src, zone), is_remote(dest, zone)
    if src_remote == dest_remote:
        side = "both" if src_remote else "neither"
        raise UsageError(f"sync needs exactly one iRODS side, but {side} of {src!r} and "
                         f"{dest!r} is one", hint=f"write the iRODS side as {REMOTE_PREFIX}/ZONE/"
                                                  "... or /ZONE/...")
    return "download" if src_remote else "upload"


def is_remote(path: str, zone: str) -> bool:
    """``irods:/zone/...`` or ``/ZONE/...`` names the iRODS side (sync's direction)."""
    return path.startswith(REMOTE_PREFIX) or path == f"/{zone}" or path.startswith(f"/{zone}/")


def _strip(path: str) -> str:
    return path[len(REMOTE_PREFIX):] if path.startswith(REMOTE_PREFIX) else path


def remote_path(path: str, what: str) -> str:
    path = _strip(path)
    if not path.startswith("/"):
        raise UsageError(f"{what} must be an absolute iRODS path such as /ZONE/home/USER/...",
                         path=path)
    return path


async def upload(src: str | os.PathLike[str], dest: str, options: TransferOptions | None = None,
                 *, stats: Stats | None = None, progress: Progress | None = None,
                 environment: IrodsEnvironment | None = None,
                 environ: Mapping[str, str] | None = None,
                 files: Iterable[str] | None = None,
                 dirs: Iterable[str] = (),
                 select: Callable[[str], str | None] | None = None,
                 prune_dir: Callable[[str], bool] | None = None,
                 recursive: bool = True,
                 metadata: Callable[[FileInfo], Sequence[Avu]] | None = None,
                 on_result: Callable[[FileResult], None] | None = None,
                 empty_dirs: bool = True, ranges: RangeMover | None = None,
                 sessions: SessionCache | None = None) -> Stats:
    """Upload the contents of local ``src`` into collection ``dest`` (created if missing).

    The keyword hooks (``files`` … ``empty_dirs``) are described in the module docstring;
    without them this is a plain mirror of the tree, empty folders included.
    """
    dest = remote_path(dest, "the destination collection")
    listed = None if files is None else list(files)
    hooks = RunHooks(select=select, metadata=metadata, on_result=on_result,
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
    src = remote_path(src, "the source collection")
    listed = None if files is None else list(files)
    return await _run(lambda ctx: Download(ctx, src, Path(dest), files=listed, dirs=dirs),
                      options or TransferOptions(), stats, progress, environment, environ,
                      RunHooks(on_result=on_result), ranges, sessions)


async def sync(src: str, dest: str, options: TransferOptions | None = None, *,
               stats: Stats | None = None, progress: Progress | None = None,
               environment: IrodsEnvironment | None = None,
               environ: Mapping[str, str] | None = None) -> Stats:
    """Upload or download, whichever way makes ``dest`` match ``src`` (see :func:`is_remote`)."""
    if environment is None:
        environment = await anyio.to_thread.run_sync(lambda: load_environment(environ=environ))
    if sync_direction(src, dest, environment.zone) == "download":
        return await download(src, dest, options, stats=stats, progress=progress,
                              environment=environment, environ=environ)
    return await upload(src, dest, options, stats=stats, progress=progress,
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
