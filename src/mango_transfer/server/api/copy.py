"""DATA_OBJ_COPY (696): ``icp`` and PRC's ``data_objects.copy``.

As iRODS 5.0.2's ``rsDataObjCopy``: the source must be a data object the user can see
(else USER_INPUT_PATH_ERR, also for a copy onto itself); an existing destination needs
``forceFlag`` (else OVERWRITE_WITHOUT_FORCE_FLAG); a missing destination collection is created.
The bytes and the data type are copied, never the AVUs or ACLs (the copy is the caller's, with
its collection's inherited ACLs); the destination's own keywords (``regChksum``,
``verifyChksum``) decide its checksum.  The reply is a TransferStat with the bytes copied.
"""

from __future__ import annotations

import os

import anyio

from ..catalog import READ, REPL_STALE, parent_of
from ..codes import (
    CAT_UNKNOWN_COLLECTION,
    OVERWRITE_WITHOUT_FORCE_FLAG,
    SYS_INVALID_INPUT_PARAM,
    USER_CHKSUM_MISMATCH,
    USER_INPUT_PATH_ERR,
    IrodsError,
)
from ..state import ConnectionState, ServerState
from ..wire import Message
from ..xmlpack import Struct
from .base import Reply, api, body, user_of
from .collections import make_collections
from .data import O_CREAT, O_TRUNC, close_handle, compute_checksum, open_object
from .put_get import finish_put

O_WRONLY = 1
PIECE = 4 << 20


def _copy_bytes(source_fd: int, target_fd: int) -> int:
    offset = 0
    while chunk := os.pread(source_fd, PIECE, offset):
        os.pwrite(target_fd, chunk, offset)
        offset += len(chunk)
    return offset


@api(696)
async def data_obj_copy(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    inputs = list(body(message).find_all("DataObjInp_PI"))
    if len(inputs) != 2:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "copy needs a source and a destination")
    source_path, target_path = inputs[0].get_str("objPath"), inputs[1].get_str("objPath")
    target_kvp = inputs[1].kvp()
    catalog = server.catalog
    source = catalog.data_object(source_path)
    if source is None or catalog.access_level(source["data_id"], user) < READ \
            or not target_path.startswith("/"):
        raise IrodsError(USER_INPUT_PATH_ERR, f"no data object {source_path}")
    if catalog.data_object(target_path) is not None and "forceFlag" not in target_kvp:
        raise IrodsError(OVERWRITE_WITHOUT_FORCE_FLAG, f"{target_path} exists; overwrite needs -f")
    if source_path == target_path:
        raise IrodsError(USER_INPUT_PATH_ERR, "same source and destination")
    source_fd = await open_object(server, connection, {"objPath": source_path, "dataSize": -1},
                                  0, inputs[0].kvp())
    source_handle = connection.descriptors[source_fd]
    size = int(source["data_size"])
    target_inp = {"objPath": target_path, "dataSize": size}
    flags = O_CREAT | O_TRUNC | O_WRONLY
    try:
        try:
            target_fd = await open_object(server, connection, target_inp, flags, target_kvp)
        except IrodsError as error:
            if error.code != CAT_UNKNOWN_COLLECTION:
                raise
            make_collections(server, parent_of(target_path), user)
            target_fd = await open_object(server, connection, target_inp, flags, target_kvp)
        target = connection.descriptors[target_fd]
        copied = await anyio.to_thread.run_sync(_copy_bytes, source_handle.os_fd, target.os_fd)
        target.bytes_written = copied or (0 if target.created else 1)
        catalog.update_data(target.data_id, data_type_name=source["data_type_name"])
        await finish_put(server, connection, target, size)
        if "verifyChksum" in target_kvp or "regChksum" in target_kvp:
            # A copy's close checksums the new replica for -k/-K (and with -K it must match the
            # source's checksum when the source has one).
            checksum = await compute_checksum(server, target.data_id)
            catalog.update_data(target.data_id, data_checksum=checksum)
            if "verifyChksum" in target_kvp and source["data_checksum"] \
                    and source["data_checksum"] != checksum:
                catalog.update_data(target.data_id, data_is_dirty=REPL_STALE)
                raise IrodsError(USER_CHKSUM_MISMATCH, "copy differs from its source")
    finally:
        await close_handle(server, connection, source_handle, {})
    return Reply(body=Struct("TransferStat_PI", [
        ("numThreads", 0), ("flags", 0), ("bytesWritten", size)]).encode())
