"""Changes to the namespace tree, with the checks and the partial failures of iRODS 5's catalog.

Shared by the API handlers that create, rename, move, trash and delete: the rules live here
once. Where the real server is not atomic, neither are we, and each such case says so:

- a rename that also moves (``a/x`` to ``b/y``) first renames in place (``a/y``), then moves.
  Any failure of the move rolls both back, except a missing ``b``: then the agent returns
  without a rollback and holds the in-place rename in its open transaction, which its next
  committing call on that connection makes permanent and its end discards. We apply the
  rename at once and keep an undo on the connection for its end (``undo_uncommitted``); other
  connections see it meanwhile, where on iRODS they would not (and would wait on its rows);
- a forced recursive delete removes what it may, object by object, and reports the last
  failure (typically CAT_COLLECTION_NOT_EMPTY for what it had to leave).

Permissions are iRODS 5's: renaming or moving needs ``own`` on what moves and write on the
collection it goes to (a collection also needs write on the one it leaves); deleting needs
``delete_object`` on what goes (``write`` is not enough) and, for a collection, write on its
parent.
"""

from __future__ import annotations

import sqlite3

from ..catalog import ACCESS_LEVELS, OWN, READ, WRITE, User, basename, parent_of, timestamp
from ..codes import (
    CANT_RM_NON_EMPTY_HOME_COLL,
    CAT_COLLECTION_NOT_EMPTY,
    CAT_NAME_EXISTS_AS_COLLECTION,
    CAT_NAME_EXISTS_AS_DATAOBJ,
    CAT_NO_ACCESS_PERMISSION,
    CAT_NO_ROWS_FOUND,
    CAT_RECURSIVE_MOVE,
    CAT_UNKNOWN_COLLECTION,
    HIERARCHY_ERROR,
    IrodsError,
)
from ..namespace import require
from ..state import ConnectionState, ServerState

DELETE_OBJECT = ACCESS_LEVELS["delete_object"]


# -- create ---------------------------------------------------------------------------------
def _insert_child(server: ServerState, path: str, user: User) -> None:
    catalog = server.catalog
    parent = catalog.coll(parent_of(path))
    assert parent is not None
    inherit = parent["coll_inheritance"] == "1"
    coll_id = catalog.insert_coll(path, user, inheritance="1" if inherit else "")
    if inherit:
        catalog.copy_access(parent["coll_id"], coll_id)
    catalog.set_access(coll_id, user.id, OWN)
    catalog.touch_coll(parent["coll_id"])


def make_collections(server: ServerState, path: str, user: User, check_permission: bool = True) -> bool:
    """Create ``path`` and missing parents; True when something was created."""
    catalog = server.catalog
    missing: list[str] = []
    current = path
    while catalog.coll(current) is None:
        if catalog.data_object(current) is not None:
            raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, current)
        missing.append(current)
        current = parent_of(current)
    if not missing:
        return False
    existing = catalog.coll(current)
    assert existing is not None
    if check_permission:
        require(catalog, existing["coll_id"], user, WRITE)
    for name in reversed(missing):
        _insert_child(server, name, user)
    return True


# -- delete ---------------------------------------------------------------------------------
def delete_object(server: ServerState, user: User, row: sqlite3.Row, admin: bool = False) -> None:
    """A forced unlink: the catalog row and the bytes go; the collection's mtime moves."""
    catalog = server.catalog
    require(catalog, row["data_id"], user, DELETE_OBJECT, admin_mode=admin)
    if row["data_id"] in server.open_replicas:
        raise IrodsError(HIERARCHY_ERROR, "object is open for write")
    with catalog.transaction():
        catalog.delete_data(row["data_id"])
        catalog.touch_coll(row["coll_id"])
    server.vault.remove(row["data_id"])


