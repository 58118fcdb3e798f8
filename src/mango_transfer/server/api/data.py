"""Data objects: open/create, read/write/seek, close and finalize, unlink, rename, checksum.

Replica life cycle, as in iRODS 5: a write open marks the replica intermediate and mints a
replica token; other handles may join only with that token (PRC's parallel transfer); the
primary handle's close finalizes size, status, mtime and checksum.  Bytes go straight between the
socket and the vault file with pread/pwrite: no per-read catalog write.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import sqlite3
import uuid

import anyio

from ..catalog import (
    OWN,
    READ,
    REPL_GOOD,
    REPL_INTERMEDIATE,
    REPL_STALE,
    WRITE,
    User,
    parent_of,
    timestamp,
)
from ..codes import (
    BAD_INPUT_DESC_INDEX,
    CAT_NAME_EXISTS_AS_COLLECTION,
    CAT_NO_ACCESS_PERMISSION,
    CAT_NO_CHECKSUM_FOR_REPLICA,
    CAT_NO_ROWS_FOUND,
    CAT_UNKNOWN_COLLECTION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    CHECK_VERIFICATION_RESULTS,
    HIERARCHY_ERROR,
    INTERMEDIATE_REPLICA_ACCESS,
    OBJ_PATH_DOES_NOT_EXIST,
    SYS_INVALID_INPUT_PARAM,
    SYS_REPLICA_DOES_NOT_EXIST,
    SYS_REPLICA_INACCESSIBLE,
    UNIX_FILE_LSEEK_ERR,
    UNIX_FILE_WRITE_ERR,
    USER_CHKSUM_MISMATCH,
    USER_FILE_DOES_NOT_EXIST,
    USER_FILE_SIZE_MISMATCH,
    USER_INCOMPATIBLE_PARAMS,
    USER_INVALID_REPLICA_INPUT,
    IrodsError,
)
from ..namespace import ADMIN_KW, admin_mode, collection_path, data_path, require, visible
from ..state import ConnectionState, Descriptor, OpenReplica, ServerState
from ..wire import Message
from ..xmlpack import Struct
from .base import Reply, api, body, json_reply, json_request, str_reply, user_of
from .trash import ADMIN_RMTRASH_KW, rmtrash_mode, trash_object
from .tree import DELETE_OBJECT, delete_object, rename

O_ACCMODE, O_CREAT, O_TRUNC = 3, 0o100, 0o1000
RENAME_DATA_OBJ, RENAME_COLL = 11, 12  # DataObjInp oprType


def sha2_string(digest: bytes) -> str:
    return "sha2:" + base64.b64encode(digest).decode()


async def compute_checksum(server: ServerState, data_id: int) -> str:
    digest = await anyio.to_thread.run_sync(server.vault.sha256, data_id)
    return sha2_string(digest)


# -- replicas --------------------------------------------------------------------------------
def requested_replica(options: dict[str, str]) -> int | None:
    """The replica number a request names (``replNum``), read as iRODS does with ``std::stoi``:
    the leading integer counts (``" 0"``, ``"3abc"``), no integer or one out of range is
    USER_INVALID_REPLICA_INPUT, and a negative number names none."""
    text = options.get("replNum")
    if text is None:
        return None
    match = re.match(r"[ \t\n\r\f\v]*([+-]?\d+)", text)
    if match is None or not -(2**31) <= int(match.group(1)) < 2**31:
        raise IrodsError(USER_INVALID_REPLICA_INPUT, f"invalid replica number {text!r}")
    number = int(match.group(1))
    return number if number >= 0 else None


def check_replica(options: dict[str, str], exists: bool) -> None:
    """Every object here has one replica, number 0: naming another, or any replica of an object
    that does not exist, is SYS_REPLICA_DOES_NOT_EXIST (before the missing object is reported)."""
    number = requested_replica(options)
    if number is not None and (number != 0 or not exists):
        raise IrodsError(SYS_REPLICA_DOES_NOT_EXIST, f"no replica {number}")


# -- open ----------------------------------------------------------------------------------
def parent_collection(server: ServerState, path: str, user: User, creating: bool) -> sqlite3.Row:
    coll = server.catalog.coll(parent_of(path))
    if coll is None:
        raise IrodsError(CAT_UNKNOWN_COLLECTION if creating else OBJ_PATH_DOES_NOT_EXIST, path)
    if server.catalog.access_level(coll["coll_id"], user) < READ:
        raise IrodsError(OBJ_PATH_DOES_NOT_EXIST, path)
    return coll


def create_object(server: ServerState, coll: sqlite3.Row, path: str, user: User) -> int:
    require(server.catalog, coll["coll_id"], user, WRITE)
    catalog = server.catalog
    with catalog.transaction():
        data_id = catalog.insert_data(coll["coll_id"], path.rsplit("/", 1)[1], user, server.vault.path_for)
        if coll["coll_inheritance"] == "1":
            catalog.copy_access(coll["coll_id"], data_id)
        catalog.set_access(data_id, user.id, OWN)
        catalog.touch_coll(coll["coll_id"])
    server.vault.create(data_id)
    return data_id


def _join_or_lock(server: ServerState, row: sqlite3.Row, kvp: dict[str, str]) -> OpenReplica | None:
    """An intermediate replica may only be opened again by a handle presenting its token."""
    replica = server.open_replicas.get(row["data_id"])
    if replica is None and row["data_is_dirty"] == REPL_INTERMEDIATE:
        # Left intermediate by a writer that vanished without a finalize: nobody holds a token.
        raise IrodsError(HIERARCHY_ERROR, "replica is intermediate")
    if replica is None:
        return None
    if kvp.get("replicaToken") != replica.token:
        if kvp.get("resc_hier"):
            raise IrodsError(INTERMEDIATE_REPLICA_ACCESS, "wrong or missing replica token")
        raise IrodsError(HIERARCHY_ERROR, "replica is open by another handle")
    return replica


async def open_object(server: ServerState, connection: ConnectionState, inp: dict[str, object],
                      flags: int, kvp: dict[str, str]) -> int:
    user = user_of(connection)
    path = data_path(str(inp["objPath"]))
    catalog = server.catalog
    writing = flags & O_ACCMODE != 0
    if catalog.coll(path) is not None:
        raise IrodsError(CAT_NAME_EXISTS_AS_COLLECTION if flags & O_CREAT else OBJ_PATH_DOES_NOT_EXIST, path)
    row = catalog.data_object(path)
    check_replica(kvp, exists=row is not None)
    coll = parent_collection(server, path, user, creating=bool(flags & O_CREAT))
    created = False
    if row is None:
        if not flags & O_CREAT:
            raise IrodsError(OBJ_PATH_DOES_NOT_EXIST, path)
        data_id = create_object(server, coll, path, user)
        created = True
        row = catalog.data_by_id(data_id)
        assert row is not None
    elif not flags & O_CREAT and catalog.access_level(row["data_id"], user) < READ:
        # An object the user has no access to at all does not exist for an open that would not
        # create it, whatever the mode (live 5.0.2); with read access a write is refused.
        raise IrodsError(OBJ_PATH_DOES_NOT_EXIST, path)
    if writing and ADMIN_KW in kvp and not user.is_admin:
        if created:  # iRODS registers the new replica before it refuses: it stays, stale
            catalog.update_data(row["data_id"], data_is_dirty=REPL_STALE)
        admin_mode(user, kvp)
    replica = None if created else _join_or_lock(server, row, kvp)
    if (writing and flags & O_CREAT and not created
            and catalog.access_level(row["data_id"], user) < WRITE
            and catalog.access_level(coll["coll_id"], user) >= WRITE):
        # iRODS takes this for a create of a name that is taken (live 5.0.2).
        raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, path)
    require(catalog, row["data_id"], user, WRITE if writing else READ)
    data_id = row["data_id"]
    previous_status = int(row["data_is_dirty"])
    if writing and replica is None:
        replica = OpenReplica(token=str(uuid.uuid4()), data_id=data_id)
        server.open_replicas[data_id] = replica
        fields: dict[str, object] = {"data_is_dirty": REPL_INTERMEDIATE}
        if flags & O_TRUNC and not created:
            fields.update(data_size=0, data_checksum="")
        catalog.update_data(data_id, **fields)
    if writing and flags & O_TRUNC and replica is not None and replica.handles == 0:
        os.truncate(server.vault.path_for(data_id), 0)
    os_fd = os.open(server.vault.path_for(data_id), os.O_RDWR if writing else os.O_RDONLY)
    primary = replica is None or replica.handles == 0
    if replica is not None:
        replica.handles += 1
    fd = connection.allocate_fd()
    connection.descriptors[fd] = Descriptor(
        fd=fd, data_id=data_id, path=path, flags=flags, os_fd=os_fd,
        token=replica.token if (replica is not None and writing) else "",
        primary=primary if writing else False, kvp=kvp,
        declared_size=int(str(inp.get("dataSize", -1))), created=created,
        previous_status=previous_status,
    )
    return fd


def _data_obj_inp(message: Message) -> tuple[dict[str, object], int, dict[str, str]]:
    element = body(message)
    inp: dict[str, object] = {
        "objPath": element.get_str("objPath"),
        "dataSize": element.get_int("dataSize", -1),
    }
    return inp, element.get_int("openFlags"), element.kvp()


@api(602)
async def data_obj_open(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    inp, flags, kvp = _data_obj_inp(message)
    return Reply(int_info=await open_object(server, connection, inp, flags, kvp))


@api(601)
async def data_obj_create(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    inp, _, kvp = _data_obj_inp(message)
    return Reply(int_info=await open_object(server, connection, inp, O_CREAT | O_TRUNC | 2, kvp))


# -- read / write / seek ---------------------------------------------------------------------
def descriptor(connection: ConnectionState, fd: int) -> Descriptor:
    found = connection.descriptors.get(fd)
    if found is None:
        raise IrodsError(BAD_INPUT_DESC_INDEX, f"unknown descriptor {fd}")
    return found


@api(675)
async def data_obj_read(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    element = body(message)
    handle = descriptor(connection, element.get_int("l1descInx"))
    length = max(0, element.get_int("len"))
    chunk = os.pread(handle.os_fd, length, handle.position)
    handle.position += len(chunk)
    return Reply(int_info=len(chunk), bs=chunk)


@api(676)
async def data_obj_write(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    element = body(message)
    handle = descriptor(connection, element.get_int("l1descInx"))
    if not handle.writable:
        raise IrodsError(UNIX_FILE_WRITE_ERR - 9, "descriptor is read-only")
    written = os.pwrite(handle.os_fd, message.bs, handle.position)
    handle.position += written
    handle.bytes_written += written
    return Reply(int_info=written)


@api(674)
async def data_obj_lseek(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    element = body(message)
    handle = descriptor(connection, element.get_int("l1descInx"))
    offset, whence = element.get_int("offset"), element.get_int("whence")
    if not handle.writable:
        # As iRODS 5: on a read-only handle the *offset* (whatever ``whence``) is capped at the
        # catalog size, so a seek past the end lands on it rather than beyond.
        row = server.catalog.data_by_id(handle.data_id)
        offset = min(offset, int(row["data_size"])) if row is not None else offset
    base = {0: 0, 1: handle.position, 2: os.fstat(handle.os_fd).st_size}.get(whence)
    if base is None:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "bad seek")
    if base + offset < 0:
        raise IrodsError(UNIX_FILE_LSEEK_ERR - errno.EINVAL, "seek before the start")
    handle.position = base + offset
    return Reply(body=Struct("fileLseekOut_PI", [("offset", handle.position)]).encode())


# -- close and finalize ----------------------------------------------------------------------
def _release(server: ServerState, connection: ConnectionState, handle: Descriptor) -> OpenReplica | None:
    connection.descriptors.pop(handle.fd, None)
    server.close_os_fd(handle)
    replica = server.open_replicas.get(handle.data_id) if handle.writable else None
    if replica is not None:
        replica.handles -= 1
        if replica.abandoned and replica.handles <= 0:
            server.open_replicas.pop(handle.data_id, None)
    return replica


async def finalize(server: ServerState, handle: Descriptor, close_kvp: dict[str, str]) -> None:
    """What the final close of a write handle does: size, status, mtime, checksum, unlock."""
    catalog = server.catalog
    options = {**handle.kvp, **close_kvp}
    replica = server.open_replicas.get(handle.data_id)
    if replica is not None and replica.handles <= 0:
        server.open_replicas.pop(handle.data_id, None)

    size = server.vault.size(handle.data_id)
    wrote = handle.bytes_written > 0 or handle.created
    fields: dict[str, object] = {"data_size": size}
    if (handle.created and handle.declared_size > 0 and size != handle.declared_size
            and "noChkCopyLen" not in options):
        # iRODS 5 marks the new replica stale and still answers success (the byte count is
        # thrown as the "code"), so a client must verify size itself.  We do the same.
        catalog.update_data(handle.data_id, data_size=size, data_is_dirty=REPL_STALE)
        return
    fields["data_is_dirty"] = REPL_GOOD if wrote else handle.previous_status
    if wrote:
        fields["modify_ts"] = timestamp()
        fields["data_checksum"] = ""
    expected = options.get("verifyChksum")
    if "regChksum" in options or expected:
        checksum = await compute_checksum(server, handle.data_id)
        if expected and checksum != expected:
            if "dataIncluded" in options:
                # A single-buffer put (rsDataObjPut's finalize_replica) records the size and the
                # checksum it computed before it compares, then leaves the replica stale.
                catalog.update_data(handle.data_id, data_size=size, data_is_dirty=REPL_STALE,
                                    data_checksum=checksum)
            else:
                catalog.update_data(handle.data_id, data_size=0, data_is_dirty=REPL_STALE,
                                    data_checksum="")
            raise IrodsError(USER_CHKSUM_MISMATCH, f"checksum {checksum} != {expected}")
        fields["data_checksum"] = checksum
    catalog.update_data(handle.data_id, **fields)


async def close_handle(server: ServerState, connection: ConnectionState, handle: Descriptor,
                       close_kvp: dict[str, str]) -> None:
    """DATA_OBJ_CLOSE of one handle: release it; a write handle's close finalizes the replica."""
    _release(server, connection, handle)
    if handle.writable:
        # Like iRODS, any 673 on a write handle finalizes, even after another writer of the
        # replica vanished: a parallel writer that closes its primary after a failed share, or
        # closes a secondary this way instead of REPLICA_CLOSE, publishes a partial "good"
        # replica, which is its bug.
        await finalize(server, handle, close_kvp)


