"""iRODS paths: ``/``-separated, absolute, joined and split without the local platform's rules.

``posixpath`` on every platform, so a Windows upload never puts ``\\`` into a data object name.
"""

from __future__ import annotations

import posixpath

__all__ = ["irods_join", "irods_relative"]


def irods_join(collection: str, relative: str) -> str:
    """``collection/relative`` with exactly one ``/`` between them (``relative`` may be empty)."""
    base = collection.rstrip("/") or "/"
    if not relative:
        return base
    return posixpath.join(base, relative.lstrip("/"))


def irods_relative(collection: str, path: str) -> str:
    """The part of an absolute iRODS ``path`` below ``collection`` (``""`` for the collection).

    Used on GenQuery rows (``COLL_NAME/DATA_NAME``); a row outside the collection is a bug in
    the query, reported rather than mapped somewhere odd.
    """
    base = collection.rstrip("/")
    if path == base:
        return ""
    if not path.startswith(base + "/"):
        raise ValueError(f"{path} is not inside {collection}")
    return path[len(base) + 1 :]