def remove_empty_collection(server: ServerState, user: User, path: str, admin: bool = False) -> None:
    """Unregister one collection (the catalog's ``_delColl``): its parent must exist and be
    writable, the collection must exist, be deletable and be empty."""
    catalog = server.catalog
    parent = catalog.coll(parent_of(path))
    if parent is None:
        raise IrodsError(CAT_UNKNOWN_COLLECTION, f"collection '{parent_of(path)}' is unknown")
    require(catalog, parent["coll_id"], user, WRITE, admin_mode=admin)
    coll = catalog.coll(path)
    if coll is None:
        raise IrodsError(CAT_UNKNOWN_COLLECTION, path)
    require(catalog, coll["coll_id"], user, DELETE_OBJECT, admin_mode=admin)
    if catalog.has_children(coll):
        raise IrodsError(CAT_COLLECTION_NOT_EMPTY, path)
    with catalog.transaction():
        catalog.delete_coll(coll["coll_id"])
        catalog.touch_coll(parent["coll_id"])


def _visible(server: ServerState, user: User, object_id: int, admin: bool) -> bool:
    return admin or user.is_admin or server.catalog.access_level(object_id, user) >= READ


def delete_tree(server: ServerState, user: User, coll: sqlite3.Row, admin: bool = False,
                keep_root: bool = False) -> None:
    """A forced recursive remove, as iRODS walks it: every object and subcollection the user
    can see is removed if it may be; then the collection itself, unless ``keep_root`` (the
    trash home that irmtrash empties). Nothing is rolled back: the last failure is raised
    after everything possible is gone."""
    catalog = server.catalog
    path = coll["coll_name"]
    if _is_home(server, path) and catalog.has_children(coll):
        raise IrodsError(CANT_RM_NON_EMPTY_HOME_COLL, path)
    failure: IrodsError | None = None
    for row in catalog.data_in_colls([coll["coll_id"]]):
        if not _visible(server, user, row["data_id"], admin):
            continue
        try:
            delete_object(server, user, row, admin)
        except IrodsError as error:
            failure = error
    children = catalog.db.execute(
        "SELECT * FROM colls WHERE parent_coll_name = ? AND coll_name <> ? ORDER BY coll_name",
        (path, path)).fetchall()
    for child in children:
        if not _visible(server, user, child["coll_id"], admin):
            continue
        try:
            delete_tree(server, user, child, admin)
        except IrodsError as error:
            failure = error
    if not keep_root:
        try:
            remove_empty_collection(server, user, path, admin)
        except IrodsError as error:
            failure = error
    if failure is not None:
        raise failure


