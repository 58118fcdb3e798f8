"""The upload direction: a local folder (or file) into a collection, ``SRC/a/b`` → ``DEST/a/b``.

:class:`Upload` is what the runner asks of a direction: the source walk (the whole tree, an
explicit file list, or the top level only, optionally pruned), the destination listing (the
GenQuery walk, or one lookup per folder for a file list), and how one file is created,
moved, hashed, touched or deleted on the iRODS side.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from pathlib import Path
from typing import cast

from mango_transfer.engine.context import RunContext
from mango_transfer.engine.decide import Side
from mango_transfer.engine.file_transfer import Moved, upload_file
from mango_transfer.engine.links import link_checksum, put_link
from mango_transfer.engine.listings import (
    by_directory,
    listed,
    pruned,
    remote_listing,
    top_level,
    unpruned,
)
from mango_transfer.engine.merge import Item, catalog_key
from mango_transfer.errors import LocalNotFound, PermissionDenied, RemoteNotFound, UsageError
from mango_transfer.fileinfo import ListedFile, WalkItem
from mango_transfer.irods.lookup import stat_names
from mango_transfer.irods.paths import irods_join
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.hashing import file_checksum
from mango_transfer.localfs.paths import WINDOWS_PATH_HINT, looks_like_windows_path
from mango_transfer.localfs.walk import walk
from mango_transfer.pathfilter import PathFilter

__all__ = ["Upload"]


def _either(prune_dir: Callable[[str], bool] | None,
            scope: PathFilter | None) -> Callable[[str], bool] | None:
    """One folder test from the hook's and the run's filter: a folder either refuses is out."""
    if scope is None:
        return prune_dir
    if prune_dir is None:
        return scope.prunes
    return lambda folder: prune_dir(folder) or scope.prunes(folder)


class Upload:
    """Local folder (or file) → collection: ``SRC/a/b`` lands at ``DEST/a/b``."""

    def __init__(self, ctx: RunContext, src: Path, dest: str, *,
                 files: Iterable[str] | None = None, dirs: Iterable[str] = (),
                 prune_dir: Callable[[str], bool] | None = None, recursive: bool = True) -> None:
        self.ctx, self.root, self.collection = ctx, src, dest.rstrip("/") or "/"
        self.single = False
        self.base = src
        self.files = None if files is None else sorted(dict.fromkeys(files), key=catalog_key)
        self.dirs = sorted(dict.fromkeys(dirs))
        self.prune_dir = _either(prune_dir, ctx.options.path_filter())
        self.recursive = recursive

    async def setup(self) -> None:
        if self.ctx.options.backup_dir is not None:
            raise UsageError("--backup-dir keeps local files; a remote destination's deletions "
                             "go to the iRODS trash instead", hint="leave out --backup-dir")
        if not await self.ctx.call(os.path.exists, self.root):
            hint = (WINDOWS_PATH_HINT if os.name != "nt"
                    and looks_like_windows_path(str(self.root)) else None)
            raise LocalNotFound("local source does not exist", path=self.root, hint=hint)
        if await self.ctx.call(os.path.isfile, self.root):
            if self.files is not None:
                raise UsageError("a list of files to upload needs a folder as the local source",
                                 path=self.root)
            self.single, self.base = True, self.root.parent
        for grant in self.ctx.options.acl:  # before any byte moves: a typo fails the run now
            if not await self.ctx.remote_call(self.ctx.remote.user_exists, grant.user):
                raise UsageError(f"--acl {grant}: the zone has no user or group "
                                 f"{grant.user!r}; nothing was uploaded",
                                 hint="check the spelling of USER (or USER#ZONE for another zone)")
        if not self.ctx.options.dry_run:
            try:
                await self.ctx.remote_call(self.ctx.remote.mkdir, self.collection)
            except RemoteNotFound as exc:  # created, yet invisible: no access to it
                raise PermissionDenied("cannot create or see the destination collection",
                                       path=self.collection) from exc

    async def source(self) -> AsyncGenerator[WalkItem, None]:
        if self.files is not None:
            entries = listed(self.root, self.files, self.ctx.listing, self.dirs)
        elif not self.recursive and not self.single:
            entries = top_level(self.root, self.ctx.listing)
        else:  # pruned folders are never read
            # walk() is an async generator function, typed as an AsyncIterator
            entries = cast(AsyncGenerator[WalkItem, None],
                           walk(self.root, links=self.ctx.options.link_mode,
                                limiter=self.ctx.listing, prune=self.prune_dir))
        if self.prune_dir is not None:
            entries = pruned(entries, self.prune_dir)
        async with aclosing(entries):
            async for entry in entries:
                yield entry

    async def destination(self) -> AsyncGenerator[ListedFile, None]:
        if self.files is not None:
            for directory, names in by_directory(self.files):
                collection = self.remote(directory) if directory else self.collection
                prefix = f"{directory}/" if directory else ""
                for entry in await self.ctx.remote_call(stat_names, collection, names, prefix):
                    yield entry
            return
        if self.single:
            found = await self.ctx.remote_call(self.ctx.remote.stat, self.remote(self.root.name))
            if found is not None:
                yield ListedFile(dataclasses.replace(found.info, path=self.root.name), found.good)
            return
        listing = remote_listing(self.ctx, self.collection)
        if self.prune_dir is not None:
            listing = unpruned(listing, self.prune_dir)
        async with aclosing(listing):
            async for entry in listing:
                yield entry

    def remote(self, relative: str) -> str:
        return irods_join(self.collection, relative)

    def local(self, relative: str) -> Path:
        return self.base.joinpath(*relative.split("/"))

    async def prepare_dir(self, relative: str) -> None:
        if not self.ctx.options.dry_run:
            await self.ctx.control_call(self.ctx.remote.mkdir, self.remote(relative))

    async def transfer(self, item: Item) -> Moved:
        assert item.src is not None
        if item.src.link_target is not None:  # --links: the link itself, as NAME.rclonelink
            return await self.ctx.remote_call(put_link, self.ctx.remote, self.remote(item.path),
                                              item.src)
        return await upload_file(self.ctx, self.local(item.path), self.remote(item.path), item.src)

    async def checksum(self, item: Item, side: Side) -> str | None:
        if side is Side.SRC and item.src is not None and item.src.link_target is not None:
            return link_checksum(item.src)
        if side is Side.SRC:
            with translate_os_errors(self.local(item.path)):
                return await self.ctx.call(file_checksum, self.local(item.path))
        return await self.ctx.remote_call(self.ctx.remote.checksum, self.remote(item.path))

    async def fix_mtime(self, item: Item) -> None:
        assert item.src is not None
        await self.ctx.remote_call(self.ctx.remote.set_mtime, self.remote(item.path),
                                   item.src.mtime)

    async def delete(self, item: Item) -> str:
        """Remove one object, into the iRODS trash unless ``--no-trash``; says which."""
        trash = not self.ctx.options.no_trash
        await self.ctx.remote_call(self.ctx.remote.unlink, self.remote(item.path), trash)
        return ("only on the destination; moved to the trash" if trash
                else "only on the destination; removed for good (--no-trash)")

    async def finish(self) -> None:
        if self.ctx.options.dry_run:
            return
        target = self.remote(self.root.name) if self.single else self.collection
        for grant in self.ctx.options.acl:
            await self.ctx.remote_call(self.ctx.remote.set_acl, target, grant.user, grant.level,
                                       not self.single)
