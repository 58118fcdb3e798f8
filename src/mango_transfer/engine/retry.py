"""One retry rule for every step of a run: what is retried, how often, and how long to wait.

A step that raises a :class:`MangoError` is tried again when the error says it may help
(``retryable``: a reset connection, a busy server, a checksum mismatch), at most ``--retries``
times (an error class may allow fewer: ``max_retries``, one for a verification mismatch),
after ``--retry-backoff`` seconds doubled for each further attempt and capped at a minute
(``TransferOptions.backoff``).
Anything else is raised at once, and so is the last failure: the caller decides what a
failure means there (one file failed, one folder's files fail, or the run stops). A *fatal*
error (``fatal``: refused credentials, a broken configuration) would fail every file the same
way, so no caller turns it into one file's failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from mango_transfer.engine.options import TransferOptions
from mango_transfer.errors import MangoError

__all__ = ["retrying"]

T = TypeVar("T")


async def retrying(operation: Callable[[], Awaitable[T]], options: TransferOptions, *,
                   on_retry: Callable[[], None] | None = None) -> T:
    """``await operation()``, retried as the module docstring says; ``on_retry`` is called
    before each new attempt (the run counts them)."""
    attempt = 0
    while True:
        try:
            return await operation()
        except MangoError as exc:
            attempt += 1
            allowed = options.retries if exc.max_retries is None else exc.max_retries
            if exc.fatal or not exc.retryable or attempt > allowed:
                raise
            if on_retry is not None:
                on_retry()
            await anyio.sleep(options.backoff(attempt))
