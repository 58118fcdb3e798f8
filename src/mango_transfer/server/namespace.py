"""Logical-path rules and permission checks, matching what a live 5.0.2 zone does.

Data-object paths are *not* normalised by iRODS (``a//b`` or ``..`` simply name nothing), while
collection paths get their trailing slash removed; the error codes below are the observed ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from .catalog import READ, Catalog, User
from .codes import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_NO_ACCESS_PERMISSION,
    CAT_UNKNOWN_COLLECTION,
    SYS_INVALID_FILE_PATH,
    SYS_INVALID_INPUT_PARAM,
    USER_INPUT_PATH_ERR,
    USER_PACKSTRUCT_INPUT_ERR,
    IrodsError,
)

MAX_PATH_BYTES = 1088
ADMIN_KW = "irodsAdmin"


def _check_length(path: str) -> None:
    if len(path.encode("utf-8", errors="surrogateescape")) > MAX_PATH_BYTES:
        raise IrodsError(USER_PACKSTRUCT_INPUT_ERR, "path too long")


def data_path(path: str) -> str:
    _check_length(path)
    if not path.startswith("/"):
        raise IrodsError(SYS_INVALID_FILE_PATH, f"relative path {path!r}")
    if path.endswith("/"):
        raise IrodsError(USER_INPUT_PATH_ERR, f"trailing slash in {path!r}")
    parts = path.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        raise IrodsError(CAT_UNKNOWN_COLLECTION, f"no collection for {path!r}")
    return path


def collection_path(path: str) -> str | None:
    """Normalised collection path, or None when iRODS would silently do nothing (``a//b``)."""
    _check_length(path)
    if not path.startswith("/"):
        raise IrodsError(SYS_INVALID_INPUT_PARAM, f"relative path {path!r}")
    if path != "/":
        path = path.rstrip("/") or "/"
    parts = path.split("/")[1:]
    if any(part == ".." for part in parts):
        raise IrodsError(USER_INPUT_PATH_ERR, f"'..' in {path!r}")
    if any(part in ("", ".") for part in parts) and path != "/":
        return None
    return path


def access(catalog: Catalog, object_id: int, user: User) -> int:
    return catalog.access_level(object_id, user)


def admin_mode(user: User, options: Mapping[str, str]) -> bool:
    """Whether a request asks for admin mode (``irodsAdmin``); only a rodsadmin may ask.

    iRODS 5 refuses anyone else with CAT_INSUFFICIENT_PRIVILEGE_LEVEL before the operation
    touches anything, rather than ignoring the keyword.
    """
    if ADMIN_KW not in options:
        return False
    if not user.is_admin:
        raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "admin mode needs a rodsadmin")
    return True


def require(catalog: Catalog, object_id: int, user: User, level: int, admin_mode: bool = False) -> None:
    if admin_mode and user.is_admin:
        return
    if catalog.access_level(object_id, user) < level:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, "access denied")


def visible_collection(catalog: Catalog, coll: sqlite3.Row, user: User) -> bool:
    """Without read on the parent collection an object is invisible, even to a rodsadmin."""
    return catalog.access_level(coll["coll_id"], user) >= READ


def visible(catalog: Catalog, user: User, path: str) -> sqlite3.Row | None:
    """The collection or data object at ``path`` as ``user`` can see it (a rodsadmin sees
    all): a collection needs read on itself, a data object read on itself and on its
    collection (live 5.0.2: stat and GenQuery agree). None when hidden or absent."""
    coll = catalog.coll(path.rstrip("/") or "/")
    if coll is not None:
        return coll if user.is_admin or catalog.access_level(coll["coll_id"], user) >= READ else None
    row = catalog.data_object(path) if path.startswith("/") else None
    if row is None or user.is_admin:
        return row
    parent = catalog.coll(row["coll_name"])
    if parent is None or not visible_collection(catalog, parent, user):
        return None
    return row if catalog.access_level(row["data_id"], user) >= READ else None
