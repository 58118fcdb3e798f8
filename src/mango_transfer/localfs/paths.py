"""Local paths of a transfer: relative paths in ``/`` form, and safe targets for remote names.

Upload: a local relative path becomes ``a/b/c`` (``/`` only, also on Windows, where
``os.path.join`` would put ``\\`` into a data object name); ``irods/paths.py`` joins it to the
collection.

Download: a remote name is untrusted input (any user who can write to the collection chose it).
A name that would land outside the destination folder is *refused* with :class:`UnsafePath`,
never cleaned up, so nothing is written where the user did not ask.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from mango_transfer.errors import UnsafePath

__all__ = ["local_target", "to_posix_relative"]

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


def _component_problem(name: str, windows: bool) -> str | None:
    """Why one path component is unsafe to create locally, or None."""
    if name in ("", ".", ".."):
        return f"contains the path component {name!r}"
    if "\0" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash, a folder separator on Windows"
    if windows and ":" in name:
        return "contains ':', a drive or stream separator on Windows"
    if windows and name.split(".")[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        return "is a reserved device name on Windows"
    return None


def local_target(dest_dir: Path, relative: str, *, windows: bool = os.name == "nt") -> Path:
    """The local path for a remote ``relative`` name (``/``-separated), inside ``dest_dir``.

    Refuses absolute names, ``..``/``.``/empty components, backslashes and NUL on every platform
    (backslash too, so a collection downloads the same way on Linux and Windows), and ``:`` and
    device names on Windows. ``windows`` is a parameter so the rules are testable anywhere.
    """
    if relative.startswith("/"):
        raise UnsafePath("remote name is an absolute path", path=relative)
    for name in relative.split("/"):
        if problem := _component_problem(name, windows):
            raise UnsafePath(f"remote name {problem}", path=relative)
    target = dest_dir.joinpath(*relative.split("/"))
    # Belt and braces: whatever the rules above missed, the result must stay inside dest_dir.
    base = os.path.normpath(os.path.abspath(dest_dir))
    if os.path.commonpath([base, os.path.normpath(os.path.abspath(target))]) != base:
        raise UnsafePath("remote name would leave the destination folder", path=relative)
    return target
