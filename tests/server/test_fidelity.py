"""The embedded server answers as a live iRODS 5.0.2 zone does, seen by a regular rodsuser.

Every test here runs against both servers (the ``zone`` fixture) and asserts what the real
zone was observed to do: the status code, and where a call changes the catalog, the names and
states it leaves behind, because the real server is not always atomic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import irods.keywords as kw
import pytest
from irods.exception import SYS_NO_API_PRIV, iRODSException
from irods.message import iRODSMessage
from irods.session import iRODSSession

from mango_transfer.server.api_table import API_TABLE, LOCAL_USER
from tests.zones import Zone

SYS_API_INPUT_ERR = -14000


def _put(session: iRODSSession, path: str, data: bytes = b"abc") -> None:
    with session.data_objects.open(path, "w") as handle:
        handle.write(data)


def _raw_status(session: iRODSSession, number: int) -> int:
    """Send API ``number`` with an empty input struct; the status the server answers."""
    with session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", msg=b"", int_info=number))
        try:
            return int(conn.recv().int_info)
        except iRODSException as error:
            message = getattr(error, "server_msg", None)
            assert message is not None, f"API {number}: {error!r}"
            return int(message.int_info)


def _rodsuser_may_call(number: int) -> bool:
    api = API_TABLE[number]
    return max(api.client_auth, api.proxy_auth) <= LOCAL_USER and api.allowlisted


# -- API privileges ---------------------------------------------------------------------------
@pytest.fixture
def scratch(zone: Zone, session: iRODSSession) -> Iterator[str]:
    with zone.scratch("fidelity") as path:
        yield path


def test_mod_data_obj_meta_is_refused_to_a_rodsuser_and_touch_is_not(
        session: iRODSSession, scratch: str) -> None:
    path = f"{scratch}/obj"
    _put(session, path)
    with pytest.raises(SYS_NO_API_PRIV) as refused:
        session.data_objects.modDataObjMeta({"objPath": path}, {"dataModify": "1700000000"})
    # As the real agent answers it: the status alone, no body and no error stack.
    reply = refused.value.server_msg
    assert (reply.msg, reply.error, reply.bs) == (None, None, None)
    session.data_objects.touch(path, seconds_since_epoch=1700000000)
    modified = session.data_objects.get(path).modify_time
    assert abs(modified.timestamp() - 1700000000) < 1


def test_user_administration_is_refused_to_a_rodsuser(session: iRODSSession) -> None:
    """GENERAL_ADMIN (701) at the dispatch; USER_ADMIN (714) lets a rodsuser in, then refuses."""
    with pytest.raises(SYS_NO_API_PRIV):
        session.users.create(f"intruder{time.monotonic_ns()}", "rodsuser")
    with pytest.raises(SYS_NO_API_PRIV):
        session.users.modify(session.username, "password", "new-password")
    assert _status_of(session.users.create_with_password, f"intruder{time.monotonic_ns()}",
                      "pw") == CAT_INSUFFICIENT_PRIVILEGE_LEVEL


REPRESENTATIVE = {
    # number: may a rodsuser call it (True: the request reaches the API and fails on its
    # empty input struct; False: SYS_NO_API_PRIV before anything runs)
    500: False,     # FILE_CREATE: server-to-server only
    602: True,      # DATA_OBJ_OPEN
    622: False,     # MOD_DATA_OBJ_META: not in the client allowlist
    670: False,     # L3_FILE_GET_SINGLE_BUF: not in the client allowlist
    696: True,      # DATA_OBJ_COPY
    701: False,     # GENERAL_ADMIN: rodsadmin only
    702: True,      # GEN_QUERY
    714: True,      # USER_ADMIN: allowed in; the API itself decides what a rodsuser may do
    724: False,     # GET_TEMP_PASSWORD_FOR_OTHER
    20006: False,   # DATA_OBJECT_FINALIZE: a plugin that stays off the allowlist
    20007: True,    # TOUCH
    20009: False,   # GET_GRID_CONFIGURATION_VALUE
}


@pytest.mark.parametrize("number", sorted(REPRESENTATIVE))
def test_representative_api_privileges(session: iRODSSession, number: int) -> None:
    expected = SYS_API_INPUT_ERR if REPRESENTATIVE[number] else SYS_NO_API_PRIV.code
    assert _raw_status(session, number) == expected
    assert _rodsuser_may_call(number) == REPRESENTATIVE[number]


def test_every_api_of_the_table_refuses_or_admits_a_rodsuser_as_the_real_one(
        session: iRODSSession) -> None:
    """The whole table at once: on the real zone this checks the table against iRODS itself."""
    numbers = [number for number, api in API_TABLE.items() if api.takes_input]
    answers = {number: _raw_status(session, number) for number in numbers}
    expected = {number: SYS_API_INPUT_ERR if _rodsuser_may_call(number) else SYS_NO_API_PRIV.code
                for number in numbers}
    assert answers == expected
    assert session.collections.exists(session.collections.get(
        f"/{session.zone}/home/{session.username}").path)  # the connection survived


# -- admin mode keywords ----------------------------------------------------------------------
ADMIN = {kw.ADMIN_KW: ""}
CAT_INSUFFICIENT_PRIVILEGE_LEVEL = -830000
CAT_NO_ACCESS_PERMISSION = -818000


def _status_of(call: Callable[..., object], *args: object, **options: object) -> int:
    """The iRODS status ``call(*args, **options)`` fails with.

    PRC 3.3.0 raises ``KeyError(code)`` for a status it has no exception class for.
    """
    with pytest.raises((iRODSException, KeyError)) as failure:
        call(*args, **options)
    if isinstance(failure.value, KeyError):
        return int(failure.value.args[0])
    return int(failure.value.code)


def _objects(session: iRODSSession, collection: str) -> dict[str, tuple[int, str]]:
    """Every data object below ``collection``: relative path -> (size, replica status)."""
    from irods.column import Like
    from irods.models import Collection, DataObject

    rows = session.query(Collection.name, DataObject.name, DataObject.size,
                         DataObject.replica_status).filter(
        Like(Collection.name, f"{collection}%")).get_results()
    found = {}
    for row in rows:
        if row[Collection.name] == collection or row[Collection.name].startswith(collection + "/"):
            relative = f"{row[Collection.name]}/{row[DataObject.name]}"[len(collection) + 1:]
            found[relative] = (int(row[DataObject.size]), str(row[DataObject.replica_status]))
    return found


def _collections(session: iRODSSession, collection: str) -> set[str]:
    """Every collection strictly below ``collection``, relative to it."""
    from irods.column import Like
    from irods.models import Collection

    rows = session.query(Collection.name).filter(Like(Collection.name, f"{collection}/%"))
    return {row[Collection.name][len(collection) + 1:] for row in rows.get_results()}


def test_admin_keyword_on_unlink_is_refused_and_the_object_stays(
        session: iRODSSession, scratch: str) -> None:
    _put(session, f"{scratch}/obj")
    unlink = session.data_objects.unlink
    assert _status_of(unlink, f"{scratch}/obj", **ADMIN) == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert _status_of(unlink, f"{scratch}/obj", force=True, **ADMIN) \
        == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert _objects(session, scratch) == {"obj": (3, "1")}


def test_admin_keyword_on_a_forced_rmcoll_is_refused_but_ignored_on_a_move_to_trash(
        zone: Zone, session: iRODSSession, scratch: str) -> None:
    session.collections.create(f"{scratch}/full")
    _put(session, f"{scratch}/full/obj")
    session.collections.create(f"{scratch}/empty")
    for path in (f"{scratch}/full", f"{scratch}/empty"):
        assert _status_of(session.collections.remove, path, recurse=True, force=True,
                          **ADMIN) == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert _objects(session, scratch) == {"full/obj": (3, "1")}
    assert _collections(session, scratch) == {"full", "empty"}
    session.collections.remove(f"{scratch}/full", recurse=True, **ADMIN)  # to the trash
    assert _collections(session, scratch) == {"empty"}
    trashed = zone.trash + scratch[len(zone.home):]
    assert _objects(session, trashed) == {"full/obj": (3, "1")}


def test_admin_keyword_on_chksum_is_refused(session: iRODSSession, scratch: str) -> None:
    _put(session, f"{scratch}/obj")
    assert _status_of(session.data_objects.chksum, f"{scratch}/obj", **ADMIN) \
        == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert session.data_objects.get(f"{scratch}/obj").checksum is None


def test_admin_keyword_on_open_for_write_is_refused_and_on_create_leaves_a_stale_object(
        session: iRODSSession, scratch: str) -> None:
    _put(session, f"{scratch}/obj")
    with session.data_objects.open(f"{scratch}/obj", "r", **ADMIN) as handle:  # reading: ignored
        assert handle.read() == b"abc"
    assert _status_of(session.data_objects.open, f"{scratch}/obj", "a", **ADMIN) \
        == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert _status_of(session.data_objects.create, f"{scratch}/new", **ADMIN) \
        == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    # Real iRODS registers the new object before it refuses: it stays, empty and stale.
    assert _objects(session, scratch) == {"obj": (3, "1"), "new": (0, "0")}


def test_admin_mode_metadata_and_acl_are_refused(zone: Zone, session: iRODSSession,
                                                  scratch: str) -> None:
    from irods.access import iRODSAccess
    from irods.meta import AVUOperation, iRODSMeta
    from irods.models import DataObject

    path = f"{scratch}/obj"
    _put(session, path)
    admin_metadata = session.metadata(admin=True)
    try:
        assert _status_of(admin_metadata.add, DataObject, path, iRODSMeta("a", "1")) \
            == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
        assert _status_of(admin_metadata.apply_atomic_operations, DataObject, path,
                          AVUOperation(operation="add", avu=iRODSMeta("b", "1"))) \
            == CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    finally:
        session.metadata(admin=False)  # PRC keeps the admin flag in a class-wide dict
    assert session.metadata.get(DataObject, path) == []
    with pytest.raises(iRODSException) as refused:
        session.acls.set(iRODSAccess("read", path, zone.other.name), admin=True)
    assert refused.value.code == CAT_NO_ACCESS_PERMISSION
    assert refused.value.args[0] == "You must be the admin to use the -M admin mode"
    assert {a.user_name for a in session.acls.get(session.data_objects.get(path))} \
        == {zone.user.name}


# -- GenQuery ---------------------------------------------------------------------------------
def test_first_after_other_queries_on_a_pooled_session(session: iRODSSession, scratch: str) -> None:
    """PRC's first() closes its query on whichever pooled connection is idle: not an error."""
    from irods.models import Collection, DataObject

    for index in range(4):
        _put(session, f"{scratch}/obj{index}")
    handles = [session.data_objects.open(f"{scratch}/obj{index}", "r") for index in range(3)]
    for handle in handles:
        handle.close()
    assert len(session.pool.idle) >= 3  # several connections, so the close can go elsewhere
    query = session.query(DataObject.name).filter(Collection.name == scratch)
    for _ in range(6):
        assert query.first()[DataObject.name] == "obj0"
    assert sorted(row[DataObject.name] for row in query) == [f"obj{i}" for i in range(4)]


