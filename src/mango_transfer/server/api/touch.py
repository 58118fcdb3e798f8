"""TOUCH (20007): set a data object's or a collection's modify time, as iRODS 5's plugin does.

The engine sets every uploaded file's mtime this way (``modDataObjMeta`` is admin-only), so
the checks follow the real plugin step by step:

1. the JSON is validated (types, empty strings, negative numbers, exclusive options);
2. a path the user cannot see is "missing": with ``no_create`` that is success, with a
   replica number OBJ_PATH_DOES_NOT_EXIST, otherwise an empty data object is created if the
   user may (a failed create is silent);
3. what is still not visible is CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION;
4. the time comes from ``reference`` (which must exist), ``seconds_since_epoch`` or now;
5. a collection takes no replica options; a data object needs the named replica, or else a
   good one (SYS_NO_GOOD_REPLICA while it is being written or stale); both need write.
"""

from __future__ import annotations

import base64
import json

from ..catalog import REPL_GOOD, WRITE, User, timestamp
from ..codes import (
    CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION,
    INPUT_ARG_NOT_WELL_FORMED_ERR,
    INVALID_OBJECT_TYPE,
    OBJ_PATH_DOES_NOT_EXIST,
    SYS_INVALID_INPUT_PARAM,
    SYS_NO_GOOD_REPLICA,
    SYS_REPLICA_DOES_NOT_EXIST,
    USER_INCOMPATIBLE_PARAMS,
    IrodsError,
)
from ..namespace import require, visible
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, user_of
from .data import create_object, parent_collection

_TYPES: dict[str, tuple[type, ...]] = {
    "no_create": (bool,), "replica_number": (int,), "leaf_resource_name": (str,),
    "reference": (str,), "seconds_since_epoch": (int, float),
}


def _request(message: Message) -> tuple[str, dict[str, object]]:
    try:
        raw = base64.b64decode(body(message).get_str("buf"))
        request = json.loads(raw.rstrip(b"\x00").decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, "Could not parse string into JSON.") from exc
    if not isinstance(request, dict) or "logical_path" not in request:
        raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, "[logical_path] is a required argument.")
    path = request["logical_path"]
    if not isinstance(path, str):
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "Incorrect value for [logical_path].")
    if not path:
        raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, "[logical_path] cannot be empty.")
    options = request.get("options", {})
    if not isinstance(options, dict):
        raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, "[options] must be a JSON object.")
    _check_options(options)
    return path, options


def _check_options(options: dict[str, object]) -> None:
    for first, second in (("replica_number", "leaf_resource_name"),
                          ("reference", "seconds_since_epoch")):
        if first in options and second in options:
            raise IrodsError(USER_INCOMPATIBLE_PARAMS, f"[{first}] and [{second}] cannot be used together.")
    for name, types in _TYPES.items():
        value = options.get(name)
        if name not in options:
            continue
        is_bool = isinstance(value, bool)
        if not (is_bool if types == (bool,) else isinstance(value, types) and not is_bool):
            raise IrodsError(SYS_INVALID_INPUT_PARAM, f"Incorrect value for [{name}].")
        if isinstance(value, str) and not value:
            raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, f"[{name}] cannot be empty.")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise IrodsError(INPUT_ARG_NOT_WELL_FORMED_ERR, f"[{name}] cannot be less than zero.")


@api(20007)
async def touch(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    path, options = _request(message)
    catalog = server.catalog
    if visible(catalog, user, path) is None:
        if options.get("no_create"):
            return Reply()
        if "replica_number" in options:
            raise IrodsError(OBJ_PATH_DOES_NOT_EXIST, "Replica numbers cannot be used when creating new data objects.")
        try:
            parent = parent_collection(server, path, user, creating=True)
            data_id = create_object(server, parent, path, user)
            catalog.update_data(data_id, data_is_dirty=REPL_GOOD)
        except IrodsError:
            pass  # as the real plugin: the create is best effort, the status check decides
    found = visible(catalog, user, path)
    if found is None:
        raise IrodsError(CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION, path)
    stamp = _new_time(server, user, options)
    if "data_id" not in found.keys():  # a collection
        if "replica_number" in options or "leaf_resource_name" in options:
            raise IrodsError(USER_INCOMPATIBLE_PARAMS, "replica options cannot be used for collections")
        require(catalog, found["coll_id"], user, WRITE)
        catalog.touch_coll(found["coll_id"], float(stamp))
        return Reply()
    number = options.get("replica_number")
    resource = options.get("leaf_resource_name")
    if (number is not None and number != 0) or (resource is not None and resource != server.config.resource):
        raise IrodsError(SYS_REPLICA_DOES_NOT_EXIST, path)
    if number is None and resource is None and found["data_is_dirty"] != REPL_GOOD:
        raise IrodsError(SYS_NO_GOOD_REPLICA, "No good replicas found.")
    require(catalog, found["data_id"], user, WRITE)
    catalog.update_data(found["data_id"], modify_ts=timestamp(float(stamp)))
    return Reply()


def _new_time(server: ServerState, user: User, options: dict[str, object]) -> int:
    reference = options.get("reference")
    if isinstance(reference, str):
        found = visible(server.catalog, user, reference)
        if found is None:
            raise IrodsError(INVALID_OBJECT_TYPE, f"{reference} is neither a collection nor a data object")
        return int(found["modify_ts"])
    seconds = options.get("seconds_since_epoch")
    return int(seconds) if isinstance(seconds, (int, float)) else int(timestamp())

