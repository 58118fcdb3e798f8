"""Walk a local tree as a stream, in the order the iRODS catalog lists it.

Why this shape:

- **Streaming, bounded.** Only the current folder's names and the folders still to visit are held;
  items flow out as they are found, so a 1,000,000-file tree never becomes a list, and the
  consumer's bounded memory stream (backpressure) simply pauses the walk.
- **Catalog order.** Folders are visited in sorted order of their full relative path (a heap of
  pending folders), each folder's files sorted by name. Python compares ``str`` by code point,
  which is UTF-8 byte order, the order of a GenQuery ``ORDER BY COLL_NAME, DATA_NAME`` under the
  catalog's C collation. So a local and a remote listing can be merged side by side. A folder is
  yielded (``DirInfo``) before its files, and a parent before its children, so collections can be
  created once, in order.
- **Never crashes on one bad entry.** An unreadable folder, a broken link, a symlink loop or a
  name that is not UTF-8 becomes a ``WalkError`` item and the walk goes on.
- **Symbolic links** (below the root; the root itself is always followed) are what the run
  asks (``links``, see :func:`iter_tree`): skipped and named as rclone does by default (a
  link to a file, to a folder, or a broken one, said so), followed (``--copy-links``), or kept
  as ``NAME.rclonelink`` entries (``--links``).
- **Pruned folders are never read.** ``prune(relative_dir)`` (a filter's folder rule) is asked
  about each folder before it is queued; a folder it refuses is neither listed nor yielded.
- **Off the event loop.** ``os.scandir``/``os.stat`` block, so :func:`walk` advances the
  synchronous :func:`iter_tree` in a worker thread, a batch at a time (one thread hop per item
  would dominate the cost of a million small files).
"""

from __future__ import annotations

import heapq
import os
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import islice
from pathlib import Path

import anyio
from anyio.abc import ObjectSendStream

from mango_transfer.errors import LocalNotFound, TransferFailed
from mango_transfer.fileinfo import DirInfo, FileInfo, Skipped, WalkError, WalkItem
from mango_transfer.localfs.errors import os_error_to_mango
from mango_transfer.readahead import ReadAhead

__all__ = ["LINK_MODES", "LINK_SUFFIX", "file_info", "iter_tree", "produce", "walk"]

DEFAULT_BATCH = 512
LINK_SUFFIX = ".rclonelink"  # rclone's name for a symbolic link kept as a small file
LINK_MODES = ("follow", "skip", "store", "ignore")



def _child(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _list_names(folder: str) -> list[str]:
    """One folder's names, sorted. Only names are kept: a DirEntry per file costs far more."""
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries)


