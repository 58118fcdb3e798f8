"""The download direction: a collection (or one data object) into a local folder,
``SRC/a/b`` → ``DEST/a/b``.

:class:`Download` is what the runner asks of a direction: the source listing (the GenQuery
walk, one lookup per collection for an explicit list, or the one object), the destination
folder's files, and how one file is fetched, hashed, touched or deleted locally. Every
collection below the source becomes a folder, empty ones too. A replica that is not good is
never downloaded, and a remote name that would leave the destination folder, or that this
file system cannot hold, fails with the reason (``localfs.paths.local_target``) while the rest
goes on.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from pathlib import Path

import anyio

from mango_transfer.engine.context import RunContext
from mango_transfer.engine.decide import Side
from mango_transfer.engine.file_transfer import Moved, download_file
from mango_transfer.engine.links import (
    LINK_SUFFIX,
    is_link_object,
    link_checksum,
    make_link,
    set_link_mtime,
)
from mango_transfer.engine.listings import (
    by_directory,
    local_files,
    one,
    remote_tree,
    stat_listed,
    unpruned,
)
from mango_transfer.engine.merge import Item, catalog_key
from mango_transfer.errors import DiskFull, RemoteNotFound, TransferFailed, UsageError
from mango_transfer.fileinfo import DirInfo, FileInfo, ListedFile, WalkError, WalkItem
from mango_transfer.irods.lookup import stat_names
from mango_transfer.irods.paths import irods_join
from mango_transfer.localfs.backup import check_backup_dir, keep_old, move_to_backup
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.hashing import file_checksum
from mango_transfer.localfs.paths import WINDOWS_PATH_HINT, local_target, windows_drive_or_unc
from mango_transfer.localfs.walk import file_info

__all__ = ["Download"]


class Download:
    """Collection (or data object) → local folder: ``SRC/a/b`` lands at ``DEST/a/b``."""

    def __init__(self, ctx: RunContext, src: str, dest: Path, *,
                 files: Iterable[str] | None = None, dirs: Iterable[str] = ()) -> None:
        self.ctx, self.root, self.dest = ctx, src.rstrip("/") or "/", dest
        self.single = False
        self.base = self.root
        self.files = None if files is None else sorted(dict.fromkeys(files), key=catalog_key)
        self.dirs = sorted(dict.fromkeys(dirs))
        scope = ctx.options.path_filter()
        self.prune = scope.prunes if scope is not None else None
        backup = ctx.options.backup_dir  # --backup-dir: what is overwritten or deleted
        self.backup = None if backup is None else Path(os.path.abspath(backup))

    async def setup(self) -> None:
        if os.name != "nt" and windows_drive_or_unc(str(self.dest)):
            raise UsageError("the destination folder is not a path on this machine",
                             path=self.dest, hint=WINDOWS_PATH_HINT)
        if self.backup is not None:
            check_backup_dir(self.backup, self.dest)
        kind = await self.ctx.remote_call(self.ctx.remote.collection_or_object, self.root)
        if kind == "object":
            if self.files is not None:
                raise UsageError("a list of objects to download needs a collection as the "
                                 "source", path=self.root)
            self.single, self.base = True, posixpath.dirname(self.root)
        if not self.ctx.options.dry_run:
            with translate_os_errors(self.dest):
                await self.ctx.call(lambda: self.dest.mkdir(parents=True, exist_ok=True))

    async def source(self) -> AsyncGenerator[WalkItem, None]:
        if self.single:
            found = await self.ctx.remote_call(self.ctx.remote.stat, self.root)
            if found is None:
                raise RemoteNotFound("remote source does not exist", path=self.root)
            entries: AsyncGenerator[ListedFile | WalkError, None] = one(
                ListedFile(dataclasses.replace(found.info,
                                               path=posixpath.basename(self.root)), found.good))
        elif self.files is not None:
            for directory in self.dirs:
                yield DirInfo(directory)
            entries = self._named_objects(self.files)
        else:
            tree = remote_tree(self.ctx, self.root)
            if self.prune is not None:
                tree = unpruned(tree, self.prune)
            async with aclosing(tree):
                async for node in tree:
                    if isinstance(node, DirInfo):  # every collection, empty ones too
                        yield node
                    else:
                        yield self._usable(node)
            return
        current: str | None = None
        async with aclosing(entries) as listing:
            async for entry in listing:
                path = entry.path if isinstance(entry, WalkError) else entry.info.path
                directory = catalog_key(path)[0]
                if directory != current:
                    current = directory
                    if directory:
                        yield DirInfo(directory)
                yield entry if isinstance(entry, WalkError) else self._usable(entry)

    def _usable(self, entry: ListedFile) -> FileInfo | WalkError:
        """The object to download, or why not: a replica that is not good is never taken."""
        if entry.good:
            return entry.info
        return WalkError(entry.info.path, TransferFailed(
            "its replica is stale or still being written; not downloaded",
            path=self.remote(entry.info.path),
            hint="finish or repeat the upload, then download again"))

    async def _named_objects(self, files: Sequence[str]) -> AsyncGenerator[ListedFile | WalkError,
                                                                           None]:
        """The listed objects, looked up one GenQuery per collection; a vanished one fails."""
        for directory, names in by_directory(files):
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

    async def destination(self) -> AsyncGenerator[ListedFile, None]:
        if self.files is not None:
            for found in await self.ctx.call(stat_listed, self.dest, self.files):
                if isinstance(found, FileInfo):
                    yield ListedFile(found, good=True)
            return
        if self.single:
            name = posixpath.basename(self.root)
            target = self.dest / name
            try:
                st = await self.ctx.call(os.stat, target)
            except OSError:
                return
            yield ListedFile(file_info(name, st), True)
            return
        links = "store" if self.ctx.options.links else "follow"
        async with aclosing(local_files(self.dest, self.ctx.listing, links,
                                        self.prune)) as files:
            async for entry in files:
                yield entry

    def remote(self, relative: str) -> str:
        return irods_join(self.base, relative)

    def local(self, relative: str) -> Path:
        return local_target(self.dest, relative)

    async def prepare_dir(self, relative: str) -> None:
        folder = self.local(relative)  # a name this machine cannot hold fails here, named
        if self.ctx.options.dry_run:
            return
        with translate_os_errors(folder):
            await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True),
                                           limiter=self.ctx.listing)

    def _link(self, item: Item) -> Path | None:
        """``--links``: the local link a ``NAME.rclonelink`` object stands for, else None."""
        if not self.ctx.options.links or item.src is None \
                or not is_link_object(item.path, item.src.size):
            return None
        return self.local(item.path[:-len(LINK_SUFFIX)])

    async def transfer(self, item: Item) -> Moved:
        """Download one object (``--links``: make its link); with ``--backup-dir`` the file
        it replaces is kept there (``localfs/backup.py``), and only when it was replaced."""
        assert item.src is not None
        link = self._link(item)
        target = self.local(item.path) if link is None else link
        kept = None
        if self.backup is not None and item.dst is not None:
            with translate_os_errors(target):
                kept = await self.ctx.call(keep_old, target, self._backup_of(target))
        try:
            if link is not None:
                moved = await self.ctx.remote_call(make_link, self.ctx.remote,
                                                   self.remote(item.path), link, item.src)
            else:
                moved = await download_file(self.ctx, self.remote(item.path), target, item.src)
        except BaseException as exc:
            if kept is not None:
                await self.ctx.call(kept.discard)
            if isinstance(exc, DiskFull):
                raise self._disk_full(exc, item) from exc
            raise
        if kept is not None:
            with translate_os_errors(kept.backup):
                await self.ctx.call(kept.commit)
        return moved

    def _disk_full(self, exc: DiskFull, item: Item) -> DiskFull:
        """The run stops at the first full disk (every other file would fail the same way):
        one line naming the folder, the bytes the run still needs and a partial kept."""
        snap = self.ctx.stats.snapshot()
        needed = max(snap.bytes_found - snap.bytes_done, item.src.size if item.src else 0)
        kept = f"the partial file {exc.partial} is kept for the resume; " if exc.partial else ""
        stop = DiskFull(f"no space left on the local disk while downloading {item.path}: "
                        f"{'at least ' if snap.scanning else ''}{needed:,} bytes still needed "
                        f"for the rest of the download; the run stopped", path=self.dest,
                        hint=f"{kept}free some space and run the same command again")
        stop.fatal = True
        return stop

    def _backup_of(self, target: Path) -> Path:
        """Where ``--backup-dir`` keeps the local file ``target``: same relative path."""
        assert self.backup is not None
        return self.backup / target.relative_to(self.dest)

    async def checksum(self, item: Item, side: Side) -> str | None:
        if side is Side.DST and item.dst is not None and item.dst.link_target is not None:
            return link_checksum(item.dst)
        if side is Side.DST:
            with translate_os_errors(self.local(item.path)):
                return await self.ctx.call(file_checksum, self.local(item.path))
        if item.src is not None and item.src.checksum:
            return item.src.checksum
        return await self.ctx.remote_call(self.ctx.remote.checksum, self.remote(item.path))

    async def fix_mtime(self, item: Item) -> None:
        assert item.src is not None
        mtime = item.src.mtime
        if (link := self._link(item)) is not None:
            with translate_os_errors(link):
                await self.ctx.call(set_link_mtime, link, mtime)
            return
        target = self.local(item.path)
        with translate_os_errors(target):
            await self.ctx.call(os.utime, target, (mtime, mtime))

    async def delete(self, item: Item) -> str:
        """Remove one local file (a link stored as ``NAME.rclonelink``: the link), or with
        ``--backup-dir`` move it there; says which."""
        relative = item.path
        if item.dst is not None and item.dst.link_target is not None \
                and relative.endswith(LINK_SUFFIX):
            relative = relative[:-len(LINK_SUFFIX)]
        target = self.local(relative)
        with translate_os_errors(target):
            if self.backup is None:
                await self.ctx.call(target.unlink)
                return "only on the destination; deleted"
            backup = self._backup_of(target)
            await self.ctx.call(move_to_backup, target, backup)
        return f"only on the destination; moved to {backup}"

    async def finish(self) -> None:
        return None
