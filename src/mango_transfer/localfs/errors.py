"""Translate ``OSError`` from local disk access into the MangoError tree.

One place decides what an errno means for the user, so the walker, the partial-file helpers and
the engine report "disk full" or "permission denied" with the same sentence.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from mango_transfer.errors import (
    DiskFull,
    LocalNotFound,
    MangoError,
    PermissionDenied,
    TransferFailed,
)

__all__ = ["os_error_to_mango", "translate_os_errors"]

_NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_TRANSIENT = frozenset({errno.EAGAIN, errno.EINTR, errno.EBUSY})


def os_error_to_mango(
    exc: OSError, path: str | os.PathLike[str] | None = None, *, partial: str | None = None
) -> MangoError:
    """Pick the most specific MangoError for a local ``OSError``.

    ``path`` wins over ``exc.filename`` because callers know the user-facing name (the final
    file, not its hidden partial). ``partial`` is named in a DiskFull message so the user knows
    the bytes already written are kept for resume.
    """
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return LocalNotFound("no such file or folder", path=where)
    if isinstance(exc, PermissionError):
        return PermissionDenied(f"permission denied ({reason})", path=where,
                                hint="check the file permissions of this local path")
    if exc.errno in _NO_SPACE:
        return DiskFull(f"no space left on the local disk ({reason})", path=where, partial=partial)
    return TransferFailed(f"local I/O error ({reason})", path=where,
                          retryable=exc.errno in _TRANSIENT)


@contextmanager
def translate_os_errors(
    path: str | os.PathLike[str] | None = None, *, partial: str | None = None
) -> Iterator[None]:
    """Re-raise any ``OSError`` in the block as a MangoError, chained with ``from``."""
    try:
        yield
    except OSError as exc:
        raise os_error_to_mango(exc, path, partial=partial) from exc
