"""Symbolic links kept as links (``--links``, as rclone's): ``NAME.rclonelink`` objects.

Uploading, a link ``NAME`` becomes the object ``NAME.rclonelink`` whose content is the link's
target, as the walk lists it (``localfs.walk``, ``FileInfo.link_target``); the object's modify
time is the link's own. Downloading with ``--links``, such an object becomes the link ``NAME``
again, pointing where the content says, with the object's modify time; without ``--links`` it
is an ordinary small file. The format is rclone's, so both tools read each other's links.
Where a link cannot be made (Windows without the privilege to create one), that file fails
with the reason and the rest goes on.
"""

from __future__ import annotations

import os
from pathlib import Path

from irods.session import iRODSSession

from mango_transfer.engine.moved import Moved
from mango_transfer.errors import TransferFailed
from mango_transfer.fileinfo import FileInfo
from mango_transfer.irods.remote import NotIncluded, RemoteSide
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.hashing import irods_sha256
from mango_transfer.localfs.walk import LINK_SUFFIX

__all__ = ["LINK_SUFFIX", "MAX_LINK", "is_link_object", "link_checksum", "make_link", "put_link",
           "set_link_mtime"]

MAX_LINK = 4096  # bytes: no target is longer (PATH_MAX); a larger .rclonelink is a plain file


def is_link_object(path: str, size: int) -> bool:
    return path.endswith(LINK_SUFFIX) and 0 < size <= MAX_LINK


def set_link_mtime(target: Path, mtime: int) -> None:
    """The link's own modify time (where the platform can set it: not on Windows)."""
    if os.utime in os.supports_follow_symlinks:
        os.utime(target, (mtime, mtime), follow_symlinks=False)


def link_checksum(src: FileInfo) -> str:
    """A stored link's SHA-256 in iRODS form: that of its target, as the object holds it."""
    assert src.link_target is not None
    return irods_sha256(os.fsencode(src.link_target))


def put_link(session: iRODSSession, remote: RemoteSide, path: str, src: FileInfo) -> Moved:
    """Worker thread: store the link's target as the object ``path`` (one request)."""
    assert src.link_target is not None
    data = os.fsencode(src.link_target)
    remote.put_bytes(session, path, data)
    remote.set_mtime(session, path, src.mtime)
    return Moved(len(data))


def make_link(session: iRODSSession, remote: RemoteSide, path: str, target: Path,
              src: FileInfo) -> Moved:
    """Worker thread: make ``target`` (the object's name without ``.rclonelink``) a link to
    what the object holds; an existing link or file of that name is replaced."""
    try:
        data, _ = remote.get_bytes(session, path)
    except NotIncluded as exc:
        raise TransferFailed("the link object is larger than a link can be", path=path) from exc
    if len(data) != src.size:
        raise TransferFailed("the link object changed during the download", path=path,
                             retryable=True)
    pointing = os.fsdecode(data)
    with translate_os_errors(target):
        if target.is_symlink() or target.is_file():
            target.unlink()
        os.symlink(pointing, target)
        set_link_mtime(target, src.mtime)
    return Moved(len(data))