# -- replica numbers --------------------------------------------------------------------------
SYS_REPLICA_DOES_NOT_EXIST = -164000
USER_INVALID_REPLICA_INPUT = -403000


def test_open_of_a_replica_that_does_not_exist(session: iRODSSession, scratch: str) -> None:
    path = f"{scratch}/obj"
    _put(session, path)
    open_ = session.data_objects.open
    for mode, number in (("r", "7"), ("a", "3"), ("r", "3abc")):
        assert _status_of(open_, path, mode, **{kw.REPL_NUM_KW: number}) \
            == SYS_REPLICA_DOES_NOT_EXIST, (mode, number)
    for number in ("abc", "", "99999999999"):
        assert _status_of(open_, path, "r", **{kw.REPL_NUM_KW: number}) \
            == USER_INVALID_REPLICA_INPUT, number
    for number in ("0", " 0", "-1"):  # replica 0 exists; a negative number names none
        with open_(path, "r", **{kw.REPL_NUM_KW: number}) as handle:
            assert handle.read() == b"abc"
    # Any replica of an object that does not exist, even number 0, and even when creating it.
    assert _status_of(open_, f"{scratch}/missing", "r", **{kw.REPL_NUM_KW: "0"}) \
        == SYS_REPLICA_DOES_NOT_EXIST
    assert _status_of(open_, f"{scratch}/new", "w", **{kw.REPL_NUM_KW: "0"}) \
        == SYS_REPLICA_DOES_NOT_EXIST
    assert _status_of(session.data_objects.chksum, path, **{kw.REPL_NUM_KW: "3"}) \
        == SYS_REPLICA_DOES_NOT_EXIST
    assert _objects(session, scratch) == {"obj": (3, "1")}


