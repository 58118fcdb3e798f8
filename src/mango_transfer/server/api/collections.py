"""Collections: create (recursive), remove (recursive, to trash or forced), rename."""

from __future__ import annotations

import sqlite3

from ..catalog import OWN, WRITE, User, parent_of
from ..codes import (
    CAT_COLLECTION_NOT_EMPTY,
    CAT_NAME_EXISTS_AS_COLLECTION,
    CAT_NAME_EXISTS_AS_DATAOBJ,
    CAT_UNKNOWN_COLLECTION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    HIERARCHY_ERROR,
    USER_FILE_DOES_NOT_EXIST,
    IrodsError,
)
from ..namespace import ADMIN_KW, admin_mode, collection_path, require
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, user_of


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


@api(681)
async def coll_create(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    path = collection_path(element.get_str("collName"))
    if path is None:
        return Reply()
    recursive = "recursiveOpr" in element.kvp()
    catalog = server.catalog
    if catalog.data_object(path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, path)
    if catalog.coll(path) is not None:
        if recursive:
            return Reply()
        raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, path)
    if not recursive:
        parent = catalog.coll(parent_of(path))
        if parent is None:
            raise IrodsError(CAT_UNKNOWN_COLLECTION, path)
    with catalog.transaction():
        make_collections(server, path, user)
    return Reply()


@api(679)
async def rm_coll(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    path = collection_path(element.get_str("collName"))
    kvp = element.kvp()
    catalog = server.catalog
    coll = catalog.coll(path) if path else None
    if coll is None:
        raise IrodsError(USER_FILE_DOES_NOT_EXIST, str(path))
    trash_root = f"/{server.config.zone}/trash/"
    deleting = "forceFlag" in kvp or coll["coll_name"].startswith(trash_root)
    # Only a deletion checks the admin keyword; a move to the trash ignores it, as in iRODS 5.
    admin = admin_mode(user, kvp) if deleting else ADMIN_KW in kvp and user.is_admin
    require(catalog, coll["coll_id"], user, WRITE, admin_mode=admin)
    if "recursiveOpr" not in kvp and catalog.has_children(coll):
        raise IrodsError(CAT_COLLECTION_NOT_EMPTY, str(path))
    colls = catalog.subtree_colls(coll["coll_name"])
    objects = catalog.data_in_colls([c["coll_id"] for c in colls])
    for row in objects:
        require(catalog, row["data_id"], user, WRITE, admin_mode=admin)
        if row["data_id"] in server.open_replicas:
            raise IrodsError(HIERARCHY_ERROR, "an object in the collection is open for write")
    if deleting:
        _delete_tree(server, colls, objects)
    else:
        _move_tree_to_trash(server, user, coll["coll_name"])
    return Reply()


def _delete_tree(server: ServerState, colls: list[sqlite3.Row], objects: list[sqlite3.Row]) -> None:
    catalog = server.catalog
    with catalog.transaction():
        for row in objects:
            catalog.delete_data(row["data_id"])
        for coll in colls:
            catalog.delete_coll(coll["coll_id"])
        parent = catalog.coll(parent_of(colls[-1]["coll_name"]))
        if parent is not None:
            catalog.touch_coll(parent["coll_id"])
    for row in objects:
        server.vault.remove(row["data_id"])


def _move_tree_to_trash(server: ServerState, user: User, path: str) -> None:
    from .data import _ensure_trash_parent, _trash_path

    catalog = server.catalog
    target = _trash_path(server, path)
    with catalog.transaction():
        _ensure_trash_parent(server, target, user)
        if catalog.coll(target) is not None:
            target += f".{catalog.new_object_id('trash')}"
        parent = catalog.coll(parent_of(path))
        catalog.rename_coll_tree(path, target)
        if parent is not None:
            catalog.touch_coll(parent["coll_id"])


def rename_collection(server: ServerState, user: User, source: str, target: str) -> None:
    catalog = server.catalog
    source_path, target_path = collection_path(source), collection_path(target)
    coll = catalog.coll(source_path) if source_path else None
    if coll is None or source_path is None or target_path is None:
        raise IrodsError(CAT_UNKNOWN_COLLECTION, source)
    require(catalog, coll["coll_id"], user, WRITE)
    if catalog.coll(target_path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_COLLECTION, target_path)
    if catalog.data_object(target_path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, target_path)
    new_parent = catalog.coll(parent_of(target_path))
    if new_parent is None or target_path.startswith(source_path + "/"):
        raise IrodsError(CAT_UNKNOWN_COLLECTION, target_path)
    require(catalog, new_parent["coll_id"], user, WRITE)
    with catalog.transaction():
        old_parent = catalog.coll(parent_of(source_path))
        catalog.rename_coll_tree(source_path, target_path)
        catalog.touch_coll(new_parent["coll_id"])
        if old_parent is not None:
            catalog.touch_coll(old_parent["coll_id"])
