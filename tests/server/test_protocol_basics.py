"""The unmodified python-irodsclient against `serve` over TCP: connection, auth, namespace."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import irods.keywords as kw
import pytest
from irods.exception import (
    CAT_COLLECTION_NOT_EMPTY,
    CAT_INVALID_AUTHENTICATION,
    CAT_INVALID_USER,
    CAT_NAME_EXISTS_AS_COLLECTION,
    CAT_NO_ROWS_FOUND,
    CAT_UNKNOWN_COLLECTION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    OBJ_PATH_DOES_NOT_EXIST,
    OVERWRITE_WITHOUT_FORCE_FLAG,
    USER_CHKSUM_MISMATCH,
    USER_FILE_DOES_NOT_EXIST,
    CollectionDoesNotExist,
    DataObjectDoesNotExist,
)
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.conftest import write_file
from tests.zones import Zone


def test_fresh_zone_layout(session: iRODSSession, admin_session: iRODSSession, zone: Zone) -> None:
    """What a zone has from its first start, seen by the admin and by a rodsuser."""
    assert session.server_version == (5, 0, 2)
    for path in (zone.admin.home, f"/{zone.zone_name}/home/public",
                 f"/{zone.zone_name}/trash/home/{zone.admin.name}"):
        assert admin_session.collections.exists(path), path
    for path in (zone.home, f"/{zone.zone_name}/home/public", zone.trash):
        assert session.collections.exists(path), path
    assert session.users.get(zone.admin.name).type == "rodsadmin"
    assert session.users.get(zone.user.name).type == "rodsuser"
    assert session.resources.get("demoResc").name == "demoResc"


def test_wrong_password_and_unknown_user(zone: Zone) -> None:
    with iRODSSession(host=zone.host, port=zone.port, user=zone.user.name, password="nope",
                      zone=zone.zone_name) as bad:
        with pytest.raises(CAT_INVALID_AUTHENTICATION):
            bad.collections.get(zone.home)
    with iRODSSession(host=zone.host, port=zone.port, user="ghost", password="x",
                      zone=zone.zone_name) as ghost:
        with pytest.raises(CAT_INVALID_USER):
            ghost.collections.get(zone.home)


def test_legacy_native_auth(zone: Zone) -> None:
    from irods import client_configuration as config

    previous = config.legacy_auth.force_legacy_auth
    config.legacy_auth.force_legacy_auth = True
    try:
        with iRODSSession(host=zone.host, port=zone.port, user=zone.user.name,
                          password=zone.user.password, zone=zone.zone_name) as legacy:
            assert legacy.collections.get(zone.home).name == zone.user.name
    finally:
        config.legacy_auth.force_legacy_auth = previous


def test_small_put_get_roundtrip(session: iRODSSession, remote_dir: str, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    local = write_file(tmp_path / "small.bin", data)
    session.data_objects.put(str(local), f"{remote_dir}/small.bin")
    obj = session.data_objects.get(f"{remote_dir}/small.bin")
    assert obj.size == len(data) and obj.replicas[0].status == "1" and obj.checksum is None
    session.data_objects.get(f"{remote_dir}/small.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data


def test_parallel_70mib_put_get(session: iRODSSession, remote_dir: str, tmp_path: Path) -> None:
    data = os.urandom(70 << 20)
    local = write_file(tmp_path / "big.bin", data)
    session.data_objects.put(str(local), f"{remote_dir}/big.bin", num_threads=4)
    obj = session.data_objects.get(f"{remote_dir}/big.bin")
    assert obj.size == len(data) and obj.replicas[0].status == "1"
    session.data_objects.get(f"{remote_dir}/big.bin", str(tmp_path / "back.bin"), num_threads=4)
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).digest() == hashlib.sha256(data).digest()


def test_checksums(session: iRODSSession, remote_dir: str, tmp_path: Path) -> None:
    data = b"checksum me" * 1000
    expected = "sha2:" + __import__("base64").b64encode(hashlib.sha256(data).digest()).decode()
    local = write_file(tmp_path / "c.bin", data)
    session.data_objects.put(str(local), f"{remote_dir}/reg.bin", **{kw.REG_CHKSUM_KW: ""})
    assert session.data_objects.get(f"{remote_dir}/reg.bin").checksum == expected
    session.data_objects.put(str(local), f"{remote_dir}/ok.bin", **{kw.VERIFY_CHKSUM_KW: expected})
    assert session.data_objects.get(f"{remote_dir}/ok.bin").checksum == expected
    with pytest.raises(USER_CHKSUM_MISMATCH):
        session.data_objects.put(str(local), f"{remote_dir}/bad.bin", **{kw.VERIFY_CHKSUM_KW: "sha2:AAAA"})
    bad = session.data_objects.get(f"{remote_dir}/bad.bin")
    assert bad.replicas[0].status == "0"
    session.data_objects.put(str(local), f"{remote_dir}/plain.bin")
    assert session.data_objects.get(f"{remote_dir}/plain.bin").checksum is None
    assert session.data_objects.chksum(f"{remote_dir}/plain.bin") == expected
    # Overwriting clears the stored checksum, as on a live 5.0.2 zone.
    session.data_objects.put(str(local), f"{remote_dir}/reg.bin")
    assert session.data_objects.get(f"{remote_dir}/reg.bin").checksum is None


def test_paging_1200_objects(session: iRODSSession, remote_dir: str, zone: Zone) -> None:
    """GenQuery pages of 500 rows, continued until the last. The embedded server's own paging
    is tested across two page boundaries; the real zone (whose paging is the reference) across
    one, because each empty object costs it a catalog round trip and CI time."""
    count = zone.scaled(1200, 520)
    with session.data_objects.open(f"{remote_dir}/seed", "w") as handle:
        handle.write(b"x")
    for index in range(count):
        session.data_objects.create(f"{remote_dir}/obj{index:04d}")
    rows = list(session.query(DataObject.name).filter(Collection.name == remote_dir))
    names = sorted(row[DataObject.name] for row in rows)
    assert len(names) == count + 1
    assert names[0] == "obj0000" and names[-2] == f"obj{count - 1:04d}"
    listed = session.collections.get(remote_dir).data_objects
    assert len(listed) == count + 1


def test_collection_semantics(session: iRODSSession, remote_dir: str) -> None:
    session.collections.create(f"{remote_dir}/a/b/c")
    assert session.collections.exists(f"{remote_dir}/a/b/c")
    session.collections.create(f"{remote_dir}/a/b/c")  # recursive create of an existing one: fine
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        session.collections.create(f"{remote_dir}/a", recurse=False)
    with pytest.raises(CAT_UNKNOWN_COLLECTION):
        session.collections.create(f"{remote_dir}/missing/child", recurse=False)
    session.data_objects.create(f"{remote_dir}/a/file")
    with pytest.raises(CAT_COLLECTION_NOT_EMPTY):
        session.collections.remove(f"{remote_dir}/a", recurse=False)
    with pytest.raises(CAT_NAME_EXISTS_AS_COLLECTION):
        session.data_objects.create(f"{remote_dir}/a/b")
    session.collections.move(f"{remote_dir}/a", f"{remote_dir}/renamed")
    assert session.data_objects.exists(f"{remote_dir}/renamed/file")
    assert not session.collections.exists(f"{remote_dir}/a")
    session.collections.remove(f"{remote_dir}/renamed", recurse=True, force=True)
    assert not session.collections.exists(f"{remote_dir}/renamed")
    with pytest.raises(USER_FILE_DOES_NOT_EXIST):
        session.collections.remove(f"{remote_dir}/renamed", recurse=True, force=True)
    with pytest.raises(CollectionDoesNotExist):
        session.collections.get(f"{remote_dir}/nope")


def test_unlink_to_trash_and_forced(session: iRODSSession, remote_dir: str) -> None:
    session.data_objects.create(f"{remote_dir}/t1")
    session.data_objects.unlink(f"{remote_dir}/t1")
    assert not session.data_objects.exists(f"{remote_dir}/t1")
    trash = remote_dir.replace("/home/", "/trash/home/", 1)
    assert session.data_objects.exists(f"{trash}/t1")
    session.data_objects.create(f"{remote_dir}/t2")
    session.data_objects.unlink(f"{remote_dir}/t2", force=True)
    assert not session.data_objects.exists(f"{trash}/t2")
    with pytest.raises(CAT_NO_ROWS_FOUND):
        session.data_objects.unlink(f"{remote_dir}/t2", force=True)


def test_open_errors_and_overwrite(session: iRODSSession, remote_dir: str, tmp_path: Path) -> None:
    with pytest.raises(OBJ_PATH_DOES_NOT_EXIST):
        session.data_objects.open(f"{remote_dir}/missing", "r")
    with pytest.raises(DataObjectDoesNotExist):
        session.data_objects.get(f"{remote_dir}/missing")
    local = write_file(tmp_path / "f", b"one")
    session.data_objects.put(str(local), f"{remote_dir}/f")
    with pytest.raises(OVERWRITE_WITHOUT_FORCE_FLAG):
        session.data_objects.put(str(local), f"{remote_dir}/f", **{kw.FORCE_FLAG_KW: False})
    write_file(local, b"two!")
    session.data_objects.put(str(local), f"{remote_dir}/f")
    with session.data_objects.open(f"{remote_dir}/f", "r") as handle:
        assert handle.read() == b"two!"
    session.data_objects.create(f"{remote_dir}/f")  # DATA_OBJ_CREATE truncates, as iRODS 5 does
    assert session.data_objects.get(f"{remote_dir}/f").size == 0


def test_seek_append_and_modify_time(session: iRODSSession, remote_dir: str) -> None:
    path = f"{remote_dir}/seek"
    with session.data_objects.open(path, "w") as handle:
        handle.write(b"0123456789")
    with session.data_objects.open(path, "a") as handle:
        handle.write(b"abc")
    with session.data_objects.open(path, "r") as handle:
        handle.seek(5)
        assert handle.read(3) == b"567"
    assert session.data_objects.get(path).size == 13
    session.data_objects.touch(path, seconds_since_epoch=1700000000)  # 622 is admin-only
    assert int(session.data_objects.get(path).modify_time.timestamp()) == 1700000000
    session.data_objects.touch(path)
    assert session.data_objects.get(path).modify_time.timestamp() > 1700000000


def test_rename_data_object(session: iRODSSession, remote_dir: str) -> None:
    session.data_objects.create(f"{remote_dir}/old")
    session.collections.create(f"{remote_dir}/sub")
    session.data_objects.move(f"{remote_dir}/old", f"{remote_dir}/sub")
    assert session.data_objects.exists(f"{remote_dir}/sub/old")
    assert not session.data_objects.exists(f"{remote_dir}/old")


def test_second_session_sees_state(zone: Zone, remote_dir: str) -> None:
    with zone.user.session() as other:
        assert other.collections.exists(remote_dir)