# -- checksum verification --------------------------------------------------------------------
CHECK_VERIFICATION_RESULTS = -407000
USER_INCOMPATIBLE_PARAMS = -402000


def _chksum_reply(session: iRODSSession, path: str, **options: str) -> tuple[int, str]:
    """The raw answer to DATA_OBJ_CHKSUM: its status and the string it carries."""
    from irods.api_number import api_number
    from irods.message import DataObjChksumRequest

    request = iRODSMessage("RODS_API_REQ", msg=DataObjChksumRequest(path, **options),
                           int_info=api_number["DATA_OBJ_CHKSUM_AN"])
    replies: list[iRODSMessage] = []
    with session.pool.get_connection() as conn:
        conn.send(request)
        try:
            conn.recv(return_message=replies)
        except iRODSException:
            pass
    reply = replies[0]
    if not reply.msg:
        return int(reply.int_info), ""
    from irods.message import STR_PI

    return int(reply.int_info), str(reply.get_main_message(STR_PI).myStr)


def test_verify_of_a_replica_without_checksum_is_a_warning(session: iRODSSession,
                                                           scratch: str) -> None:
    import json

    from irods.manager.data_object_manager import Server_Checksum_Warning
    from irods.message import RErrorStack

    path = f"{scratch}/obj"
    _put(session, path)
    status, text = _chksum_reply(session, path, **{kw.VERIFY_CHKSUM_KW: ""})
    assert status == CHECK_VERIFICATION_RESULTS
    assert json.loads(text) == [{"error_code": -862000, "severity": "warning",
                                 "message": "WARNING: No checksum available for replica [0]."}]
    stack = RErrorStack()
    with pytest.raises(Server_Checksum_Warning):
        session.data_objects.chksum(path, **{kw.VERIFY_CHKSUM_KW: ""}, r_error=stack)
    assert [(entry.status, entry.raw_msg_) for entry in stack] \
        == [(-862000, "WARNING: No checksum available for replica [0].")]
    assert _status_of(session.data_objects.chksum, path,
                      **{kw.VERIFY_CHKSUM_KW: "", kw.FORCE_CHKSUM_KW: ""}) == USER_INCOMPATIBLE_PARAMS
    checksum = session.data_objects.chksum(path)
    assert checksum.startswith("sha2:")
    assert _chksum_reply(session, path, **{kw.VERIFY_CHKSUM_KW: ""}) == (0, "")


@pytest.mark.embedded_only("damages a replica in the vault behind the catalog's back")
def test_verify_reports_a_size_mismatch_then_the_checksum(zone: Zone, session: iRODSSession,
                                                          scratch: str) -> None:
    import json

    from mango_transfer.server.state import Vault

    path = f"{scratch}/obj"
    _put(session, path, b"0123456789")
    session.data_objects.chksum(path)
    assert zone.server is not None
    replica = Vault(zone.server.config.data_dir / "vault").path_for(session.data_objects.get(path).id)
    replica.write_bytes(b"01234")
    status, text = _chksum_reply(session, path, **{kw.VERIFY_CHKSUM_KW: ""})
    assert status == CHECK_VERIFICATION_RESULTS
    assert json.loads(text) == [
        {"error_code": -401000, "severity": "error",
         "message": "ERROR: Physical size does not match size in catalog for replica [0]."},
        {"error_code": -314000, "severity": "error",
         "message": "ERROR: Computed checksum does not match what is in the catalog for replica [0]."},
    ]


