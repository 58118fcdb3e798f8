"""DATA_OBJ_PUT (606), DATA_OBJ_GET (608) and OPR_COMPLETE (626): how the iCommands move files.

As in iRODS 5.0.2 (``rsDataObjPut``/``rsDataObjGet``):

- **put** refuses an existing path without ``forceFlag`` (OVERWRITE_WITHOUT_FORCE_FLAG), then
  opens the object create|truncate|read-write.  With ``dataIncluded`` the bytes ride in the
  request (files up to 32 MiB): they are written, the replica is finalized (size checked against
  ``dataSize`` unless ``noChkCopyLen``; ``regChksum``/``verifyChksum`` as at a close) and the
  reply is empty.  Otherwise the reply is a ``PortalOprOut``: with threads, the client joins the
  portal (see ``portal.py``); without, it writes with 676 on this connection.  Either way its
  OPR_COMPLETE closes and finalizes the replica.  A successful put touches the parent's mtime.
- **get** opens for read; a replica up to 32 MiB comes back whole in the reply's byte stream
  (``intInfo`` = its length), larger ones through the portal or 675 reads, then OPR_COMPLETE.
  With ``verifyChksum`` the reply carries the replica's checksum (computed and registered first
  if it has none), which the client compares with its own.

Over TLS no portal is offered (its bytes would need the negotiated AES encryption): the client
then moves large files over the encrypted main connection with 675/676.
"""

from __future__ import annotations

import os

from ..catalog import REPL_STALE, WRITE, parent_of
from ..codes import (
    CAT_NO_ACCESS_PERMISSION,
    CAT_NO_ROWS_FOUND,
    OVERWRITE_WITHOUT_FORCE_FLAG,
    SYS_COPY_LEN_ERR,
    IrodsError,
)
from ..portal import Portal, open_portal, receiver, sender, thread_count
from ..state import ConnectionState, Descriptor, ServerState
from ..wire import Message
from ..xmlpack import Element, Struct
from .base import Reply, api, body, user_of
from .data import O_CREAT, O_TRUNC, close_handle, compute_checksum, descriptor, open_object

SINGLE_BUFFER_MAX = 32 << 20
O_RDWR = 2


def _portal_out(fd: int, threads: int, checksum: str, portal: Portal | None) -> bytes:
    ports = Struct("PortList_PI", [
        ("portNum", portal.port if portal else 0), ("cookie", portal.cookie if portal else 0),
        ("sock", 0), ("windowSize", 0), ("hostAddr", portal.host if portal else "")])
    return Struct("PortalOprOut_PI", [
        ("status", 0), ("l1descInx", fd), ("numThreads", threads), ("chksum", checksum),
        ("PortList_PI", ports)]).encode()


def _request(message: Message) -> tuple[Element, str, dict[str, str]]:
    element = body(message)
    return element, element.get_str("objPath"), element.kvp()


async def _threads(server: ServerState, connection: ConnectionState, size: int, requested: int
                   ) -> tuple[int, Portal | None]:
    threads = 0 if connection.tls else thread_count(size, requested)
    return (threads, await open_portal(server.config.host)) if threads else (0, None)


async def _open_for_put(server: ServerState, connection: ConnectionState, path: str, size: int,
                        kvp: dict[str, str]) -> Descriptor:
    catalog = server.catalog
    exists = catalog.coll(path) is not None or catalog.data_object(path) is not None
    if exists and "forceFlag" not in kvp:
        raise IrodsError(OVERWRITE_WITHOUT_FORCE_FLAG, f"{path} exists; overwrite needs -f")
    parent = catalog.coll(parent_of(path))
    if not exists and parent is not None and catalog.access_level(parent["coll_id"], user_of(connection)) < WRITE:
        raise IrodsError(CAT_NO_ACCESS_PERMISSION, f"no permission to create {path}")
    fd = await open_object(server, connection, {"objPath": path, "dataSize": size},
                           O_CREAT | O_TRUNC | O_RDWR, kvp)
    return connection.descriptors[fd]


