"""Which side of a run is iRODS, which way ``sync`` goes, and what an iRODS path typed means.

A run names its two sides as the user typed them. The iRODS side of ``sync`` (and ``diff``) is
recognised by its form: ``irods:...`` (the prefix is dropped) or ``/ZONE/...`` for the zone of
the environment file. ``upload`` and ``download`` know their iRODS side from their position.

:func:`remote_path` makes a typed iRODS path absolute, as iCommands and ``gocmd`` do: ``~`` and
``~/...`` start at ``irods_home``, a relative path at ``irods_cwd`` (else ``irods_home``), and
``.``/``..`` and repeated slashes are resolved. A Windows path (``C:\\data``) is refused with a
hint: iRODS paths never contain a drive or backslashes as separators.
"""

from __future__ import annotations

import os
import posixpath
import re

from mango_transfer.errors import UsageError
from mango_transfer.localfs.paths import WINDOWS_PATH_HINT, windows_drive_or_unc

__all__ = ["REMOTE_PREFIX", "is_remote", "remote_path", "resolve_direction", "sync_direction"]

REMOTE_PREFIX = "irods:"


def sync_direction(src: str, dest: str, zone: str, command: str = "sync") -> str:
    """``"upload"`` or ``"download"``: the side that is iRODS (see :func:`is_remote`) is the
    destination or the source; exactly one side must be (``command`` names the one asking)."""
    src_remote, dest_remote = is_remote(src, zone), is_remote(dest, zone)
    if src_remote == dest_remote:
        side = "both" if src_remote else "neither"
        raise UsageError(f"{command} needs exactly one iRODS side, but {side} of {src!r} and "
                         f"{dest!r} is one", hint=f"write the iRODS side as {REMOTE_PREFIX}/ZONE/"
                                                  f"..., /ZONE/... or {REMOTE_PREFIX}~/... "
                                                  f"(relative to your iRODS home)")
    return "download" if src_remote else "upload"


def resolve_direction(direction: str, src: str, dest: str, zone: str) -> str:
    """``"upload"`` or ``"download"`` for a run named ``upload``, ``download`` or ``sync``."""
    return sync_direction(src, dest, zone) if direction == "sync" else direction


def is_remote(path: str, zone: str) -> bool:
    """``irods:...`` or ``/ZONE/...`` names the iRODS side (sync's direction)."""
    return path.startswith(REMOTE_PREFIX) or path == f"/{zone}" or path.startswith(f"/{zone}/")


def _strip(path: str) -> str:
    return path[len(REMOTE_PREFIX):] if path.startswith(REMOTE_PREFIX) else path


def remote_path(path: str, what: str, *, home: str | None = None,
                cwd: str | None = None) -> str:
    """``path`` as an absolute iRODS path (see the module docstring). Without ``home``/``cwd``
    (no environment at hand) only an absolute path is accepted."""
    raw = _strip(path)
    if windows_drive_or_unc(raw):
        raise UsageError(f"{what} {raw!r} is not an iRODS path", hint=WINDOWS_PATH_HINT)
    if home is not None and _expanded_by_the_shell(raw, home):
        raise UsageError(f"{what} {raw!r} is this machine's home folder: the shell replaced ~ "
                         "before mango-transfer saw it",
                         hint="quote it ('~/study') or write irods:~/study")
    if raw == "~" or raw.startswith("~/"):
        if home is None:
            raise UsageError(f"{what} must be an absolute iRODS path such as "
                             "/ZONE/home/USER/...", path=raw)
        raw = home.rstrip("/") + raw[1:]
    elif not raw.startswith("/"):
        if cwd is None:
            raise UsageError(f"{what} must be an absolute iRODS path such as "
                             "/ZONE/home/USER/...", path=raw)
        raw = f"{cwd.rstrip('/')}/{raw}" if raw else cwd
    return _normalized(raw)


def _expanded_by_the_shell(path: str, home: str) -> bool:
    """``path`` starts with the local home folder (``/home/alice``), which no zone is named
    after: an unquoted ``~/...`` the shell expanded."""
    local = os.path.expanduser("~").rstrip("/\\")
    zone = home.strip("/").split("/")[0]
    if not local or local == "/" or path.startswith(f"/{zone}/") or path == f"/{zone}":
        return False
    return path == local or path.startswith(local + "/")


def _normalized(path: str) -> str:
    """One ``/`` between names, ``.`` and ``..`` resolved (never above ``/``)."""
    return posixpath.normpath(re.sub("/+", "/", path)) if path != "/" else "/"
