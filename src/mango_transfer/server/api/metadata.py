"""AVU metadata (classic 706 and atomic 20002) and access control (707)."""

from __future__ import annotations

import sqlite3

from ..catalog import ACCESS_LEVELS, OWN, User
from ..codes import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_INVALID_ARGUMENT,
    CAT_INVALID_USER,
    CAT_NO_ACCESS_PERMISSION,
    CAT_SUCCESS_BUT_WITH_NO_INFO,
    CAT_UNKNOWN_COLLECTION,
    CAT_UNKNOWN_FILE,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    SYS_INVALID_INPUT_PARAM,
    SYS_NO_API_PRIV,
    IrodsError,
)
from ..namespace import admin_mode
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, json_reply, json_request, user_of

MODIFY_METADATA = ACCESS_LEVELS["modify_metadata"]
WIRE_LEVELS = {"read": "read_object", "write": "modify_object"}


def _target(server: ServerState, kind: str, name: str, missing: int) -> int:
    """Resolve an AVU/ACL target to its object id, or raise ``missing``."""
    catalog = server.catalog
    if kind in ("-d", "data_object"):
        row = catalog.data_object(name) if name.startswith("/") else None
        if row is None:
            raise IrodsError(missing if missing else CAT_UNKNOWN_FILE, name)
        return int(row["data_id"])
    if kind in ("-C", "-c", "collection"):
        coll = catalog.coll(name.rstrip("/") or "/")
        if coll is None:
            raise IrodsError(missing if missing else CAT_UNKNOWN_COLLECTION, name)
        return int(coll["coll_id"])
    if kind in ("-u", "user"):
        user_name, _, zone = name.partition("#")
        user = catalog.user(user_name, zone or server.config.zone)
        if user is None:
            raise IrodsError(missing if missing else CAT_INVALID_USER, name)
        return user.id
    if kind in ("-R", "-r", "resource"):
        row = catalog.db.execute("SELECT resc_id FROM resources WHERE resc_name = ?", (name,)).fetchone()
        if row is None:
            raise IrodsError(missing if missing else CAT_INVALID_ARGUMENT, name)
        return int(row[0])
    raise IrodsError(CAT_INVALID_ARGUMENT, f"unknown entity type {kind!r}")


def _may_edit_metadata(server: ServerState, user: User, kind: str, object_id: int, admin: bool) -> None:
    if kind in ("-u", "-R", "-r", "user", "resource"):
        if not user.is_admin:
            raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "admin only")
        return
    if admin and user.is_admin:
        return
    if server.catalog.access_level(object_id, user) < MODIFY_METADATA:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, "no permission to modify metadata")


@api(706)
async def mod_avu(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    args = [element.get_str(f"arg{i}") for i in range(10)]
    operation, kind, name, attr, value, units = args[:6]
    admin = admin_mode(user, element.kvp()) or operation == "adda"
    object_id = _target(server, kind, name, 0)
    _may_edit_metadata(server, user, kind, object_id, admin)
    catalog = server.catalog
    if operation in ("add", "adda"):
        _check_avu(attr, value)
        if catalog.has_avu(object_id, attr, value, units):
            raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, "duplicate AVU")
        catalog.add_avu(object_id, attr, value, units)
    elif operation == "set":
        _check_avu(attr, value)
        with catalog.transaction():
            catalog.remove_avus_by_attr(object_id, attr)
            catalog.add_avu(object_id, attr, value, units)
    elif operation in ("rm", "rmw"):
        _remove(server, object_id, attr, value, units or None, wildcard=operation == "rmw")
    elif operation == "mod":
        _modify(server, object_id, attr, value, args[5:])
    else:
        raise IrodsError(CAT_INVALID_ARGUMENT, f"unsupported metadata operation {operation!r}")
    return Reply()


def _check_avu(attr: str, value: str) -> None:
    if not attr or not value:
        raise IrodsError(CAT_INVALID_ARGUMENT, "attribute and value must not be empty")


def _remove(server: ServerState, object_id: int, attr: str, value: str, units: str | None,
            wildcard: bool) -> None:
    db = server.catalog.db
    if wildcard:
        cursor = db.execute(
            "DELETE FROM avus WHERE object_id = ? AND attr LIKE ? AND value LIKE ?",
            (object_id, attr, value),
        )
        removed = cursor.rowcount
    else:
        removed = server.catalog.remove_avu(object_id, attr, value, units)
    if removed == 0:
        raise IrodsError(CAT_SUCCESS_BUT_WITH_NO_INFO, "no such AVU")


def _modify(server: ServerState, object_id: int, attr: str, value: str, rest: list[str]) -> None:
    """``mod`` takes optional units, then ``n:``/``v:``/``u:`` prefixed new parts."""
    units = "" if rest and rest[0][:2] in ("n:", "v:", "u:") else (rest[0] if rest else "")
    changes = {part[:2]: part[2:] for part in rest if part[:2] in ("n:", "v:", "u:")}
    row = server.catalog.db.execute(
        "SELECT meta_id FROM avus WHERE object_id = ? AND attr = ? AND value = ? AND units = ?",
        (object_id, attr, value, units),
    ).fetchone()
    if row is None:
        raise IrodsError(CAT_SUCCESS_BUT_WITH_NO_INFO, "no such AVU")
    server.catalog.db.execute(
        "UPDATE avus SET attr = ?, value = ?, units = ? WHERE meta_id = ?",
        (changes.get("n:", attr), changes.get("v:", value), changes.get("u:", units), row[0]),
    )