async def put_bytes(server: ServerState, connection: ConnectionState, path: str, data: bytes,
                    size: int, kvp: dict[str, str]) -> None:
    """A single-buffer put: the whole content is in hand."""
    handle = await _open_for_put(server, connection, path, size, kvp)
    written = os.pwrite(handle.os_fd, data, 0) if data else 0
    # An empty put over a non-empty replica still counts as a write (iRODS sets 1).
    handle.bytes_written = written or (0 if handle.created else 1)
    await finish_put(server, connection, handle, size)


@api(606)
async def data_obj_put(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user_of(connection)
    element, path, kvp = _request(message)
    size = element.get_int("dataSize")
    if "dataIncluded" in kvp:
        await put_bytes(server, connection, path, message.bs, size, kvp)
        return Reply()
    handle = await _open_for_put(server, connection, path, size, kvp)
    fd = handle.fd
    threads, portal = await _threads(server, connection, size, element.get_int("numThreads"))
    reply = Reply(body=_portal_out(fd, threads, "", portal))
    if portal is not None:
        async def transfer() -> None:
            await portal.serve(threads, size, receiver(handle.os_fd))
            handle.bytes_written = max(size, 1)
        reply.after = transfer
    return reply


async def finish_put(server: ServerState, connection: ConnectionState, handle: Descriptor,
                      declared: int) -> None:
    """Close a put's replica: the size must match ``dataSize``, else it stays stale."""
    actual = server.vault.size(handle.data_id)
    if declared > 0 and actual != declared and "noChkCopyLen" not in handle.kvp:
        connection.descriptors.pop(handle.fd, None)
        server.close_os_fd(handle)
        server.open_replicas.pop(handle.data_id, None)
        server.catalog.update_data(handle.data_id, data_size=actual, data_is_dirty=REPL_STALE)
        raise IrodsError(SYS_COPY_LEN_ERR, f"wrote {actual} bytes of {declared}")
    await close_handle(server, connection, handle, {})
    coll = server.catalog.coll(parent_of(handle.path))
    if coll is not None:
        server.catalog.touch_coll(coll["coll_id"])


@api(608)
async def data_obj_get(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user_of(connection)
    element, path, kvp = _request(message)
    if server.catalog.data_object(path) is None:
        raise IrodsError(CAT_NO_ROWS_FOUND, f"no data object {path}")
    fd = await open_object(server, connection, {"objPath": path, "dataSize": -1}, 0, kvp)
    handle = connection.descriptors[fd]
    row = server.catalog.data_by_id(handle.data_id)
    assert row is not None
    size = int(row["data_size"])
    checksum = ""
    if "verifyChksum" in kvp:
        checksum = row["data_checksum"] or await compute_checksum(server, handle.data_id)
        server.catalog.update_data(handle.data_id, data_checksum=checksum)
    if size <= SINGLE_BUFFER_MAX:
        data = os.pread(handle.os_fd, size, 0)
        await close_handle(server, connection, handle, {})
        return Reply(int_info=len(data), body=_portal_out(0, 0, checksum, None), bs=data)
    threads, portal = await _threads(server, connection, size, element.get_int("numThreads"))
    reply = Reply(int_info=fd, body=_portal_out(fd, threads, checksum, portal))
    if portal is not None:
        async def transfer() -> None:
            await portal.serve(threads, size, sender(handle.os_fd))
        reply.after = transfer
    return reply


@api(626)
async def opr_complete(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    """The client's word that a portal or 675/676 transfer ended: close (finalize) the replica.

    A negative value is the client's own failure: the replica is closed stale and the code comes
    back, as the real agent returns it.
    """
    value = body(message).get_int("myInt")
    if value < 0:
        for handle in list(connection.descriptors.values()):
            connection.descriptors.pop(handle.fd, None)
            server.close_os_fd(handle)
            if handle.writable:
                server.open_replicas.pop(handle.data_id, None)
                server.catalog.update_data(handle.data_id, data_is_dirty=REPL_STALE,
                                           data_size=server.vault.size(handle.data_id))
        raise IrodsError(value, "the client reported a failed transfer")
    if value >= 2:
        handle = descriptor(connection, value)
        if handle.writable:
            await finish_put(server, connection, handle, handle.declared_size)
        else:
            await close_handle(server, connection, handle, {})
    return Reply()
