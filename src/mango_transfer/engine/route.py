"""Which side of a run is iRODS, and which way ``sync`` goes.

A run names its two sides as the user typed them. The iRODS side of ``sync`` is recognised by
its form: ``irods:/ZONE/...`` (the prefix is dropped) or ``/ZONE/...`` for the zone of the
environment file. ``upload`` and ``download`` know their iRODS side from their position, and
:func:`remote_path` checks it is an absolute iRODS path before anything connects.
"""

from __future__ import annotations

from mango_transfer.errors import UsageError

__all__ = ["REMOTE_PREFIX", "is_remote", "remote_path", "resolve_direction", "sync_direction"]

REMOTE_PREFIX = "irods:"


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


def resolve_direction(direction: str, src: str, dest: str, zone: str) -> str:
    """``"upload"`` or ``"download"`` for a run named ``upload``, ``download`` or ``sync``."""
    return sync_direction(src, dest, zone) if direction == "sync" else direction


def is_remote(path: str, zone: str) -> bool:
    """``irods:/zone/...`` or ``/ZONE/...`` names the iRODS side (sync's direction)."""
    return path.startswith(REMOTE_PREFIX) or path == f"/{zone}" or path.startswith(f"/{zone}/")


def _strip(path: str) -> str:
    return path[len(REMOTE_PREFIX):] if path.startswith(REMOTE_PREFIX) else path


def remote_path(path: str, what: str) -> str:
    """``path`` without its ``irods:`` prefix; a relative one is refused, naming ``what``."""
    path = _strip(path)
    if not path.startswith("/"):
        raise UsageError(f"{what} must be an absolute iRODS path such as /ZONE/home/USER/...",
                         path=path)
    return path
