"""Bad input never crashes the server; faults behave as specified; state survives restarts."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from irods.exception import (
    SYS_HEADER_READ_LEN_ERR,
    SYS_NO_API_PRIV,
    SYS_PACK_INSTRUCT_FORMAT_ERR,
    NetworkException,
    iRODSException,
)
from irods.message import iRODSMessage
from irods.session import iRODSSession

from mango_transfer.server import ServerProcess
from tests.conftest import write_file
from tests.zones import Zone


def _frame(msg_type: str, body: bytes = b"", int_info: int = 0, bs: bytes = b"") -> bytes:
    header = (f"<MsgHeader_PI><type>{msg_type}</type><msgLen>{len(body)}</msgLen><errorLen>0"
              f"</errorLen><bsLen>{len(bs)}</bsLen><intInfo>{int_info}</intInfo></MsgHeader_PI>").encode()
    return struct.pack(">i", len(header)) + header + body + bs


def _startup() -> bytes:
    pack = (b"<StartupPack_PI><irodsProt>1</irodsProt><connectCnt>0</connectCnt><proxyUser>rods"
            b"</proxyUser><proxyRcatZone>tempZone</proxyRcatZone><clientUser>rods</clientUser>"
            b"<clientRcatZone>tempZone</clientRcatZone><relVersion>rods5.0.2</relVersion>"
            b"<apiVersion>d</apiVersion><option>raw</option></StartupPack_PI>")
    return _frame("RODS_CONNECT", pack)


def _read_reply(sock: socket.socket) -> tuple[str, int, bytes]:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    (length,) = struct.unpack(">i", exactly(4))
    header = exactly(length).decode()
    fields = {name: header.split(f"<{name}>")[1].split("<")[0] for name in
              ("type", "msgLen", "errorLen", "bsLen", "intInfo")}
    body = exactly(int(fields["msgLen"]) + int(fields["errorLen"]) + int(fields["bsLen"]))
    return fields["type"], int(fields["intInfo"]), body


def _connect(zone: Zone) -> socket.socket:
    sock = socket.create_connection((zone.host, zone.port), timeout=10)
    sock.sendall(_startup())
    assert _read_reply(sock)[0] == "RODS_VERSION"
    return sock


def _closed(sock: socket.socket) -> bool:
    """True when the peer hung up; a peer that stays silent for the socket's timeout has not."""
    try:
        return sock.recv(1) == b""
    except ConnectionError:
        return True


@pytest.mark.parametrize("garbage, status", [
    pytest.param(struct.pack(">i", -5), SYS_HEADER_READ_LEN_ERR, id="negative-header-length"),
    pytest.param(struct.pack(">i", 1 << 30), SYS_HEADER_READ_LEN_ERR, id="huge-header-length"),
    pytest.param(struct.pack(">i", 10) + b"<notxml>!!", SYS_PACK_INSTRUCT_FORMAT_ERR,
                 id="header-without-type"),
    pytest.param(b"\x00\x00\x00\x40" + b"A" * 64, SYS_PACK_INSTRUCT_FORMAT_ERR,
                 id="garbage-header"),
])
def test_malformed_framing_closes_connection(zone: Zone, garbage: bytes,
                                             status: type[iRODSException]) -> None:
    """A startup frame the server cannot read is named in a Version_PI, then the line closes."""
    sock = socket.create_connection((zone.host, zone.port), timeout=10)
    sock.sendall(garbage)
    msg_type, _, body = _read_reply(sock)
    assert msg_type == "RODS_VERSION"
    assert f"<status>{status.code}</status>" in body.decode(), body
    assert _closed(sock)
    sock.close()
    with zone.user.session() as session:  # the server is still healthy
        assert session.collections.exists(zone.home)


def test_unauthenticated_api_is_refused(zone: Zone) -> None:
    sock = _connect(zone)
    body = b"<GenQueryInp_PI><maxRows>10</maxRows></GenQueryInp_PI>"
    sock.sendall(_frame("RODS_API_REQ", body, int_info=702))
    _, status, _ = _read_reply(sock)
    assert status == SYS_NO_API_PRIV.code
    sock.close()


