"""Removal to the trash, as iRODS 5 lays it out and resolves name clashes.

What a user removes without force goes to *their* trash, ``/ZONE/trash/home/USER/``, under its
path below ``/ZONE/`` without the leading ``home/`` and, for the user's own home, without
``home/USER/``: ``/Z/home/alice/a/b`` becomes ``/Z/trash/home/alice/a/b`` and
``/Z/home/bob/shared/x`` (removed by alice) ``/Z/trash/home/alice/bob/shared/x``. A path already
in the trash is trashed again, one level deeper (``/Z/trash/home/alice/trash/home/alice/...``):
only a forced removal really deletes. The missing parents are made first, and stay even when
the move then fails. When the name is taken in the trash, the one rule for both kinds of
object is iRODS's: append ``.`` and a random 32-bit number, and try again.
"""

from __future__ import annotations

import secrets

from ..catalog import READ, User, parent_of
from ..codes import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_NAME_EXISTS_AS_COLLECTION,
    CAT_NAME_EXISTS_AS_DATAOBJ,
    CAT_NO_ACCESS_PERMISSION,
    SYS_INVALID_FILE_PATH,
    USER_INPUT_PATH_ERR,
    IrodsError,
)
from ..state import ServerState
from .tree import DELETE_OBJECT, make_collections, rename

RMTRASH_KW, ADMIN_RMTRASH_KW = "irodsRmTrash", "irodsAdminRmTrash"  # irmtrash's keywords


def is_trash_path(path: str) -> bool:
    """``/ZONE/trash/...``, whatever the zone (rcMisc's isTrashPath)."""
    parts = path.split("/", 3)
    return len(parts) == 4 and parts[0] == "" and parts[2] == "trash"


def is_trash_home(path: str) -> bool:
    """``/ZONE/trash/home`` or ``/ZONE/trash/home/NAME``: what irmtrash empties but keeps."""
    parts = path.split("/")
    return len(parts) in (4, 5) and parts[0] == "" and parts[2:4] == ["trash", "home"] \
        and all(parts[4:])


def rmtrash_mode(user: User, options: dict[str, str], path: str) -> bool:
    """Whether a removal is irmtrash's (which deletes, and only in the trash)."""
    if ADMIN_RMTRASH_KW in options:
        if not is_trash_path(path):
            raise IrodsError(SYS_INVALID_FILE_PATH, f"{path} is not in the trash")
        if not user.is_admin:
            raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "irmtrash -M needs a rodsadmin")
        return True
    if RMTRASH_KW in options:
        if not is_trash_path(path):
            raise IrodsError(SYS_INVALID_FILE_PATH, f"{path} is not in the trash")
        return True
    return False


def trash_path(zone: str, user: User, path: str) -> str:
    """Where ``user``'s removal of ``path`` lands (rsMkTrashPath)."""
    prefix = f"/{zone}/"
    rest = path[len(prefix):] if path.startswith(prefix) else ""
    if not rest:
        raise IrodsError(USER_INPUT_PATH_ERR, f"{path} is too short to trash")
    if rest.startswith("home/"):
        rest = rest[len("home/"):]
        own = user.name
        if rest.startswith(own) and rest[len(own):len(own) + 1] in ("/", "#"):
            rest = rest.split("/", 1)[1] if "/" in rest else ""
    return f"/{zone}/trash/home/{user.name}/{rest}"


def with_random_suffix(path: str) -> str:
    """The trash's answer to a name clash: ``name.N``, N a random unsigned 32-bit number."""
    return f"{path}.{secrets.randbits(32)}"


def _prepare(server: ServerState, user: User, path: str) -> str:
    target = trash_path(server.config.zone, user, path)
    with server.catalog.transaction():
        make_collections(server, parent_of(target), user, check_permission=False)
    return target


def trash_object(server: ServerState, user: User, path: str) -> None:
    """Unlink without force: the data object moves to the trash (needs ``own`` to move)."""
    _move(server, user, path, _prepare(server, user, path), collection=False,
          clashes=(CAT_NAME_EXISTS_AS_DATAOBJ, CAT_NAME_EXISTS_AS_COLLECTION))


def trash_collection(server: ServerState, user: User, path: str) -> None:
    """Recursive remove without force: the collection moves to the trash, objects and all (a
    path naming no collection fails there, after the trash parents were made).

    Before, iRODS 5.0.2 asks whether the user may delete the objects below, but its query
    checks the first object only (by collection and name, among those the user can see): if
    that one may not be deleted nothing moves, else everything does. We check the same one.
    """
    catalog = server.catalog
    first = _first_visible_object(server, user, path)
    if first is not None and catalog.access_level(first, user) < DELETE_OBJECT:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, f"may not delete what is in {path}")
    _move(server, user, path, _prepare(server, user, path), collection=True,
          clashes=(CAT_NAME_EXISTS_AS_COLLECTION,))


def _move(server: ServerState, user: User, path: str, target: str, collection: bool,
          clashes: tuple[int, ...]) -> None:
    """Rename into the trash, with a fresh suffix while the name is taken (iRODS retries
    forever; sixteen clashes in a row on random 32-bit numbers would mean a bug here)."""
    for _ in range(16):
        try:
            rename(server, user, path, target, collection)
            return
        except IrodsError as error:
            if error.code not in clashes:
                raise
            clash = error
        target = with_random_suffix(target)
    raise clash


def _first_visible_object(server: ServerState, user: User, path: str) -> int | None:
    prefix = path.rstrip("/") + "/"
    ids = [user.id]
    public = server.catalog.public_group_id()
    if public is not None:
        ids.append(public)
    marks = ",".join("?" * len(ids))
    row = server.catalog.db.execute(
        "SELECT d.data_id FROM data d JOIN colls c ON c.coll_id = d.coll_id "
        "WHERE (c.coll_name = ? OR substr(c.coll_name, 1, ?) = ?) "
        f"AND EXISTS (SELECT 1 FROM access x WHERE x.object_id = d.data_id AND x.user_id IN ({marks}) "
        "AND x.access_type_id >= ?) "
        f"AND EXISTS (SELECT 1 FROM access y WHERE y.object_id = c.coll_id AND y.user_id IN ({marks}) "
        "AND y.access_type_id >= ?) "
        "ORDER BY c.coll_name, d.data_name LIMIT 1",
        (path, len(prefix), prefix, *ids, READ, *ids, READ)).fetchone()
    return None if row is None else int(row[0])