def file_info(relative: str, st: os.stat_result) -> FileInfo:
    """The listing entry of a local file named ``relative`` with status ``st``."""
    mtime = st.st_mtime_ns // 1_000_000_000
    return FileInfo(path=relative, size=st.st_size, mtime=mtime,
                    changed=max(mtime, st.st_ctime_ns // 1_000_000_000))


class _Walker:
    """State of one walk: the heap of folders to visit and the folders already seen.

    Paths are plain strings inside the loop: ``Path`` joins cost more than the ``stat`` itself.
    """

    def __init__(self, root: Path, links: str,
                 prune: Callable[[str], bool] | None = None) -> None:
        self.root = root
        self.links = links
        self.prune = prune
        # (relative, path, the (dev, inode) of the folder and of every folder above it)
        self.pending: list[tuple[str, str, frozenset[tuple[int, int]]]] = []
        self.above: frozenset[tuple[int, int]] = frozenset()  # of the folder being visited

    def visit(self, relative: str, folder: str) -> Iterator[WalkItem]:
        """Yield one folder's files; queue its sub-folders."""
        try:
            names = _list_names(folder)
        except OSError as exc:
            yield WalkError(relative, os_error_to_mango(exc, folder))
            return
        for name in names:
            yield from self.entry(_child(relative, name), os.path.join(folder, name))

    def entry(self, relative: str, path: str) -> Iterator[WalkItem]:
        """Classify one entry: a file is yielded, a folder queued, anything else reported."""
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:
            yield WalkError(relative, TransferFailed("name is not valid UTF-8; iRODS cannot store "
                                                     "it", path=path, hint="rename the file"))
            return
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                link = self.link(relative, path, st)
                if not isinstance(link, os.stat_result):
                    if link is not None:
                        yield link
                    return
                st = link
        except OSError as exc:
            yield WalkError(relative, os_error_to_mango(exc, path))
            return
        if stat.S_ISREG(st.st_mode):
            yield file_info(relative, st)
        elif stat.S_ISDIR(st.st_mode):
            if self.prune is None or not self.prune(relative):
                yield from self.queue(relative, path, st)
        else:
            yield WalkError(relative, TransferFailed("not a regular file or folder; skipped",
                                                     path=path))

    def link(self, relative: str, path: str,
             st: os.stat_result) -> os.stat_result | WalkItem | None:
        """A symbolic link, as ``links`` says: ``follow`` → what it points to (a broken one is
        named so); ``store`` → ``NAME.rclonelink`` holding the target; ``skip`` → reported,
        naming what it points to; ``ignore`` → nothing."""
        if self.links == "ignore":
            return None
        target = os.readlink(path)
        try:
            pointed: os.stat_result | None = os.stat(path)
        except OSError:
            pointed = None
        if self.links == "store":
            return FileInfo(path=relative + LINK_SUFFIX, size=len(os.fsencode(target)),
                            mtime=st.st_mtime_ns // 1_000_000_000, link_target=target)
        if pointed is None:
            broken = f"broken symbolic link: its target {target!r} does not exist"
            if self.links == "follow":
                return WalkError(relative, LocalNotFound(broken, path=path,
                                                         hint="fix or remove the link"))
            return Skipped(relative, f"{broken}; not followed")
        if self.links == "follow":
            return pointed
        kind = "a folder" if stat.S_ISDIR(pointed.st_mode) else "a file"
        return Skipped(relative, f"symbolic link to {kind} ({target}), not followed: "
                                 "--copy-links follows links, --links stores them as links")

    def queue(self, relative: str, path: str, st: os.stat_result) -> Iterator[WalkItem]:
        """Queue a folder; one that is also a folder above it (a followed link pointing up, a
        loop) is reported instead. Another path to a folder seen elsewhere is walked again,
        as ``cp -rL`` and ``rclone -L`` copy it twice."""
        key = (st.st_dev, st.st_ino)
        if st.st_ino and key in self.above:  # some Windows/network file systems report inode 0
            yield WalkError(relative, TransferFailed(
                "symbolic link loop: this folder contains itself; skipped", path=path))
            return
        # Only a followed link can lead back up: without following, nothing is tracked.
        above = self.above | {key} if self.links == "follow" else self.above
        heapq.heappush(self.pending, (relative, path, above))

    def run(self) -> Iterator[WalkItem]:
        root_stat = self._root_stat()
        if not stat.S_ISDIR(root_stat.st_mode):
            yield file_info(self.root.name, root_stat)
            return
        self.above = frozenset({(root_stat.st_dev, root_stat.st_ino)})
        yield from self.visit("", os.fspath(self.root))
        while self.pending:
            relative, folder, self.above = heapq.heappop(self.pending)
            yield DirInfo(relative)
            yield from self.visit(relative, folder)

    def _root_stat(self) -> os.stat_result:
        try:
            return os.stat(self.root)  # the root itself is always followed
        except OSError as exc:
            error = os_error_to_mango(exc, self.root)
            if isinstance(error, LocalNotFound):
                error = LocalNotFound("local source does not exist", path=self.root)
            raise error from exc


def iter_tree(root: str | os.PathLike[str], *, follow_symlinks: bool = True,
              links: str | None = None,
              prune: Callable[[str], bool] | None = None) -> Iterator[WalkItem]:
    """Walk ``root`` synchronously (blocking), in catalog order; see the module docstring.

    A missing or unreadable root raises (nothing can be transferred); anything below it is
    reported as a ``WalkError`` item. A root that is a file yields one ``FileInfo`` named after it.

    ``links`` says what a symbolic link below the root is (the root itself is always followed):
    ``follow`` what it points to, ``skip`` a :class:`Skipped` entry naming it (a broken link
    or a link to a folder, said so), ``store`` a ``NAME.rclonelink`` entry holding its target
    (rclone's ``--links``), ``ignore`` nothing. Without it, ``follow_symlinks`` chooses between
    ``follow`` and ``ignore``. ``prune`` (called in the walking thread) leaves out the
    folders it returns True for.
    """
    mode = links or ("follow" if follow_symlinks else "ignore")
    if mode not in LINK_MODES:
        raise ValueError(f"links must be one of {', '.join(LINK_MODES)}, not {mode!r}")
    return _Walker(Path(root), mode, prune).run()


def _next_batch(items: Iterator[WalkItem], size: int) -> list[WalkItem]:
    return list(islice(items, size))


async def walk(
    root: str | os.PathLike[str],
    *,
    follow_symlinks: bool = True,
    links: str | None = None,
    batch: int = DEFAULT_BATCH,
    limiter: anyio.CapacityLimiter | None = None,
    prune: Callable[[str], bool] | None = None,
) -> AsyncIterator[WalkItem]:
    """Async generator over :func:`iter_tree`, reading ``batch`` entries per worker-thread hop,
    one batch ahead (``readahead.ReadAhead``: the walk's own thread stats the next folder while
    this one is merged).

    Pass the engine's ``limiter`` so the walk counts against the same thread budget as transfers.
    """
    items = iter_tree(root, follow_symlinks=follow_symlinks, links=links, prune=prune)
    chunks = ReadAhead(iter(lambda: _next_batch(items, batch), []), name="local-walk")
    try:  # the next batch is read in a thread of its own while this one is merged
        while chunk := await anyio.to_thread.run_sync(chunks.get, limiter=limiter):
            for item in chunk:
                yield item
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(chunks.close, limiter=limiter)


async def produce(
    root: str | os.PathLike[str],
    send: ObjectSendStream[WalkItem],
    *,
    follow_symlinks: bool = True,
    batch: int = DEFAULT_BATCH,
    limiter: anyio.CapacityLimiter | None = None,
) -> None:
    """Producer task: walk ``root`` into ``send`` and close it, so consumers see the end.

    Give it its own clone of the send stream (``send.clone()``). The stream's finite buffer is
    the backpressure: a full buffer parks this task, and with it the walk.
    """
    async with send:
        async for item in walk(root, follow_symlinks=follow_symlinks, batch=batch,
                               limiter=limiter):
            await send.send(item)