def _is_home(server: ServerState, path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == server.config.zone and parts[2] == "home"


# -- rename and move ------------------------------------------------------------------------
def _no_clash(server: ServerState, coll: sqlite3.Row, name: str) -> None:
    """Nothing named ``name`` in ``coll`` yet: neither a data object nor a subcollection."""
    catalog = server.catalog
    path = f"{coll['coll_name'].rstrip('/')}/{name}"
    if catalog.data_object(path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, path)
    if catalog.coll(path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_COLLECTION, path)


def _rename_object_in_place(server: ServerState, user: User, data_id: int, name: str) -> None:
    catalog = server.catalog
    row = catalog.data_by_id(data_id)
    assert row is not None
    require(catalog, data_id, user, OWN)
    coll = catalog.coll(row["coll_name"])
    assert coll is not None
    _no_clash(server, coll, name)
    catalog.update_data(data_id, data_name=name)
    catalog.touch_coll(coll["coll_id"])


def _move_object(server: ServerState, user: User, data_id: int, target: sqlite3.Row) -> None:
    catalog = server.catalog
    require(catalog, target["coll_id"], user, WRITE)
    row = catalog.data_by_id(data_id)
    assert row is not None
    require(catalog, data_id, user, OWN)
    _no_clash(server, target, row["data_name"])
    catalog.update_data(data_id, coll_id=target["coll_id"], modify_ts=timestamp())
    catalog.touch_coll(target["coll_id"])
    catalog.touch_coll(row["coll_id"])


def _rename_collection_in_place(server: ServerState, user: User, path: str, name: str) -> str:
    catalog = server.catalog
    coll = catalog.coll(path)
    assert coll is not None
    require(catalog, coll["coll_id"], user, OWN)
    parent = catalog.coll(parent_of(path))
    assert parent is not None
    _no_clash(server, parent, name)
    renamed = f"{parent_of(path).rstrip('/')}/{name}"
    catalog.rename_coll_tree(path, renamed)
    catalog.touch_coll(coll["coll_id"])
    return renamed


def _move_collection(server: ServerState, user: User, path: str, target: sqlite3.Row) -> None:
    catalog = server.catalog
    require(catalog, target["coll_id"], user, WRITE)
    coll = catalog.coll(path)
    assert coll is not None
    require(catalog, coll["coll_id"], user, OWN)
    old_parent = catalog.coll(parent_of(path))
    assert old_parent is not None
    require(catalog, old_parent["coll_id"], user, WRITE)
    _no_clash(server, target, basename(path))
    target_name = target["coll_name"]
    if target_name == path or target_name.startswith(path + "/"):
        raise IrodsError(CAT_RECURSIVE_MOVE, f"{path} into its own subtree")
    moved = f"{target_name.rstrip('/')}/{basename(path)}"
    catalog.rename_coll_tree(path, moved)
    catalog.touch_coll(coll["coll_id"])
    catalog.touch_coll(target["coll_id"])
    catalog.touch_coll(old_parent["coll_id"])


def undo_uncommitted(connection: ConnectionState) -> None:
    """The connection ends: what its agent held uncommitted is rolled back."""
    while connection.uncommitted:
        connection.uncommitted.pop()()


def _undo_rename(server: ServerState, source: str, renamed: str, data_id: int | None) -> None:
    """Put an in-place rename back, unless something else has changed those names since."""
    catalog = server.catalog
    if data_id is not None:
        row = catalog.data_by_id(data_id)
        if (row is not None and f"{row['coll_name']}/{row['data_name']}" == renamed
                and catalog.data_object(source) is None and catalog.coll(source) is None):
            catalog.update_data(data_id, data_name=basename(source))
    elif catalog.coll(renamed) is not None and catalog.coll(source) is None \
            and catalog.data_object(source) is None:
        with catalog.transaction():
            catalog.rename_coll_tree(renamed, source)


def rename(server: ServerState, user: User, source: str, target: str, collection: bool,
           connection: ConnectionState | None = None) -> None:
    """DATA_OBJ_RENAME of a data object (``collection`` False) or a collection at ``source``.

    In two steps, as iRODS does: a new last name is given in place, then the object moves to
    the target's collection. A missing target collection is found only after the first step,
    which then stays, held for ``connection`` as its agent would hold it; any other failure of
    the second step undoes both.
    """
    catalog = server.catalog
    row = None if collection else catalog.data_object(source)
    if (catalog.coll(source) is None) if collection else (row is None):
        raise IrodsError(CAT_NO_ROWS_FOUND, source)
    if row is not None and catalog.access_level(row["data_id"], user) < DELETE_OBJECT:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, source)
    missing_target: IrodsError | None = None
    with catalog.transaction():
        current = source
        if basename(source) != basename(target):
            if row is not None:
                _rename_object_in_place(server, user, row["data_id"], basename(target))
            else:
                current = _rename_collection_in_place(server, user, source, basename(target))
        if parent_of(source) != parent_of(target):
            destination = catalog.coll(parent_of(target))
            if destination is None:
                missing_target = IrodsError(CAT_UNKNOWN_COLLECTION, parent_of(target))
            elif row is not None:
                _move_object(server, user, row["data_id"], destination)
            else:
                _move_collection(server, user, current, destination)
    if missing_target is not None:
        renamed = f"{parent_of(source).rstrip('/')}/{basename(target)}"
        if connection is not None and renamed != source:
            data_id = None if row is None else int(row["data_id"])
            connection.uncommitted.append(lambda: _undo_rename(server, source, renamed, data_id))
        raise missing_target
