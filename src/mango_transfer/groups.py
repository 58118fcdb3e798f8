"""Task groups raise ``ExceptionGroup``; the retry loop and the CLI want one classified error."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mango_transfer.errors import MangoError

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["first_mango_error", "single_errors"]


def first_mango_error(group: BaseExceptionGroup[Any]) -> MangoError | None:
    """The first MangoError inside a (nested) exception group, or None."""
    for exc in group.exceptions:
        if isinstance(exc, MangoError):
            return exc
        if isinstance(exc, BaseExceptionGroup) and (found := first_mango_error(exc)) is not None:
            return found
    return None


@contextmanager
def single_errors() -> Iterator[None]:
    """Re-raise a task group's ExceptionGroup as its first MangoError (chained), so callers and
    the retry loop see one classified error; groups without one pass through unchanged."""
    try:
        yield
    except BaseExceptionGroup as group:
        mango = first_mango_error(group)
        if mango is None:
            raise
        raise mango from group
