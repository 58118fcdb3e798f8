"""Collections: create (recursive) and remove, with iRODS 5's three ways to remove.

- not recursive: the collection is unregistered at once if it is empty (no trash);
- recursive: it moves to the trash (see ``trash.py``);
- recursive and forced, or irmtrash's: it is deleted, object by object (see
  ``tree.delete_tree``).

Renames and moves go through DATA_OBJ_RENAME (``data.py``, ``tree.rename``).
"""

from __future__ import annotations

from ..catalog import WRITE, User, parent_of
from ..codes import (
    CAT_NAME_EXISTS_AS_DATAOBJ,
    CAT_UNKNOWN_COLLECTION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    SYS_INVALID_INPUT_PARAM,
    USER_FILE_DOES_NOT_EXIST,
    USER_INCOMPATIBLE_PARAMS,
    IrodsError,
)
from ..namespace import admin_mode, collection_path, require, visible
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
    catalog = server.catalog
    if "recursiveOpr" in element.kvp():
        with catalog.transaction():
            _make_collections_as_seen(server, path, user)
        return Reply()
    if catalog.data_object(path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, path)
    parent = catalog.coll(parent_of(path))
    if parent is None:
        raise IrodsError(CAT_UNKNOWN_COLLECTION, path)
    # The parent's write permission is checked before the name (live 5.0.2): a collection
    # that exists where the user may not write is CAT_NO_ACCESS_PERMISSION, not "exists".
    require(catalog, parent["coll_id"], user, WRITE)
    if catalog.coll(path) is not None:
        raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, path)
    with catalog.transaction():
        make_collections(server, path, user)
    return Reply()


def _make_collections_as_seen(server: ServerState, path: str, user: User) -> None:
    """A recursive COLL_CREATE, as iRODS 5.0.2's ``rsMkCollR``: back up from ``path`` to the
    deepest collection the user can see, then create each level below it, passing over one
    that exists unseen. A user who sees none of the ancestors ends at the zone's root
    collection, which nobody creates: SYS_INVALID_INPUT_PARAM, as iRODS says it."""
    catalog = server.catalog
    seen = path
    while visible(catalog, user, seen) is None or catalog.coll(seen) is None:
        if seen.count("/") <= 1:
            raise IrodsError(SYS_INVALID_INPUT_PARAM, "a valid zone name does not appear at the "
                             f"root of the object path [{seen}]")
        seen = parent_of(seen)
    levels = path[len(seen):].strip("/").split("/") if seen != path else []
    current = seen
    for name in levels:
        current = f"{current.rstrip('/')}/{name}"
        if catalog.data_object(current) is not None:
            raise IrodsError(CAT_NAME_EXISTS_AS_DATAOBJ, current)
        if catalog.coll(current) is None:
            make_collections(server, current, user)


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