@api(20002)
async def atomic_metadata(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    """All-or-nothing; duplicate adds and removals of missing AVUs are silently accepted."""
    user = user_of(connection)
    request = json_request(message)
    kind = str(request.get("entity_type", ""))
    name = str(request.get("entity_name", ""))
    operations = request.get("operations")
    if not isinstance(operations, list):
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "operations must be a list")
    object_id = _target(server, kind, name, SYS_INVALID_INPUT_PARAM)
    admin = bool(request.get("admin_mode"))
    if admin and not user.is_admin:
        raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "admin mode needs a rodsadmin")
    _may_edit_metadata(server, user, kind, object_id, admin)
    catalog = server.catalog
    try:
        with catalog.transaction():
            for index, operation in enumerate(operations):
                _apply_atomic(server, object_id, index, operation)
    except _AtomicFailure as failure:
        return json_reply(failure.report, int_info=failure.code)
    return json_reply({})


class _AtomicFailure(Exception):
    def __init__(self, code: int, report: dict[str, object]) -> None:
        super().__init__(report)
        self.code = code
        self.report = report


def _apply_atomic(server: ServerState, object_id: int, index: int, operation: object) -> None:
    catalog = server.catalog
    if not isinstance(operation, dict):
        raise _AtomicFailure(SYS_INVALID_INPUT_PARAM, {"operation_index": index,
                             "error_message": "operation must be an object"})
    attr, value = str(operation.get("attribute", "")), str(operation.get("value", ""))
    units = str(operation.get("units", "") or "")
    kind = operation.get("operation")
    if not attr or not value or kind not in ("add", "remove"):
        raise _AtomicFailure(SYS_INVALID_INPUT_PARAM, {
            "operation": operation, "operation_index": index,
            "error_message": "invalid operation (needs operation add/remove, attribute, value)"})
    if kind == "add":
        if not catalog.has_avu(object_id, attr, value, units):
            catalog.add_avu(object_id, attr, value, units)
    else:
        catalog.remove_avu(object_id, attr, value, units)


@api(707)
async def mod_access_control(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    level_name = element.get_str("accessLevel")
    admin = level_name.startswith("admin:")
    if admin:
        level_name = level_name[len("admin:"):]
        if not user.is_admin:
            raise IrodsError(CAT_NO_ACCESS_PERMISSION, "You must be the admin to use the -M admin mode")
    path = element.get_str("path")
    catalog = server.catalog
    coll = catalog.coll(path.rstrip("/") or "/") if path.startswith("/") else None
    row = None if coll is not None else (catalog.data_object(path) if path.startswith("/") else None)
    if coll is None and row is None:
        raise IrodsError(CAT_INVALID_ARGUMENT, f"no such path {path!r}")
    object_id = int(coll["coll_id"] if coll is not None else row["data_id"])  # type: ignore[index]
    if not admin and catalog.access_level(object_id, user) < OWN:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, "only an owner may change access")
    recursive = element.get_int("recursiveFlag") == 1 and coll is not None
    if level_name in ("inherit", "noinherit"):
        if coll is None:
            raise IrodsError(CAT_INVALID_ARGUMENT, "inheritance applies to collections")
        _set_inheritance(server, coll, "1" if level_name == "inherit" else "0", recursive)
        return Reply()
    level = ACCESS_LEVELS.get(WIRE_LEVELS.get(level_name, level_name))
    if level is None:
        raise IrodsError(CAT_INVALID_ARGUMENT, f"bad access level {level_name!r}")
    target = catalog.user(element.get_str("userName"), element.get_str("zone") or server.config.zone)
    if target is None:
        raise IrodsError(CAT_INVALID_USER, element.get_str("userName"))
    with catalog.transaction():
        for member in _subtree_ids(server, coll, object_id, recursive):
            catalog.set_access(member, target.id, level)
    return Reply()


def _set_inheritance(server: ServerState, coll: sqlite3.Row, flag: str, recursive: bool) -> None:
    colls = server.catalog.subtree_colls(coll["coll_name"]) if recursive else [coll]
    with server.catalog.transaction():
        for item in colls:
            server.catalog.set_inheritance(item["coll_id"], flag)


def _subtree_ids(server: ServerState, coll: sqlite3.Row | None, object_id: int, recursive: bool) -> list[int]:
    if coll is None or not recursive:
        return [object_id]
    colls = server.catalog.subtree_colls(coll["coll_name"])
    objects = server.catalog.data_in_colls([c["coll_id"] for c in colls])
    return [int(c["coll_id"]) for c in colls] + [int(d["data_id"]) for d in objects]


__all__ = ["SYS_NO_API_PRIV"]
