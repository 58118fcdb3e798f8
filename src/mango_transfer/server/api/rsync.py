"""DATA_OBJ_RSYNC (628): how ``irsync`` decides whether an existing object must move.

The client sends the local file's checksum (``rsyncChksum``) when the data object exists but
has no checksum to compare with.  As iRODS 5.0.2's ``rsDataObjRsync``: the server computes the
object's checksum (registering it when the user may write), and answers 0 when both match, or
asks the client to move the bytes itself: SYS_SVR_TO_CLI_PUT_ACTION for a local-to-iRODS sync
(mode ``IRODS_TO_LOCAL`` in iRODS' naming), SYS_SVR_TO_CLI_GET_ACTION the other way.  The
iRODS-to-iRODS mode is not served here.
"""

from __future__ import annotations

from ..catalog import READ, WRITE
from ..codes import IrodsError
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, user_of
from .data import compute_checksum

SYS_SVR_TO_CLI_PUT_ACTION = 99999990
SYS_SVR_TO_CLI_GET_ACTION = 99999991
USER_RSYNC_NO_MODE_INPUT_ERR = -337000
CHKSUM_EMPTY_IN_STRUCT_ERR = -1004000

_ACTIONS = {"IRODS_TO_LOCAL": SYS_SVR_TO_CLI_PUT_ACTION, "LOCAL_TO_IRODS": SYS_SVR_TO_CLI_GET_ACTION}


@api(628)
async def data_obj_rsync(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    request = body(message)
    kvp = request.kvp()
    mode = kvp.get("rsyncMode")
    if mode is None:
        raise IrodsError(USER_RSYNC_NO_MODE_INPUT_ERR, "rsyncMode missing")
    if mode not in _ACTIONS:
        raise IrodsError(USER_RSYNC_NO_MODE_INPUT_ERR, f"rsync mode {mode} is not served here")
    expected = kvp.get("rsyncChksum")
    if expected is None:
        raise IrodsError(CHKSUM_EMPTY_IN_STRUCT_ERR, "rsyncChksum missing")
    catalog = server.catalog
    row = catalog.data_object(request.get_str("objPath"))
    if row is None or catalog.access_level(row["data_id"], user) < READ:
        return Reply(int_info=_ACTIONS[mode])
    checksum = row["data_checksum"] or await compute_checksum(server, row["data_id"])
    if not row["data_checksum"] and catalog.access_level(row["data_id"], user) >= WRITE:
        catalog.update_data(row["data_id"], data_checksum=checksum)
    return Reply(int_info=0 if checksum == expected else _ACTIONS[mode])
