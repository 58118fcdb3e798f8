"""DATA_OBJ_PUT (606) and DATA_OBJ_GET (608) as raw python-irodsclient messages, the bytes in
the request or the reply, on both zones: results, error codes and catalog state must agree."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from irods.exception import iRODSException
from irods.message import FileOpenRequest, StringStringMap, iRODSMessage
from irods.message import Message as _Message
from irods.message.property_types import IntegerProperty, StringProperty, SubmessageProperty
from irods.session import iRODSSession

from tests.icommands.conftest import Zone

PUT_OPR, GET_OPR = 1, 2


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _request(path: str, size: int, options: dict[str, str], opr: int) -> FileOpenRequest:
    return FileOpenRequest(objPath=path, createMode=0o644, openFlags=0, offset=0, dataSize=size,
                           numThreads=0, oprType=opr, KeyValPair_PI=StringStringMap(options))


def put(session: iRODSSession, path: str, data: bytes, size: int | None = None, **options: str) -> int:
    """Send one 606 with the bytes included; the reply's status, or the error code."""
    message = iRODSMessage("RODS_API_REQ", msg=_request(
        path, len(data) if size is None else size, {"dataIncluded": "", **options}, PUT_OPR),
        bs=data, int_info=606)
    with session.pool.get_connection() as conn:
        conn.send(message)
        try:
            return int(conn.recv().int_info)
        except iRODSException as error:
            return int(error.code)


def get(session: iRODSSession, path: str, **options: str) -> tuple[int, bytes, str]:
    """One 608: (status or error code, the bytes, the checksum the reply carries)."""
    message = iRODSMessage("RODS_API_REQ", msg=_request(path, 0, options, GET_OPR), int_info=608)
    with session.pool.get_connection() as conn:
        conn.send(message)
        try:
            reply = conn.recv()
        except iRODSException as error:
            return int(error.code), b"", ""
        checksum = reply.get_main_message(_PortalOprOut).chksum if reply.msg else ""
        return int(reply.int_info), bytes(reply.bs or b""), checksum or ""


class _PortList(_Message):
    _name = "PortList_PI"
    portNum = IntegerProperty()
    cookie = IntegerProperty()
    sock = IntegerProperty()
    windowSize = IntegerProperty()
    hostAddr = StringProperty()


class _PortalOprOut(_Message):
    _name = "PortalOprOut_PI"
    status = IntegerProperty()
    l1descInx = IntegerProperty()
    numThreads = IntegerProperty()
    chksum = StringProperty()
    PortList_PI = SubmessageProperty(_PortList)


@pytest.fixture
def user(zone: Zone) -> Iterator[iRODSSession]:
    with zone.user_session() as session:
        yield session


def _state(session: iRODSSession, path: str) -> tuple[int, str, str]:
    obj = session.data_objects.get(path)
    return obj.size, obj.checksum or "", str(obj.replicas[0].status)


def test_put_creates_then_refuses_to_overwrite_without_force(zone: Zone, coll: str, user: iRODSSession) -> None:
    path = f"{coll}/one.txt"
    assert put(user, path, b"first\n") == 0
    assert _state(user, path) == (6, "", "1")
    assert put(user, path, b"second\n") == -312000  # OVERWRITE_WITHOUT_FORCE_FLAG
    assert _state(user, path) == (6, "", "1")
    assert put(user, path, b"second!\n", forceFlag="") == 0
    assert _state(user, path) == (8, "", "1")
    assert put(user, coll, b"x", forceFlag="") < 0  # a collection is never overwritten


def test_put_errors(zone: Zone, coll: str, user: iRODSSession) -> None:
    assert put(user, f"{coll}/missing/x.txt", b"x") == -814000  # CAT_UNKNOWN_COLLECTION
    assert put(user, f"/{zone.zone}/home/rods/not-mine-{zone.user}.txt", b"x") == -818000  # no access
    assert put(user, f"{coll}/short.txt", b"abc", size=10) == -27000  # SYS_COPY_LEN_ERR
    assert _state(user, f"{coll}/short.txt")[2] == "0"  # left stale


def test_put_checksum_keywords(zone: Zone, coll: str, user: iRODSSession) -> None:
    assert put(user, f"{coll}/reg.txt", b"register\n", regChksum="") == 0
    assert _state(user, f"{coll}/reg.txt") == (9, sha2(b"register\n"), "1")
    assert put(user, f"{coll}/ok.txt", b"verify\n", verifyChksum=sha2(b"verify\n")) == 0
    assert _state(user, f"{coll}/ok.txt") == (7, sha2(b"verify\n"), "1")
    assert put(user, f"{coll}/bad.txt", b"verify\n", verifyChksum=sha2(b"other")) == -314000
    # left stale, with the size and the checksum the server computed before comparing
    assert _state(user, f"{coll}/bad.txt") == (7, sha2(b"verify\n"), "0")


def test_get_returns_the_bytes_and_checksum(zone: Zone, coll: str, user: iRODSSession) -> None:
    path = f"{coll}/g.txt"
    assert put(user, path, b"get me back\n") == 0
    assert get(user, path) == (12, b"get me back\n", "")
    assert get(user, path, verifyChksum="") == (12, b"get me back\n", sha2(b"get me back\n"))
    assert _state(user, path)[1] == sha2(b"get me back\n")  # registered on the way
    assert put(user, f"{coll}/empty", b"") == 0
    assert get(user, f"{coll}/empty") == (0, b"", "")
    assert get(user, f"{coll}/nothing-here")[0] == -808000  # CAT_NO_ROWS_FOUND


def test_open_write_close_with_verify_checksum(zone: Zone, coll: str, user: iRODSSession) -> None:
    """The engine's three-request put: ``verifyChksum`` on the open makes the final close
    compute, compare and register the checksum; a mismatch leaves size 0 and no checksum."""
    good, bad = f"{coll}/good.txt", f"{coll}/bad.txt"
    with user.data_objects.open(good, "w", verifyChksum=sha2(b"opened\n")) as handle:
        handle.write(b"opened\n")
    assert _state(user, good) == (7, sha2(b"opened\n"), "1")
    handle = user.data_objects.open(bad, "w", verifyChksum=sha2(b"other"))
    handle.write(b"opened\n")
    with pytest.raises(iRODSException) as raised:
        handle.close()
    assert raised.value.code == -314000
    assert _state(user, bad) == (0, "", "0")
