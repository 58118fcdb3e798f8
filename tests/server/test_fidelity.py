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


def test_general_admin_is_refused_to_a_rodsuser(session: iRODSSession) -> None:
    with pytest.raises(SYS_NO_API_PRIV):
        session.users.create(f"intruder{time.monotonic_ns()}", "rodsuser")


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
