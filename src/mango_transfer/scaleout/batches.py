"""Packing a streamed walk into tasks: many small files per task, a large file alone.

A task has a fixed cost (a message, a lease, an engine run with its own sessions), so small files
travel in batches capped by count *and* bytes; a file at or above the chunk threshold already
keeps a worker's parallel connections busy and goes alone, so two large files never wait on one
worker while another idles. Batches follow the walk's order, so a restarted coordinator that walks
an unchanged tree forms the same batches and recognises the ones already done (``batch_key``).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field

from mango_transfer.fileinfo import FileInfo

__all__ = ["Batch", "Batcher", "batch_key"]


@dataclass
class Batch:
    """Relative paths of one task; ``dirs`` are folders holding no file (mirrored empty)."""

    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    size: int = 0

    def __bool__(self) -> bool:
        return bool(self.files or self.dirs)


def batch_key(direction: str, src: str, dest: str, batch: Batch) -> str:
    """A stable name for a batch: the same work under the same run gets the same key."""
    digest = hashlib.sha256()
    for part in (direction, src, dest, *batch.files, "\0dirs", *batch.dirs):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:32]


class Batcher:
    """Feed it the walk (``add_dir``/``add_file``); it yields full batches as they fill."""

    def __init__(self, max_files: int, max_bytes: int, alone_from: int) -> None:
        self.max_files = max(1, max_files)
        self.max_bytes = max(1, max_bytes)
        self.alone_from = alone_from
        self._current = Batch()
        self._open_dir: str | None = None  # announced, no file of its own seen yet

    def add_dir(self, path: str) -> Iterator[Batch]:
        yield from self._close_open_dir()
        self._open_dir = path

    def add_file(self, info: FileInfo) -> Iterator[Batch]:
        if self._open_dir is not None and posixpath.dirname(info.path) == self._open_dir:
            self._open_dir = None  # its collection/folder is made with this file
        if info.size >= self.alone_from:
            yield Batch(files=[info.path], size=info.size)
            return
        current = self._current
        if current.files and (len(current.files) >= self.max_files
                              or current.size + info.size > self.max_bytes):
            yield self._take()
            current = self._current
        current.files.append(info.path)
        current.size += info.size

    def finish(self) -> Iterator[Batch]:
        yield from self._close_open_dir()
        if self._current:
            yield self._take()

    def _close_open_dir(self) -> Iterator[Batch]:
        if self._open_dir is None:
            return
        self._current.dirs.append(self._open_dir)
        self._open_dir = None
        if len(self._current.dirs) + len(self._current.files) >= self.max_files:
            yield self._take()

    def _take(self) -> Batch:
        batch, self._current = self._current, Batch()
        return batch
