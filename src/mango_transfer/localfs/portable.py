"""The few file-system calls that differ between POSIX and Windows, in one guarded place.

- :data:`BINARY`: ``os.O_BINARY`` on Windows (0 elsewhere). A file opened with ``os.open``
  without it is in text mode there, and every ``\\n`` written becomes ``\\r\\n``: a download
  would be corrupted.
- :func:`restrict`: owner-only permissions on an open file. ``os.fchmod`` exists on Windows
  only from Python 3.13, and Windows keeps no such bits anyway (its ACLs already make a file in
  the user's profile private), so there it does nothing.
- :func:`replace`: ``os.replace`` (atomic on both), retried for a moment on Windows, where a
  virus scanner or the search indexer briefly holding the target (or the new file) makes the
  rename fail with a sharing violation that a second try a few milliseconds later does not see.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["BINARY", "WINDOWS", "replace", "restrict"]

WINDOWS = os.name == "nt"
BINARY: int = getattr(os, "O_BINARY", 0)
_RENAME_TRIES = 10  # about 1.5 s in all, the time a scanner holds a fresh file


def restrict(fd: int, mode: int = 0o600) -> None:
    """Give the open file ``fd`` the POSIX ``mode`` (nothing to do on Windows)."""
    if hasattr(os, "fchmod") and not WINDOWS:
        os.fchmod(fd, mode)


def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rename ``source`` over ``target`` atomically (see the module docstring)."""
    for attempt in range(_RENAME_TRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if not WINDOWS or attempt == _RENAME_TRIES - 1 or Path(target).is_dir():
                raise
            time.sleep(0.03 * (attempt + 1))