@api(673)
async def data_obj_close(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    element = body(message)
    await close_handle(server, connection, descriptor(connection, element.get_int("l1descInx")),
                       element.kvp())
    return Reply()


@api(20004)
async def replica_close(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    request = json_request(message)
    fd = request.get("fd")
    if not isinstance(fd, int):
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "fd missing")
    handle = descriptor(connection, fd)
    replica = _release(server, connection, handle)
    if replica is not None and replica.abandoned:
        return Reply()  # the replica is stale for good; nothing of this handle is published
    if handle.writable and request.get("update_size"):
        server.catalog.update_data(handle.data_id, data_size=server.vault.size(handle.data_id))
    if handle.writable and request.get("update_status"):
        server.open_replicas.pop(handle.data_id, None)
        server.catalog.update_data(handle.data_id, data_is_dirty=REPL_GOOD, modify_ts=timestamp())
    if handle.writable and request.get("compute_checksum"):
        checksum = await compute_checksum(server, handle.data_id)
        server.catalog.update_data(handle.data_id, data_checksum=checksum)
    return Reply()


def abandon(server: ServerState, connection: ConnectionState) -> None:
    """The client vanished: close its handles; a replica it was writing becomes stale at once.

    As iRODS 5's agent teardown does, even while other handles (parallel writers) still hold
    the token: the bytes may be partial, so status 0 (stale), the size actually on disk and no
    checksum are recorded.  A surviving secondary's REPLICA_CLOSE publishes nothing, but a
    surviving primary's final close still finalizes what is on disk as "good" (iRODS 5.0.2
    does): only the client can know that a share is missing. The token dies with the last
    handle.
    """
    for handle in list(connection.descriptors.values()):
        replica = server.open_replicas.get(handle.data_id) if handle.writable else None
        if replica is not None:
            replica.abandoned = True
        _release(server, connection, handle)
        if handle.writable and server.catalog.data_by_id(handle.data_id) is not None:
            server.catalog.update_data(
                handle.data_id, data_is_dirty=REPL_STALE, data_checksum="",
                data_size=server.vault.size(handle.data_id), modify_ts=timestamp(),
            )


@api(20000)
async def file_descriptor_info(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    request = json_request(message)
    fd = request.get("fd")
    if not isinstance(fd, int) or fd not in connection.descriptors:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "unknown fd")
    handle = connection.descriptors[fd]
    hierarchy = server.config.resource
    return json_reply({
        "bytes_written": handle.bytes_written,
        "data_object_input": {"obj_path": handle.path, "open_flags": handle.flags},
        "data_object_info": {
            "object_path": handle.path, "data_id": str(handle.data_id),
            "resource_hierarchy": hierarchy, "replica_number": 0,
            "resource_name": hierarchy,
        },
        "replica_token": handle.token,
        "l1_descriptor_index": fd,
    })


# -- unlink, rename --------------------------------------------------------------------------
def _existing_object(server: ServerState, message: Message) -> tuple[str, dict[str, str], sqlite3.Row]:
    """The DataObjInp of a request on an existing object: its path, options and catalog row."""
    element = body(message)
    path = data_path(element.get_str("objPath"))
    row = server.catalog.data_object(path)
    if row is None:
        raise IrodsError(CAT_NO_ROWS_FOUND, path)
    return path, element.kvp(), row


@api(615)
async def data_obj_unlink(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    """Forced or irmtrash's: deleted (``delete_object`` needed). Otherwise to the trash, even
    from the trash."""
    user = user_of(connection)
    path, kvp, row = _existing_object(server, message)
    admin = admin_mode(user, kvp)
    if rmtrash_mode(user, kvp, path) or "forceFlag" in kvp:
        delete_object(server, user, row, admin or ADMIN_RMTRASH_KW in kvp)
        return Reply()
    require(server.catalog, row["data_id"], user, DELETE_OBJECT, admin_mode=admin)
    if row["data_id"] in server.open_replicas:
        raise IrodsError(HIERARCHY_ERROR, "object is open for write")
    trash_object(server, user, path)
    return Reply()


@api(627)
async def data_obj_rename(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    """oprType 11 renames a data object, 12 a collection, anything else whichever is there."""
    user = user_of(connection)
    inputs = list(body(message).find_all("DataObjInp_PI"))
    if len(inputs) != 2:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "rename needs source and destination")
    source, target = inputs[0].get_str("objPath"), inputs[1].get_str("objPath")
    kind = inputs[0].get_int("oprType")
    if kind not in (RENAME_DATA_OBJ, RENAME_COLL):
        kind = RENAME_DATA_OBJ if server.catalog.data_object(source) is not None else RENAME_COLL
    if kind == RENAME_COLL:
        source_path, target_path = collection_path(source), collection_path(target)
        if source_path is None or target_path is None:
            raise IrodsError(CAT_NO_ROWS_FOUND, source)
        rename(server, user, source_path, target_path, collection=True, connection=connection)
    else:
        rename(server, user, data_path(source), data_path(target), collection=False,
               connection=connection)
    return Reply()


# -- checksum, modDataObjMeta, stat ----------------------------------------------------------
async def _verify(server: ServerState, row: sqlite3.Row, kvp: dict[str, str]) -> Reply:
    """VERIFY_CHKSUM_KW, as iRODS 5 words it: the size check, then the checksum (a replica
    without one is a warning, and stops there); findings go back as a JSON list with
    CHECK_VERIFICATION_RESULTS, nothing found is an empty success."""
    if "forceChksum" in kvp:
        raise IrodsError(USER_INCOMPATIBLE_PARAMS, "verify and force are exclusive")
    findings: list[dict[str, object]] = []

    def report(severity: str, code: int, text: str) -> None:
        findings.append({"severity": severity, "error_code": code, "message": f"{text} [0]."})

    if server.vault.size(row["data_id"]) != row["data_size"]:
        report("error", USER_FILE_SIZE_MISMATCH,
               "ERROR: Physical size does not match size in catalog for replica")
    stored = row["data_checksum"] or ""
    if not stored:
        report("warning", CAT_NO_CHECKSUM_FOR_REPLICA, "WARNING: No checksum available for replica")
    elif "no_compute" not in kvp and await compute_checksum(server, row["data_id"]) != stored:
        report("error", USER_CHKSUM_MISMATCH,
               "ERROR: Computed checksum does not match what is in the catalog for replica")
    if not findings:
        return Reply()
    text = json.dumps(findings, sort_keys=True, separators=(",", ":"))  # nlohmann's layout
    return str_reply(text, int_info=CHECK_VERIFICATION_RESULTS)


@api(629)
async def data_obj_chksum(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    _, kvp, row = _existing_object(server, message)
    check_replica(kvp, exists=True)
    catalog = server.catalog
    admin = admin_mode(user, kvp)
    require(catalog, row["data_id"], user, READ, admin_mode=admin)
    if row["data_is_dirty"] not in (REPL_GOOD, REPL_STALE) or row["data_id"] in server.open_replicas:
        raise IrodsError(SYS_REPLICA_INACCESSIBLE, "replica is not at rest")
    if "verifyChksum" in kvp:
        return await _verify(server, row, kvp)
    stored = row["data_checksum"] or ""
    if stored and "forceChksum" not in kvp:
        return str_reply(stored)
    if "no_compute" in kvp:
        return str_reply(stored)
    require(catalog, row["data_id"], user, WRITE, admin_mode=admin)
    checksum = await compute_checksum(server, row["data_id"])
    catalog.update_data(row["data_id"], data_checksum=checksum)
    return str_reply(checksum)


_META_FIELDS = {
    "dataModify": "modify_ts", "dataCreate": "create_ts", "dataSize": "data_size",
    "chksum": "data_checksum", "dataType": "data_type_name", "dataComments": "r_comment",
    "dataMode": "data_mode", "replStatus": "data_is_dirty",
}


@api(622)
async def mod_data_obj_meta(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    info = element.find("DataObjInfo_PI")
    path = data_path(info.get_str("objPath") if info is not None else "")
    changes = element.kvp()
    row = server.catalog.data_object(path)
    if row is None:
        raise IrodsError(CAT_NO_ROWS_FOUND, path)
    require(server.catalog, row["data_id"], user, WRITE, admin_mode=ADMIN_KW in changes)
    fields: dict[str, object] = {}
    for key, value in changes.items():
        column = _META_FIELDS.get(key)
        if column in ("modify_ts", "create_ts"):
            fields[column] = timestamp(float(value))
        elif column in ("data_size", "data_is_dirty"):
            fields[column] = int(value)
        elif column is not None:
            fields[column] = value
    if fields:
        server.catalog.update_data(row["data_id"], **fields)
    return Reply()


@api(633)
async def obj_stat(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    """What the user can see (``namespace.visible``); anything else does not exist."""
    user = user_of(connection)
    path = body(message).get_str("objPath")
    found = visible(server.catalog, user, path)
    if found is None:
        raise IrodsError(USER_FILE_DOES_NOT_EXIST, path)
    if "data_id" not in found.keys():  # a collection
        stat = [("objSize", 0), ("objType", 2), ("dataMode", 0), ("dataId", found["coll_id"]),
                ("chksum", ""), ("ownerName", found["coll_owner_name"]),
                ("ownerZone", found["coll_owner_zone"]), ("createTime", found["create_ts"]),
                ("modifyTime", found["modify_ts"])]
        return Reply(int_info=2, body=Struct("RodsObjStat_PI", stat).encode())
    stat = [("objSize", found["data_size"]), ("objType", 1), ("dataMode", 0),
            ("dataId", found["data_id"]), ("chksum", found["data_checksum"]),
            ("ownerName", found["data_owner_name"]), ("ownerZone", found["data_owner_zone"]),
            ("createTime", found["create_ts"]), ("modifyTime", found["modify_ts"])]
    return Reply(int_info=1, body=Struct("RodsObjStat_PI", stat).encode())


__all__ = ["abandon", "close_handle", "compute_checksum", "finalize", "open_object",
           "CAT_NO_ACCESS_PERMISSION"]
