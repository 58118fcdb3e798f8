"""What both sides of a transfer know about one file, in one shape.

Lives at the package top because the local walker, the iRODS listing and the engine's decisions
all exchange it, and none of them should import another just for this type.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FileInfo"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file's identity for skip decisions.

    ``path`` is relative to the transfer root, with ``/`` separators on every platform, so the
    local and the remote entry for the same file compare equal. ``mtime`` is whole seconds since
    the epoch (floored), because iRODS stores no more. ``checksum`` is in iRODS form
    (``sha2:<base64>``) or None when not known yet.
    """

    path: str
    size: int
    mtime: int
    checksum: str | None = None