# -- seek -------------------------------------------------------------------------------------
def test_seek_on_a_read_handle_caps_the_offset_at_the_object_size(session: iRODSSession,
                                                                  scratch: str) -> None:
    path = f"{scratch}/obj"
    _put(session, path, b"x" * 10240)
    with session.data_objects.open(path, "r") as handle:
        assert handle.seek(20000) == 10240
        assert handle.read(10) == b""
        handle.seek(5000)
        assert handle.seek(10000, 1) == 15000  # the offset is capped, not the position
        assert handle.seek(100, 2) == 10340
        assert handle.seek(-100, 2) == 10140
        with pytest.raises(iRODSException) as failure:
            handle.seek(-5)
        assert failure.value.code == -518022  # UNIX_FILE_LSEEK_ERR - EINVAL
    with session.data_objects.open(path, "r+") as handle:  # a write handle seeks anywhere
        assert handle.seek(20000) == 20000


# -- removing collections ---------------------------------------------------------------------
CAT_NO_ROWS_FOUND = -808000
CAT_UNKNOWN_COLLECTION = -814000
CAT_NAME_EXISTS_AS_COLLECTION = -833000
CAT_NAME_EXISTS_AS_DATAOBJ = -834000
CAT_RECURSIVE_MOVE = -837000
CAT_COLLECTION_NOT_EMPTY = -821000
USER_FILE_DOES_NOT_EXIST = -310000
CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME = -809000


def _in_trash(zone: Zone, path: str) -> str:
    return zone.trash + path[len(zone.home):]


@pytest.mark.parametrize(("recurse", "force", "object_status", "missing_status", "trash_parent"), [
    # not recursive: unregister at once, which finds no collection there
    (False, False, CAT_UNKNOWN_COLLECTION, CAT_UNKNOWN_COLLECTION, False),
    (False, True, CAT_UNKNOWN_COLLECTION, CAT_UNKNOWN_COLLECTION, False),
    # recursive: to the trash; the trash parents are made before the move fails
    (True, False, CAT_NO_ROWS_FOUND, CAT_NO_ROWS_FOUND, True),
    # recursive and forced: delete
    (True, True, CAT_NAME_EXISTS_AS_DATAOBJ, USER_FILE_DOES_NOT_EXIST, False),
])
def test_rmcoll_of_a_data_object_or_of_nothing(zone: Zone, session: iRODSSession, scratch: str,
                                               recurse: bool, force: bool, object_status: int,
                                               missing_status: int, trash_parent: bool) -> None:
    session.collections.create(f"{scratch}/sub")
    _put(session, f"{scratch}/sub/obj")
    remove = session.collections.remove
    assert _status_of(remove, f"{scratch}/sub/obj", recurse=recurse, force=force) == object_status
    assert _status_of(remove, f"{scratch}/sub/missing", recurse=recurse, force=force) \
        == missing_status
    assert _objects(session, scratch) == {"sub/obj": (3, "1")}
    assert session.collections.exists(_in_trash(zone, f"{scratch}/sub")) == trash_parent


def test_rmcoll_without_recursion_deletes_an_empty_collection_at_once(
        zone: Zone, session: iRODSSession, scratch: str) -> None:
    session.collections.create(f"{scratch}/empty")
    session.collections.create(f"{scratch}/full/sub")
    remove = session.collections.remove
    assert _status_of(remove, f"{scratch}/full", recurse=False) == CAT_COLLECTION_NOT_EMPTY
    remove(f"{scratch}/empty", recurse=False)
    assert _collections(session, scratch) == {"full", "full/sub"}
    assert not session.collections.exists(_in_trash(zone, f"{scratch}/empty"))
    # A missing parent is named in the error.
    with pytest.raises(iRODSException) as failure:
        remove(f"{scratch}/nope/deeper", recurse=False)
    assert failure.value.code == CAT_UNKNOWN_COLLECTION
    assert failure.value.args[0] == f"collection '{scratch}/nope' is unknown"


# -- the trash --------------------------------------------------------------------------------
def _trash_name(name: str, taken: str) -> bool:
    """Whether ``name`` is the trash's answer to a clash on ``taken``: ``taken.N``, N a u32."""
    suffix = name[len(taken) + 1:]
    return name.startswith(taken + ".") and suffix.isdigit() and int(suffix) < 2**32


def test_trash_layout_and_name_clashes(zone: Zone, session: iRODSSession, scratch: str) -> None:
    trash = _in_trash(zone, scratch)
    for _ in range(2):
        _put(session, f"{scratch}/obj")
        session.data_objects.unlink(f"{scratch}/obj")
        session.collections.create(f"{scratch}/coll/sub")
        session.collections.remove(f"{scratch}/coll")
    objects = sorted(_objects(session, trash))
    assert objects[0] == "obj" and _trash_name(objects[1], "obj"), objects
    colls = _collections(session, trash)
    clash = next(name for name in colls if "/" not in name and name != "coll")
    assert _trash_name(clash, "coll") and colls == {"coll", "coll/sub", clash, f"{clash}/sub"}
    assert _collections(session, scratch) == set() and _objects(session, scratch) == {}


def test_removing_from_the_trash_without_force_trashes_again(zone: Zone, session: iRODSSession,
                                                             scratch: str) -> None:
    trash = _in_trash(zone, scratch)
    _put(session, f"{scratch}/obj")
    session.collections.create(f"{scratch}/coll/sub")
    session.data_objects.unlink(f"{scratch}/obj")
    session.collections.remove(f"{scratch}/coll")
    session.data_objects.unlink(f"{trash}/obj")
    session.collections.remove(f"{trash}/coll")
    nested = f"{zone.trash}/{trash[1:].split('/', 1)[1]}"  # /Z/trash/home/U/trash/home/U/...
    assert _objects(session, nested) == {"obj": (3, "1")}
    assert _collections(session, nested) == {"coll", "coll/sub"}
    session.data_objects.unlink(f"{nested}/obj", force=True)  # only force really deletes
    session.collections.remove(f"{nested}/coll", force=True)
    assert _objects(session, nested) == {} and _collections(session, nested) == set()


