"""Pair the source walk with the destination listing, file by file, in one pass.

Both listings arrive sorted by :func:`catalog_key`, ``(directory, name)`` by code point (the
local walk and the GenQuery listing share that order, see ``localfs/walk.py``), so they are
merged side by side, as rclone's ``fs/march`` does, and neither is ever held whole. Each file
becomes one :class:`Item`: on both sides, only on the source (new), or only on the destination
(a candidate for ``--delete``).

That last case is why the order is checked, not trusted: if a listing came out of order, a
file present on both sides would look missing from one, and ``--delete`` would remove it. An
entry that does not sort after the previous one of its listing stops the run instead, checked
as soon as it is read, before it is paired with anything.

For the same reason, a source entry that could not be read (a ``WalkError``: an unreadable
folder, a broken link) or was left out on purpose (``Skipped``: a link not followed) says
nothing about what the destination holds under its name: a destination entry of that name, or
below it, is left out of the pairing, so ``--delete`` never takes it for a file the source
lacks.

Pure: no I/O, only the two async iterators it is given.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from mango_transfer.errors import MangoError, TransferFailed
from mango_transfer.fileinfo import DirInfo, FileInfo, ListedFile, Skipped, WalkError, WalkItem

__all__ = ["Item", "catalog_key", "merge"]


@dataclass(frozen=True, slots=True)
class Item:
    """One file pair for a worker. ``src``/``dst`` None = missing on that side."""

    path: str
    src: FileInfo | None
    dst: FileInfo | None
    dst_complete: bool = True
    error: MangoError | None = None
    skip: str | None = None  # the source entry was left out on purpose (a link), and why


def catalog_key(path: str) -> tuple[str, str]:
    """The listing order: ``(directory, name)``, so a folder's files come together."""
    directory, _, name = path.rpartition("/")
    return directory, name


async def merge(source: AsyncIterator[WalkItem],
                destination: AsyncIterator[ListedFile]) -> AsyncGenerator[Item | DirInfo, None]:
    """Join two listings sorted by ``(directory, name)``; refuse a listing out of order (a
    wrong merge could delete files with ``--delete``). Folders and walk errors of the source
    pass through in their place."""
    last_src: tuple[str, str] | None = None
    last_dst: tuple[str, str] | None = None

    async def advance() -> ListedFile | None:
        """The next destination entry, checked as it is read: before it is paired (or taken
        for a file the source lacks)."""
        nonlocal last_dst
        entry = await anext(destination, None)
        if entry is not None:
            key = catalog_key(entry.info.path)
            if last_dst is not None and key <= last_dst:
                raise TransferFailed("the destination listing is not in catalog order",
                                     path=entry.info.path, hint="report this as a bug")
            last_dst = key
        return entry

    head = await advance()
    kept: set[str] = set()  # source entries not read (errors, links not followed)

    def left_alone(path: str) -> bool:
        """A destination entry with the name of a source entry that could not be read, or
        below one: the source says nothing about it, so it is never a deletion candidate."""
        while path:
            if path in kept:
                return True
            path = path.rpartition("/")[0]
        return False

    def only_on_destination(entry: ListedFile) -> Item | None:
        if kept and left_alone(entry.info.path):
            return None
        return Item(entry.info.path, None, entry.info, entry.good)

    async for entry in source:
        if isinstance(entry, DirInfo):
            yield entry
            continue
        if isinstance(entry, (WalkError, Skipped)):
            kept.add(entry.path)
            if isinstance(entry, WalkError):
                yield Item(entry.path, None, None, error=entry.error)
            else:
                yield Item(entry.path, None, None, skip=entry.reason)
            continue
        key = catalog_key(entry.path)
        if last_src is not None and key <= last_src:
            raise TransferFailed("the source listing is not in catalog order", path=entry.path,
                                 hint="report this as a bug")
        last_src = key
        while head is not None and catalog_key(head.info.path) < key:
            if (alone := only_on_destination(head)) is not None:
                yield alone
            head = await advance()
        if head is not None and catalog_key(head.info.path) == key:
            yield Item(entry.path, entry, head.info, head.good)
            head = await advance()
        else:
            yield Item(entry.path, entry, None)
    while head is not None:
        if (alone := only_on_destination(head)) is not None:
            yield alone
        head = await advance()
