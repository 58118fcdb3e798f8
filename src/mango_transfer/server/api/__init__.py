"""API handlers, one module per family; ``HANDLERS`` maps iRODS API numbers to coroutines."""

from __future__ import annotations

from . import (
    admin,
    auth,
    bulk,
    collections,
    copy,
    data,
    metadata,
    put_get,
    query,
    rsync,
    specific_query,
    touch,
    user_admin,
)
from .base import HANDLERS, Reply

__all__ = ["HANDLERS", "Reply", "admin", "auth", "bulk", "collections", "copy", "data",
           "metadata", "put_get", "query", "rsync", "specific_query",
           "touch", "user_admin"]
