"""BULK_DATA_OBJ_PUT (689): ``iput -b`` sends many small files in one request.

The request names the target collection and carries a table (a GenQueryOut): the objects' full
paths (DATA_NAME), their modes, the running end offset of each file in the byte stream
(OFFSET_INX) and, with ``verifyChksum``, each file's checksum.  As iRODS 5.0.2 does, the server
creates the collection and each file's parent, then puts every file as a single-buffer put,
stopping at the first failure.  A ``forceFlag`` is refused: bulk puts never overwrite.
"""

from __future__ import annotations

from ..catalog import parent_of
from ..codes import SYS_INVALID_INPUT_PARAM, IrodsError
from ..namespace import collection_path
from ..state import ConnectionState, ServerState
from ..wire import Message
from ..xmlpack import Element
from .base import Reply, api, body, user_of
from .collections import make_collections
from .put_get import put_bytes

COL_DATA_NAME, COL_D_DATA_CHECKSUM, OFFSET_INX = 403, 415, 999998
USER_INCOMPATIBLE_PARAMS = -402000
UNMATCHED_KEY_OR_INDEX = -313000
SYS_REQUESTED_BUF_TOO_LARGE = -113000
MAX_NUM_BULK_OPR_FILES = 50


def _column(table: Element, index: int) -> list[str] | None:
    for result in table.find_all("SqlResult_PI"):
        if result.get_int("attriInx") == index:
            return [value.text for value in result.find_all("value")]
    return None


@api(689)
async def bulk_data_obj_put(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    request = body(message)
    kvp = request.kvp()
    if "forceFlag" in kvp:
        raise IrodsError(USER_INCOMPATIBLE_PARAMS, "Force flag keyword is not allowed for bulk puts.")
    table = request.find("GenQueryOut_PI")
    paths = _column(table, COL_DATA_NAME) if table is not None else None
    offsets = _column(table, OFFSET_INX) if table is not None else None
    checksums = _column(table, COL_D_DATA_CHECKSUM) if table is not None else None
    if paths is None or offsets is None or ("verifyChksum" in kvp and checksums is None):
        raise IrodsError(UNMATCHED_KEY_OR_INDEX, "bulk table lacks a column")
    if len(paths) > MAX_NUM_BULK_OPR_FILES:
        raise IrodsError(SYS_REQUESTED_BUF_TOO_LARGE, "too many files in one bulk put")
    target = collection_path(request.get_str("objPath"))
    if target is None:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "bad collection")
    make_collections(server, target, user)
    start = 0
    for index, path in enumerate(paths):
        end = int(offsets[index])
        options = {**kvp, "dataIncluded": ""}
        if checksums is not None:
            options["verifyChksum"] = checksums[index]
        make_collections(server, parent_of(path), user)
        await put_bytes(server, connection, path, message.bs[start:end], 0, options)
        start = end
    return Reply()