class _Raw:
    """A message body PRC sends verbatim: lets a test put broken XML on the wire."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def pack(self) -> bytes:
        return self.data


def test_garbage_xml_and_unknown_api(session: iRODSSession, zone: Zone) -> None:
    connection = session.pool.get_connection()
    try:
        # An API number iRODS does not know gets no reply at all (the real agent logs
        # "Unsupported api number" and reads on): the first reply is the broken XML's.
        connection.send(iRODSMessage("RODS_API_REQ", int_info=99999))
        connection.send(iRODSMessage("RODS_API_REQ", msg=_Raw(b"<DataObjInp_PI><objPath>/x</oops>"),
                                     int_info=602))
        with pytest.raises(SYS_PACK_INSTRUCT_FORMAT_ERR):
            connection.recv()
    finally:
        connection.release()
    assert session.collections.exists(zone.home)


def test_client_vanishing_mid_write_leaves_stale_replica(zone: Zone, remote_dir: str,
                                                         session: iRODSSession) -> None:
    path = f"{remote_dir}/torn.bin"
    doomed = zone.user.session()
    handle = doomed.data_objects.open(path, "w")
    handle.write(b"x" * 1_000_000)
    handle.flush()
    assert session.data_objects.get(path).replicas[0].status == "2"
    with doomed.pool.get_connection() as connection:  # the client dies: its socket just closes
        pass
    for connection in list(doomed.pool.active) + list(doomed.pool.idle):
        connection.socket.close()
    deadline = time.monotonic() + 5
    while session.data_objects.get(path).replicas[0].status == "2" and time.monotonic() < deadline:
        time.sleep(0.05)
    obj = session.data_objects.get(path)
    assert obj.replicas[0].status == "0", "a torn write must never look good"
    assert obj.size == 1_000_000 and obj.checksum is None
    # A later writer can open it again and make it good.
    with session.data_objects.open(path, "w") as again:
        again.write(b"whole")
    assert session.data_objects.get(path).replicas[0].status == "1"


def test_concurrent_open_of_intermediate_replica(zone: Zone, remote_dir: str,
                                                  session: iRODSSession) -> None:
    from irods.exception import HIERARCHY_ERROR

    path = f"{remote_dir}/busy.bin"
    with zone.user.session() as writer:
        handle = writer.data_objects.open(path, "w")
        handle.write(b"partial")
        handle.flush()
        with pytest.raises(HIERARCHY_ERROR):
            session.data_objects.open(path, "r")
        handle.close()
    assert session.data_objects.get(path).replicas[0].status == "1"


@pytest.mark.embedded_only("tests fault injection itself")
def test_fault_fail_kth_call(zone: Zone, remote_dir: str, session: iRODSSession,
                             tmp_path: Path) -> None:
    from irods.exception import SYS_COPY_LEN_ERR

    local = write_file(tmp_path / "f.bin", b"a" * 1000)
    zone.set_faults("fail=602:2:-27000")
    try:
        session.data_objects.put(str(local), f"{remote_dir}/one")
        with pytest.raises(SYS_COPY_LEN_ERR):
            session.data_objects.put(str(local), f"{remote_dir}/two")
        session.data_objects.put(str(local), f"{remote_dir}/three")
    finally:
        zone.set_faults("")


@pytest.mark.embedded_only("tests fault injection itself")
def test_fault_drop_after_bytes(zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    local = write_file(tmp_path / "big.bin", os.urandom(3 << 20))
    zone.set_faults("drop_after_bytes=1000000")
    try:
        with zone.user.session() as session:
            with pytest.raises((NetworkException, OSError, iRODSException)):
                session.data_objects.put(str(local), f"{remote_dir}/dropped.bin")
    finally:
        zone.set_faults("")
    with zone.user.session() as session:
        assert session.data_objects.get(f"{remote_dir}/dropped.bin").replicas[0].status == "0"


def test_fault_delay(embedded_zone: Zone) -> None:
    with embedded_zone.user.session() as session:
        session.collections.get(embedded_zone.home)
        started = time.perf_counter()
        for _ in range(5):
            session.collections.get(embedded_zone.home)
        fast = time.perf_counter() - started
        embedded_zone.set_faults("delay_ms=20")
        try:
            started = time.perf_counter()
            for _ in range(5):
                session.collections.get(embedded_zone.home)
            slow = time.perf_counter() - started
        finally:
            embedded_zone.set_faults("")
    assert slow >= 5 * 0.02 and slow > fast


def test_32_concurrent_sessions_writing(zone: Zone, remote_dir: str) -> None:
    errors: list[BaseException] = []
    payloads = {index: os.urandom(50_000 + index) for index in range(32)}

    def worker(index: int) -> None:
        try:
            with zone.user.session() as session:
                with session.data_objects.open(f"{remote_dir}/w{index}", "w") as handle:
                    handle.write(payloads[index])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with zone.user.session() as session:
        for index, data in payloads.items():
            with session.data_objects.open(f"{remote_dir}/w{index}", "r") as handle:
                assert handle.read() == data


def test_64_simultaneous_connections(embedded_zone: Zone) -> None:
    sessions = [embedded_zone.user.session() for _ in range(64)]
    try:
        connections = [s.pool.get_connection() for s in sessions]
        assert len(connections) == 64
        for connection in connections:
            connection.release()
        assert all(s.collections.exists(embedded_zone.home) for s in sessions)
    finally:
        for session in sessions:
            session.cleanup()


def test_restart_keeps_catalog(tmp_path: Path) -> None:
    data_dir, client_dir = tmp_path / "zone", tmp_path / "client"
    payload = os.urandom(200_000)
    with ServerProcess(data_dir, client_dir) as server:
        port = server.port
        with iRODSSession(irods_env_file=str(server.env_file), irods_authentication_file=str(server.auth_file)) as s:
            s.collections.create("/tempZone/home/rods/kept")
            with s.data_objects.open("/tempZone/home/rods/kept/data.bin", "w") as handle:
                handle.write(payload)
            s.data_objects.get("/tempZone/home/rods/kept/data.bin").metadata.add("k", "v")
    with ServerProcess(data_dir, client_dir, port=port) as server:
        with iRODSSession(irods_env_file=str(server.env_file), irods_authentication_file=str(server.auth_file)) as s:
            obj = s.data_objects.get("/tempZone/home/rods/kept/data.bin")
            assert obj.size == len(payload) and obj.metadata.get_one("k").value == "v"
            with s.data_objects.open(obj.path, "r") as handle:
                assert handle.read() == payload


def test_restart_fault_drops_connections(embedded_zone: Zone) -> None:
    with embedded_zone.user.session() as session:
        session.collections.get(embedded_zone.home)
        embedded_zone.set_faults("restart_after=702:1,restart_pause_ms=200")
        session.collections.get(embedded_zone.home)  # answered, then everyone is dropped
        embedded_zone.set_faults("")
        time.sleep(0.1)
        with pytest.raises(OSError):  # paused: nobody listens, as during a real restart
            socket.create_connection(("127.0.0.1", embedded_zone.port), timeout=1).close()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", embedded_zone.port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "server did not come back"
            time.sleep(0.05)
    with embedded_zone.user.session() as fresh:
        assert fresh.collections.exists(embedded_zone.home)


def test_primary_vanishing_during_parallel_write(zone: Zone, remote_dir: str,
                                                 session: iRODSSession) -> None:
    """A joined secondary must not keep a dead primary's replica locked, nor publish it; a
    surviving primary's close publishes whatever is on disk (so the engine never closes a
    primary after a share failed: irods/chunks.py)."""
    path = f"{remote_dir}/parallel.bin"
    primary_session, secondary_session = zone.user.session(), zone.user.session()
    primary = primary_session.data_objects.open(path, "w")
    primary.write(b"a" * 1000)
    primary.flush()
    token, hierarchy = primary.raw.replica_access_info()
    secondary = secondary_session.data_objects.open(
        path, "a", create=False, finalize_on_close=False,
        **{"replicaToken": token, "resc_hier": hierarchy})
    secondary.write(b"b" * 1000)
    secondary.flush()
    for connection in list(primary_session.pool.active) + list(primary_session.pool.idle):
        connection.socket.close()  # the primary's client dies without a close
    deadline = time.monotonic() + 5
    while session.data_objects.get(path).replicas[0].status != "0" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.data_objects.get(path).replicas[0].status == "0"
    secondary.close()  # REPLICA_CLOSE: must not make it good, must release the lock
    assert session.data_objects.get(path).replicas[0].status == "0"
    with session.data_objects.open(path, "w") as again:  # not locked forever
        again.write(b"whole")
    assert session.data_objects.get(path).replicas[0].status == "1"
    secondary_session.cleanup()

    # The converse: a secondary dies, which makes the replica stale at once; the surviving
    # primary's close then finalizes the torn bytes as good (live 5.0.2 behaviour).
    primary_session = zone.user.session()
    primary = primary_session.data_objects.open(path, "w")
    primary.write(b"c" * 1000)
    primary.flush()
    token, hierarchy = primary.raw.replica_access_info()
    doomed = zone.user.session()
    secondary = doomed.data_objects.open(path, "a", create=False, finalize_on_close=False,
                                         **{"replicaToken": token, "resc_hier": hierarchy})
    secondary.write(b"d" * 10)
    secondary.flush()
    for connection in list(doomed.pool.active) + list(doomed.pool.idle):
        connection.socket.close()
    deadline = time.monotonic() + 5
    while session.data_objects.get(path).replicas[0].status != "0" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.data_objects.get(path).replicas[0].status == "0"
    primary.close()
    replica = session.data_objects.get(path).replicas[0]
    assert (replica.status, replica.size) == ("1", 1010)
    with session.data_objects.open(path, "r") as handle:
        assert handle.read() == b"c" * 1000 + b"d" * 10
    primary_session.cleanup()
