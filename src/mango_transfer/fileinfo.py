"""What both sides of a transfer list, in one shape: a file, a folder, an entry that failed.

Lives at the package top because the local walker, the iRODS listing and the engine's merge and
decisions all exchange these, and none of them should import another just for the types.

- :class:`FileInfo`: one file's identity for skip decisions.
- :class:`ListedFile`: a file as a destination (or remote) listing gives it, with whether it
  is complete; a local file always is.
- :class:`DirInfo`: a folder (or collection) below the root, announced before its files.
- :class:`WalkError`: an entry that could not be listed; reported, then skipped.
- :class:`Skipped`: an entry left out on purpose (a symbolic link not followed), with why.
"""

from __future__ import annotations

from dataclasses import dataclass

from mango_transfer.errors import MangoError

__all__ = ["DirInfo", "FileInfo", "ListedFile", "Skipped", "WalkError", "WalkItem"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file's identity for skip decisions.

    ``path`` is relative to the transfer root, with ``/`` separators on every platform, so the
    local and the remote entry for the same file compare equal. ``mtime`` is whole seconds since
    the epoch (floored), because iRODS stores no more. ``checksum`` is in iRODS form
    (``sha2:<base64>``) or None when not known yet. ``changed`` (local files only): the last
    time the file's content or its metadata changed, ``max(mtime, ctime)`` in whole seconds;
    unlike the mtime, nobody can set the ctime back, so a file restored with an old mtime still
    shows when it changed (on Windows the ctime is the creation time). None for iRODS objects.
    """

    path: str
    size: int
    mtime: int
    checksum: str | None = None
    changed: int | None = None
    link_target: str | None = None  # ``--links``: a symbolic link kept as NAME.rclonelink


@dataclass(frozen=True, slots=True)
class ListedFile:
    """One file as a listing gives it: its identity for ``decide`` and whether it is complete.

    ``good`` is False for a stale or intermediate replica (an interrupted upload): the engine
    then treats the object as changed, whatever its size and time say.
    """

    info: FileInfo
    good: bool
    replica_status: str = "1"  # iRODS' code of the replica listed: 0 stale, 1 good, 2 being written


@dataclass(frozen=True, slots=True)
class DirInfo:
    """A folder below the root (``path`` relative, ``/``-separated); the root is not yielded.
    ``mtime``: a collection's modify time, when its listing gave one."""

    path: str
    mtime: int | None = None


@dataclass(frozen=True, slots=True)
class WalkError:
    """An entry that could not be walked; reported, then skipped."""

    path: str
    error: MangoError


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry the walk leaves out on purpose (a symbolic link not followed), and why; it is
    reported as skipped, and what the destination holds under its name is left alone."""

    path: str
    reason: str


WalkItem = FileInfo | DirInfo | WalkError | Skipped  # what a source walk yields
