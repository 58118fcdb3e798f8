"""Replace a small file atomically and durably: the one way every state, log and settings file
of mango-transfer is written.

The text goes to a hidden temporary file beside the target (same folder, so same file
system), is flushed to the disk (``fsync``), gets its mode, and is renamed over the target. A
crash, even SIGKILL, leaves the old file or the new one, never half of one, and never a file
that names bytes not yet on the disk. A killed writer can leave its temporary behind:
:func:`leftover_temporaries` finds them.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mango_transfer.localfs.portable import replace

__all__ = ["leftover_temporaries", "write_atomically"]


def _stem(path: Path) -> str:
    """The hidden name temporaries of ``path`` start with."""
    return path.name if path.name.startswith(".") else f".{path.name}"


def write_atomically(path: Path, text: str | bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` (UTF-8; bytes as they are), see the module docstring.
    Blocking. ``mode`` defaults to owner-only: these files name remote paths and settings."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{_stem(path)}.", suffix=".tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def leftover_temporaries(path: Path) -> Iterator[Path]:
    """Temporaries of ``path`` that a killed :func:`write_atomically` left behind."""
    return path.parent.glob(glob.escape(_stem(path)) + "*.tmp")