def test_what_a_user_removes_from_another_home_goes_to_their_own_trash(
        zone: Zone, session: iRODSSession) -> None:
    from irods.access import iRODSAccess

    with zone.other.session() as other:
        shared = f"{zone.other.home}/shared{time.monotonic_ns()}"
        other.collections.create(shared)
        try:
            other.acls.set(iRODSAccess("own", shared, zone.user.name))
            _put(session, f"{shared}/mine")
            session.collections.create(f"{shared}/sub")
            session.data_objects.unlink(f"{shared}/mine")
            session.collections.remove(f"{shared}/sub")
            landed = f"{zone.trash}/{zone.other.name}/{shared.rsplit('/', 1)[1]}"
            assert _objects(session, landed) == {"mine": (3, "1")}
            assert _collections(session, landed) == {"sub"}
            assert _objects(other, f"/{zone.zone_name}/trash/home/{zone.other.name}") == {}
        finally:
            other.collections.remove(shared, recurse=True, force=True)
            session.collections.remove(f"{zone.trash}/{zone.other.name}", force=True)


# -- rename and move --------------------------------------------------------------------------
# When a move fails on a missing target collection, the real agent keeps the in-place rename
# in its open transaction: the connection sees it, its next committing call (any change to the
# catalog) makes it permanent, and its end without one rolls it back. These tests move through
# a session of their own (one connection, so one agent) and look again after it has ended.
def _eventually(probe: Callable[[], object], expected: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while (found := probe()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found == expected


def _rename(session: iRODSSession, source: str, target: str, kind: int) -> int:
    """DATA_OBJ_RENAME as sent (PRC's move appends the name when the target is a collection);
    ``kind`` is the oprType: 11 a data object, 12 a collection, 0 whichever is there."""
    from irods.api_number import api_number
    from irods.message import FileOpenRequest, ObjCopyRequest, StringStringMap

    inputs = [FileOpenRequest(objPath=path, createMode=0, openFlags=0, offset=0, dataSize=0,
                              numThreads=0, oprType=kind, KeyValPair_PI=StringStringMap())
              for path in (source, target)]
    request = iRODSMessage("RODS_API_REQ", msg=ObjCopyRequest(
        srcDataObjInp_PI=inputs[0], destDataObjInp_PI=inputs[1]),
        int_info=api_number["DATA_OBJ_RENAME_AN"])
    with session.pool.get_connection() as conn:
        conn.send(request)
        try:
            return int(conn.recv().int_info)
        except iRODSException as error:
            return int(error.code)


def test_moving_a_data_object_into_a_missing_collection_renames_it_in_place(
        zone: Zone, session: iRODSSession, scratch: str) -> None:
    for name in ("kept", "dropped", "same"):
        _put(session, f"{scratch}/{name}")
    with zone.user.session() as mover:
        move = mover.data_objects.move
        assert _status_of(move, f"{scratch}/kept", f"{scratch}/nope/kept2") \
            == CAT_UNKNOWN_COLLECTION
        assert _status_of(move, f"{scratch}/same", f"{scratch}/nope/same") \
            == CAT_UNKNOWN_COLLECTION
        assert set(_objects(mover, scratch)) == {"kept2", "dropped", "same"}
        mover.collections.create(f"{scratch}/commits")  # the agent commits what it held
    with zone.user.session() as mover:
        assert _status_of(mover.data_objects.move, f"{scratch}/dropped", f"{scratch}/nope/x") \
            == CAT_UNKNOWN_COLLECTION
        assert set(_objects(mover, scratch)) == {"kept2", "x", "same"}
    _eventually(lambda: set(_objects(session, scratch)), {"kept2", "dropped", "same"})


def test_moving_a_collection_into_its_own_subtree(zone: Zone, session: iRODSSession,
                                                 scratch: str) -> None:
    session.collections.create(f"{scratch}/c/d")
    _put(session, f"{scratch}/c/d/obj")
    for commit in (False, True):
        with zone.user.session() as mover:
            # Another last name: renamed in place first, after which the target is gone.
            assert _status_of(mover.collections.move, f"{scratch}/c", f"{scratch}/c/d/e") \
                == CAT_UNKNOWN_COLLECTION
            assert _collections(mover, scratch) == {"e", "e/d"}
            assert _objects(mover, scratch) == {"e/d/obj": (3, "1")}
            if commit:
                mover.data_objects.touch(f"{scratch}/e/d/obj")
        expected = {"e", "e/d"} if commit else {"c", "c/d"}
        _eventually(lambda: _collections(session, scratch), expected)  # noqa: B023
    # The same last name: the move itself is refused, and nothing changes.
    assert _status_of(session.collections.move, f"{scratch}/e", f"{scratch}/e/d/e") \
        == CAT_RECURSIVE_MOVE
    assert _collections(session, scratch) == {"e", "e/d"}


def test_a_failed_move_step_undoes_the_rename(session: iRODSSession, scratch: str) -> None:
    session.collections.create(f"{scratch}/a")
    session.collections.create(f"{scratch}/b/taken_coll")
    for name in ("a/x", "a/y", "a/clash", "b/taken", "a/z"):
        _put(session, f"{scratch}/{name}")
    def move(source: str, target: str) -> int:
        return _rename(session, f"{scratch}/{source}", f"{scratch}/{target}", 11)

    # the new name is taken where the object is (though free where it goes)
    assert move("a/x", "b/clash") == CAT_NAME_EXISTS_AS_DATAOBJ
    # the name is taken where it goes, by a data object or by a collection
    assert move("a/y", "b/taken") == CAT_NAME_EXISTS_AS_DATAOBJ
    assert move("a/z", "b/taken_coll") == CAT_NAME_EXISTS_AS_COLLECTION
    assert _objects(session, scratch) == {name: (3, "1") for name in
                                          ("a/x", "a/y", "a/clash", "b/taken", "a/z")}


def test_rename_sticks_to_the_kind_it_is_asked_for(session: iRODSSession, scratch: str) -> None:
    _put(session, f"{scratch}/obj")
    session.collections.create(f"{scratch}/coll")
    assert _rename(session, f"{scratch}/obj", f"{scratch}/obj2", 12) == CAT_NO_ROWS_FOUND
    assert _rename(session, f"{scratch}/coll", f"{scratch}/coll2", 11) == CAT_NO_ROWS_FOUND
    assert _rename(session, f"{scratch}/missing", f"{scratch}/m2", 12) == CAT_NO_ROWS_FOUND
    assert _rename(session, f"{scratch}/obj", f"{scratch}/obj2", 0) == 0  # 0: whichever it is
    assert _rename(session, f"{scratch}/coll", f"{scratch}/coll2", 0) == 0
    assert _objects(session, scratch) == {"obj2": (3, "1")}
    assert _collections(session, scratch) == {"coll2"}


def test_modify_times_of_a_rename_and_of_a_move(session: iRODSSession, scratch: str) -> None:
    session.collections.create(f"{scratch}/a")
    session.collections.create(f"{scratch}/b")
    _put(session, f"{scratch}/a/obj")
    session.data_objects.touch(f"{scratch}/a/obj", seconds_since_epoch=1_600_000_000)
    for coll in ("a", "b"):
        session.collections.touch(f"{scratch}/{coll}", seconds_since_epoch=1_600_000_000)

    def stamps(path: str) -> tuple[int, int, int]:
        return (int(session.data_objects.get(path).modify_time.timestamp()),
                int(session.collections.get(f"{scratch}/a").modify_time.timestamp()),
                int(session.collections.get(f"{scratch}/b").modify_time.timestamp()))

    session.data_objects.move(f"{scratch}/a/obj", f"{scratch}/a/renamed")
    obj, a, b = stamps(f"{scratch}/a/renamed")
    assert obj == 1_600_000_000 and a > 1_600_000_000 and b == 1_600_000_000
    session.data_objects.move(f"{scratch}/a/renamed", f"{scratch}/b/renamed")
    obj, a, b = stamps(f"{scratch}/b/renamed")
    assert obj > 1_600_000_000 and b > 1_600_000_000  # a move is a modification of the object


# -- what a second user may do ----------------------------------------------------------------
@pytest.mark.parametrize(("object_level", "collection_level"), [
    ("read", "write"), ("write", "read"), ("write", "write"), ("own", "read"), ("own", "write")])
def test_permissions_to_delete_and_rename(zone: Zone, session: iRODSSession, scratch: str,
                                          object_level: str, collection_level: str) -> None:
    """Deleting or renaming needs ``own`` (``write`` is not enough); removing a collection also
    needs write on its parent; a create over an object one may not write is a name clash."""
    from irods.access import iRODSAccess

    session.acls.set(iRODSAccess(collection_level, scratch, zone.other.name))
    for name in ("trash", "force", "rename", "overwrite"):
        _put(session, f"{scratch}/{name}")
        session.acls.set(iRODSAccess(object_level, f"{scratch}/{name}", zone.other.name))
    for name in ("ctrash", "cforce"):
        session.collections.create(f"{scratch}/{name}")
        session.acls.set(iRODSAccess(object_level, f"{scratch}/{name}", zone.other.name))
    owner = object_level == "own"
    collection_writable = collection_level == "write"

    def outcome(call: Callable[..., object], *args: object, **options: object) -> int:
        try:
            call(*args, **options)
        except iRODSException as error:
            return int(error.code)
        return 0

    with zone.other.session() as other:
        objects, colls = other.data_objects, other.collections
        assert outcome(objects.unlink, f"{scratch}/trash") == (0 if owner else CAT_NO_ACCESS_PERMISSION)
        assert outcome(objects.unlink, f"{scratch}/force", force=True) \
            == (0 if owner else CAT_NO_ACCESS_PERMISSION)
        assert outcome(objects.move, f"{scratch}/rename", f"{scratch}/renamed") \
            == (0 if owner else CAT_NO_ACCESS_PERMISSION)
        may_remove = owner and collection_writable
        assert outcome(colls.remove, f"{scratch}/ctrash") \
            == (0 if may_remove else CAT_NO_ACCESS_PERMISSION)
        assert outcome(colls.remove, f"{scratch}/cforce", force=True) \
            == (0 if may_remove else CAT_NO_ACCESS_PERMISSION)
        expected = 0
        if object_level == "read":
            expected = CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME if collection_writable \
                else CAT_NO_ACCESS_PERMISSION
        assert outcome(lambda: objects.open(f"{scratch}/overwrite", "w").close()) == expected


def test_what_another_user_may_remove_of_a_tree(zone: Zone, session: iRODSSession,
                                                scratch: str) -> None:
    """The other user owns the collections of each tree but not every object in them."""
    from irods.access import iRODSAccess

    session.acls.set(iRODSAccess("write", scratch, zone.other.name))
    trees = {"refused": (("a", "write"), ("b", "own")),
             "moved": (("a", "own"), ("b", "write"), ("sub/c", "read")),
             "forced": (("mine", "own"), ("theirs", "write"), ("sub/hidden", "read"))}
    for tree, objects in trees.items():
        session.collections.create(f"{scratch}/{tree}/sub")
        for path in (tree, f"{tree}/sub"):
            session.acls.set(iRODSAccess("own", f"{scratch}/{path}", zone.other.name))
        for name, level in objects:
            _put(session, f"{scratch}/{tree}/{name}")
            session.acls.set(iRODSAccess(level, f"{scratch}/{tree}/{name}", zone.other.name))
    with zone.other.session() as other:
        # To the trash: iRODS checks the first object only (by collection and name), and moves
        # all or nothing: nothing when that one may not be deleted, everything otherwise.
        assert _status_of(other.collections.remove, f"{scratch}/refused") \
            == CAT_NO_ACCESS_PERMISSION
        other.collections.remove(f"{scratch}/moved")
        # Forced: object by object, then the collections, which are not empty.
        assert _status_of(other.collections.remove, f"{scratch}/forced", force=True) \
            == CAT_COLLECTION_NOT_EMPTY
        trashed = f"{zone.other.home.replace('/home/', '/trash/home/')}/{zone.user.name}"
        moved = f"{trashed}{scratch[len(f'/{zone.zone_name}/home/{zone.user.name}'):]}/moved"
        assert set(_objects(other, moved)) == {"a", "b", "sub/c"}
    with zone.admin.session() as admin:  # the other user may not delete "b", even there
        admin.collections.remove(trashed, force=True, **ADMIN)
    assert set(_objects(session, scratch)) == {"refused/a", "refused/b", "forced/theirs",
                                               "forced/sub/hidden"}
    assert _collections(session, scratch) == {"refused", "refused/sub", "forced", "forced/sub"}


# -- touch (how the engine sets modify times) -------------------------------------------------
CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION = -836000
OBJ_PATH_DOES_NOT_EXIST = -358000
SYS_INVALID_INPUT_PARAM = -130000
SYS_NO_GOOD_REPLICA = -166000
INPUT_ARG_NOT_WELL_FORMED_ERR = -1084000
INVALID_OBJECT_TYPE = -1105000


def _touch(session: iRODSSession, path: object, **options: object) -> int:
    """TOUCH (20007) as the engine sends it; the status of the answer."""
    from irods.api_number import api_number
    from irods.message import JSON_Message

    with session.pool.get_connection() as conn:
        request = JSON_Message({"logical_path": path, "options": options},
                               server_version=conn.server_version)
        conn.send(iRODSMessage("RODS_API_REQ", msg=request, int_info=api_number["TOUCH_APN"]))
        try:
            return int(conn.recv().int_info)
        except iRODSException as error:
            return int(error.code)
        except KeyError as error:  # PRC 3.3.0 has no class for some codes
            return int(error.args[0])


def test_touch_validates_its_input(session: iRODSSession, scratch: str) -> None:
    path = f"{scratch}/obj"
    _put(session, path)
    assert _touch(session, "") == INPUT_ARG_NOT_WELL_FORMED_ERR
    assert _touch(session, path, seconds_since_epoch=-5) == INPUT_ARG_NOT_WELL_FORMED_ERR
    assert _touch(session, path, replica_number=-1) == INPUT_ARG_NOT_WELL_FORMED_ERR
    assert _touch(session, path, replica_number="0") == SYS_INVALID_INPUT_PARAM
    assert _touch(session, path, no_create=1) == SYS_INVALID_INPUT_PARAM
    assert _touch(session, path, seconds_since_epoch=5, reference=path) == USER_INCOMPATIBLE_PARAMS
    assert _touch(session, path, reference=f"{scratch}/missing") == INVALID_OBJECT_TYPE


def test_touch_of_missing_hidden_and_busy_objects(zone: Zone, session: iRODSSession,
                                                  scratch: str) -> None:
    from irods.access import iRODSAccess

    assert _touch(session, f"{scratch}/nope", no_create=True) == 0
    assert _touch(session, f"{scratch}/nocoll/x", no_create=True) == 0  # nothing to create
    assert _touch(session, f"{scratch}/nocoll/x") == CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION
    assert _touch(session, f"{scratch}/new", replica_number=0) == OBJ_PATH_DOES_NOT_EXIST
    assert _touch(session, f"{scratch}/new") == 0  # created: empty and good
    assert _objects(session, scratch) == {"new": (0, "1")}
    assert _touch(session, f"{scratch}/new", replica_number=3) == SYS_REPLICA_DOES_NOT_EXIST
    assert _touch(session, f"{scratch}/new", replica_number=0, seconds_since_epoch=1_600_000_000) == 0
    assert int(session.data_objects.get(f"{scratch}/new").modify_time.timestamp()) == 1_600_000_000
    assert _touch(session, scratch, replica_number=0) == USER_INCOMPATIBLE_PARAMS
    assert _touch(session, scratch, reference=f"{scratch}/new") == 0
    assert int(session.collections.get(scratch).modify_time.timestamp()) == 1_600_000_000
    with session.data_objects.open(f"{scratch}/busy", "w") as handle:  # intermediate
        handle.write(b"x")
        assert _touch(session, f"{scratch}/busy", no_create=True) == SYS_NO_GOOD_REPLICA
    session.acls.set(iRODSAccess("read", scratch, zone.other.name))
    session.acls.set(iRODSAccess("read", f"{scratch}/busy", zone.other.name))
    with zone.other.session() as other:
        assert _touch(other, f"{scratch}/busy") == CAT_NO_ACCESS_PERMISSION  # may read only
        assert _touch(other, scratch) == CAT_NO_ACCESS_PERMISSION
        # An object the user cannot see is missing to them; creating it is not allowed either.
        assert _touch(other, f"{scratch}/new") == CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION
        assert _touch(other, f"{scratch}/new", no_create=True) == 0


def test_stat_shows_only_what_the_user_can_see(zone: Zone, session: iRODSSession,
                                               scratch: str) -> None:
    from irods.access import iRODSAccess
    from irods.api_number import api_number
    from irods.message import FileOpenRequest, StringStringMap

    def stat(who: iRODSSession, path: str) -> int:
        request = FileOpenRequest(objPath=path, createMode=0, openFlags=0, offset=0, dataSize=-1,
                                  numThreads=0, oprType=0, KeyValPair_PI=StringStringMap({}))
        with who.pool.get_connection() as conn:
            conn.send(iRODSMessage("RODS_API_REQ", msg=request, int_info=api_number["OBJ_STAT_AN"]))
            try:
                return int(conn.recv().int_info)  # 1: a data object, 2: a collection
            except iRODSException as error:
                return int(error.code)

    session.collections.create(f"{scratch}/sub")
    _put(session, f"{scratch}/obj")
    _put(session, f"{scratch}/sub/inner")
    session.acls.set(iRODSAccess("read", scratch, zone.other.name))
    session.acls.set(iRODSAccess("read", f"{scratch}/sub/inner", zone.other.name))
    with zone.other.session() as other:
        assert stat(other, scratch) == 2
        assert stat(other, f"{scratch}/sub") == USER_FILE_DOES_NOT_EXIST  # no read on it
        assert stat(other, f"{scratch}/obj") == USER_FILE_DOES_NOT_EXIST
        assert stat(other, f"{scratch}/sub/inner") == USER_FILE_DOES_NOT_EXIST  # hidden parent
    assert (stat(session, f"{scratch}/sub"), stat(session, f"{scratch}/sub/inner")) == (2, 1)
    assert stat(session, f"{scratch}/missing") == USER_FILE_DOES_NOT_EXIST


# -- replica states while writing -------------------------------------------------------------
HIERARCHY_ERROR = -1803000


def _replica(session: iRODSSession, path: str) -> tuple[int, str, str]:
    """(size, replica status, checksum) as the catalog has them now."""
    from irods.models import Collection, DataObject

    collection, name = path.rsplit("/", 1)
    row = session.query(DataObject.size, DataObject.replica_status, DataObject.checksum).filter(
        Collection.name == collection, DataObject.name == name).one()
    return int(row[DataObject.size]), str(row[DataObject.replica_status]), row[DataObject.checksum] or ""


def test_replica_states_through_open_write_close(zone: Zone, session: iRODSSession,
                                                 scratch: str) -> None:
    path = f"{scratch}/obj"
    handle = session.data_objects.open(path, "w")
    handle.write(b"hello")
    handle.flush()
    with zone.user.session() as watcher:
        assert _replica(watcher, path) == (0, "2", "")  # intermediate, no size yet
        for mode in ("r", "a"):
            assert _status_of(watcher.data_objects.open, path, mode) == HIERARCHY_ERROR
    handle.close()
    assert _replica(session, path) == (5, "1", "")
    checksum = session.data_objects.chksum(path)
    with session.data_objects.open(path, "a"):
        pass  # opened for write, nothing written: still good, checksum kept
    assert _replica(session, path) == (5, "1", checksum)
    with session.data_objects.open(path, "r+") as handle:
        handle.write(b"J")
    assert _replica(session, path) == (5, "1", "")  # a write clears the checksum


def test_a_writer_that_vanishes_leaves_the_replica_stale(zone: Zone, session: iRODSSession,
                                                         scratch: str) -> None:
    """How the engine marks a replica stale: open for write, then drop the connection."""
    path = f"{scratch}/obj"
    _put(session, path, b"0123456789")
    session.data_objects.chksum(path)
    with zone.user.session() as writer:
        handle = writer.data_objects.open(path, "a")
        handle.write(b"more")
        handle.flush()
        connection = handle.raw.conn
        connection.disconnect()
        connection.release(True)
        handle.raw.desc = None  # nothing left to close
    _eventually(lambda: _replica(session, path), (14, "0", ""))  # the bytes it had, stale
    with session.data_objects.open(path, "w") as again:
        again.write(b"whole")
    assert _replica(session, path) == (5, "1", "")


def test_genquery_shows_a_rodsuser_only_what_they_may_read(zone: Zone, session: iRODSSession,
                                                           scratch: str) -> None:
    from irods.access import iRODSAccess
    from irods.exception import CollectionDoesNotExist
    from irods.models import Collection

    for name in ("shown", "hidden"):
        session.collections.create(f"{scratch}/{name}")
        for leaf in ("readable", "private"):
            _put(session, f"{scratch}/{name}/{leaf}")
    _put(session, f"{scratch}/readable")
    _put(session, f"{scratch}/private")
    session.acls.set(iRODSAccess("read", scratch, zone.other.name))
    session.acls.set(iRODSAccess("read", f"{scratch}/shown", zone.other.name))
    for path in ("readable", "shown/readable", "hidden/readable"):
        session.acls.set(iRODSAccess("read", f"{scratch}/{path}", zone.other.name))
    with zone.other.session() as other:
        colls = {row[Collection.name][len(scratch) + 1:] for row in
                 other.query(Collection.name).filter(Collection.parent_name == scratch)}
        assert colls == {"shown"}
        assert set(_objects(other, scratch)) == {"readable", "shown/readable"}
        with pytest.raises(CollectionDoesNotExist):
            other.collections.get(f"{scratch}/hidden")
