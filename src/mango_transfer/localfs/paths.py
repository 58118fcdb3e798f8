"""Local paths of a transfer: relative paths in ``/`` form, and safe targets for remote names.

Upload: a local relative path becomes ``a/b/c`` (``/`` only, also on Windows, where
``os.path.join`` would put ``\\`` into a data object name); ``irods/paths.py`` joins it to the
collection.

Download: a remote name is untrusted input (any user who can write to the collection chose it).
A name that would land outside the destination folder is *refused* with :class:`UnsafePath`,
never cleaned up, so nothing is written where the user did not ask.
"""

from __future__ import annotations

import ntpath
import os
import re
from pathlib import PurePath, PureWindowsPath
from typing import TypeVar

from mango_transfer.errors import UnsafePath

__all__ = ["WINDOWS_PATH_HINT", "local_target", "looks_like_windows_path", "to_posix_relative",
           "windows_drive_or_unc"]

_DRIVE_OR_UNC = re.compile(r"^(?:[A-Za-z]:(?:[\\/]|$)|\\\\[^\\/]+[\\/])")
P = TypeVar("P", bound=PurePath)
WINDOWS_PATH_HINT = ("this looks like a Windows path; on this machine write a path with / "
                     "(e.g. /mnt/data/study), and iRODS paths always use / "
                     "(e.g. /ZONE/home/USER/study)")


def windows_drive_or_unc(text: str) -> bool:
    """``C:\\data``, ``D:/x``, ``E:`` or ``\\\\server\\share\\...``: a path only Windows reads."""
    return bool(_DRIVE_OR_UNC.match(text))


def looks_like_windows_path(text: str) -> bool:
    """A drive letter or UNC path, or a relative path written with backslashes only
    (``data\\sub-01``): on a POSIX system, almost surely typed for Windows."""
    return windows_drive_or_unc(text) or ("\\" in text and "/" not in text)

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


def to_posix_relative(relative: PurePath) -> str:
    """A relative local path as ``a/b/c``, whatever the platform's separator."""
    if relative.is_absolute() or relative.anchor:
        raise ValueError(f"expected a relative path, got {relative}")
    return "/".join(part for part in relative.parts if part not in ("", "."))


_NAME_MAX = 255  # bytes per name on Linux/macOS file systems, UTF-16 units on NTFS
_WINDOWS_FORBIDDEN = frozenset('<>"|?*') | {chr(code) for code in range(1, 32)}


def _component_problem(name: str, windows: bool) -> str | None:
    """Why one path component cannot be created locally (unsafe, or impossible here), or
    None."""
    if name in ("", ".", ".."):
        return f"contains the path component {name!r}"
    if "\0" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash, a folder separator on Windows"
    if windows and ":" in name:
        return "contains ':', a drive or stream separator on Windows"
    if windows and (bad := sorted(set(name) & _WINDOWS_FORBIDDEN)):
        shown = ", ".join(repr(char) for char in bad)
        return f"contains {shown}, not allowed in a Windows file name"
    if windows and name[-1] in ". ":
        return "ends with a dot or a space, which Windows drops from file names"
    if windows and name.split(".")[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        return "is a reserved device name on Windows"
    length = (len(name.encode("utf-16-le", "surrogatepass")) // 2 if windows
              else len(name.encode("utf-8", "surrogateescape")))
    if length > _NAME_MAX:
        unit = "characters" if windows else "bytes"
        return (f"has a part {length} {unit} long; file names here hold at most "
                f"{_NAME_MAX}")
    return None


def local_target(dest_dir: P, relative: str, *, windows: bool = os.name == "nt") -> P:
    """The local path for a remote ``relative`` name (``/``-separated), inside ``dest_dir``.

    Refuses absolute names, ``..``/``.``/empty components, backslashes, NUL and names longer
    than a file system holds (255) on every platform (backslash too, so a collection downloads
    the same way on Linux and Windows), and ``:``, ``<>"|?*``, control characters, a trailing dot
    or space and device names on Windows. ``windows`` is a parameter so the rules are testable
    anywhere; ``dest_dir`` may be any path flavour (a ``PureWindowsPath`` with a drive letter or
    a UNC share in the tests), and the result is of that flavour.
    """
    if relative.startswith("/"):
        raise UnsafePath("remote name is an absolute path", path=relative)
    for name in relative.split("/"):
        if problem := _component_problem(name, windows):
            raise UnsafePath(f"remote name {problem}", path=relative)
    target = dest_dir.joinpath(*relative.split("/"))
    # Belt and braces: whatever the rules above missed, the result must stay inside dest_dir
    # (checked with the path rules of the destination's own flavour).
    flavour = ntpath if isinstance(dest_dir, PureWindowsPath) else os.path
    base = flavour.normpath(flavour.abspath(str(dest_dir)))
    inside = flavour.normpath(flavour.abspath(str(target)))
    if flavour.commonpath([base, inside]) != base:
        raise UnsafePath("remote name would leave the destination folder", path=relative)
    return target
