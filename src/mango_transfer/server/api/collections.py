"""Collections: create (recursive) and remove, with iRODS 5's three ways to remove.

- not recursive: the collection is unregistered at once if it is empty (no trash);
- recursive: it moves to the trash (see ``trash.py``);
- recursive and forced, or irmtrash's: it is deleted, object by object (see
  ``tree.delete_tree``).

Renames and moves go through DATA_OBJ_RENAME (``data.py``, ``tree.rename``).
"""

from __future__ import annotations

from ..catalog import parent_of
from ..codes import (
    CAT_NAME_EXISTS_AS_DATAOBJ,
    CAT_UNKNOWN_COLLECTION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    USER_FILE_DOES_NOT_EXIST,
    USER_INCOMPATIBLE_PARAMS,
    IrodsError,
)
from ..namespace import admin_mode, collection_path
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, user_of
from .trash import ADMIN_RMTRASH_KW, RMTRASH_KW, is_trash_home, rmtrash_mode, trash_collection
from .tree import delete_tree, make_collections, remove_empty_collection


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
    kvp = element.kvp()
    recursive = "recursiveOpr" in kvp
    if recursive and "replNum" in kvp:
        raise IrodsError(USER_INCOMPATIBLE_PARAMS, "a replica number and recursion")
    raw = element.get_str("collName")
    path = collection_path(raw)
    if path is None:
        raise IrodsError(USER_FILE_DOES_NOT_EXIST, raw)
    admin = "irodsAdmin" in kvp and user.is_admin  # only a deletion refuses it to a rodsuser
    rmtrash = recursive and (RMTRASH_KW in kvp or ADMIN_RMTRASH_KW in kvp)
    if not recursive:
        remove_empty_collection(server, user, path, admin)
    elif "forceFlag" not in kvp and not rmtrash:
        trash_collection(server, user, path)
    else:
        catalog = server.catalog
        coll = catalog.coll(path)
        if coll is None:
            if catalog.data_object(path) is not None:
                raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, path)
            raise IrodsError(USER_FILE_DOES_NOT_EXIST, path)
        admin = admin_mode(user, kvp)
        rmtrash = rmtrash_mode(user, kvp, path)
        delete_tree(server, user, coll, admin or ADMIN_RMTRASH_KW in kvp,
                    keep_root=rmtrash and is_trash_home(path))
    return Reply()
