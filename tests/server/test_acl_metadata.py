"""ACLs enforced for a second user; AVU metadata via the classic and the atomic API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from irods.access import iRODSAccess
from irods.exception import (
    CAT_INVALID_ARGUMENT,
    CAT_INVALID_USER,
    CAT_NO_ACCESS_PERMISSION,
    CAT_SUCCESS_BUT_WITH_NO_INFO,
    CAT_UNKNOWN_FILE,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    OBJ_PATH_DOES_NOT_EXIST,
    SYS_INVALID_INPUT_PARAM,
    CollectionDoesNotExist,
)
from irods.meta import AVUOperation, iRODSMeta
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer


@pytest.fixture(scope="module")
def alice(irods_server: EmbeddedServer) -> Iterator[iRODSSession]:
    """A second user, created and given a password through the admin API, as iadmin would."""
    from tests.conftest import open_session

    with open_session(irods_server) as admin:
        if not any(u.name == "alice" for u in admin.query(__import__("irods.models", fromlist=["User"]).User)
                   .filter(__import__("irods.models", fromlist=["User"]).User.name == "alice")):
            admin.users.create("alice", "rodsuser")
            admin.users.modify("alice", "password", "alice-pw")
    with iRODSSession(host="127.0.0.1", port=irods_server.port, user="alice",
                      password="alice-pw", zone="tempZone") as session:
        yield session


def test_second_user_has_home(alice: iRODSSession) -> None:
    home = alice.collections.get("/tempZone/home/alice")
    alice.data_objects.create(f"{home.path}/mine.txt")
    assert alice.data_objects.exists(f"{home.path}/mine.txt")


def test_acl_denial_and_grant(session: iRODSSession, alice: iRODSSession, remote_dir: str) -> None:
    path = f"{remote_dir}/secret.txt"
    with session.data_objects.open(path, "w") as handle:
        handle.write(b"top secret")
    # No read on the parent collection: the object is invisible (live 5.0.2 behaviour).
    with pytest.raises(OBJ_PATH_DOES_NOT_EXIST):
        alice.data_objects.open(path, "r")
    with pytest.raises(CollectionDoesNotExist):
        alice.collections.get(remote_dir)
    session.acls.set(iRODSAccess("read", remote_dir, "alice"))
    # Collection read but no object ACL: the listing is empty and the open is refused.
    assert alice.collections.get(remote_dir).data_objects == []
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.open(path, "r")
    session.acls.set(iRODSAccess("read", path, "alice"))
    with alice.data_objects.open(path, "r") as handle:
        assert handle.read() == b"top secret"
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.open(path, "w")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.create(f"{remote_dir}/intruder.txt")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.acls.set(iRODSAccess("own", path, "alice"))
    session.acls.set(iRODSAccess("write", remote_dir, "alice"))
    alice.data_objects.create(f"{remote_dir}/allowed.txt")
    access = {(a.user_name, a.access_name) for a in session.acls.get(session.data_objects.get(path))}
    assert ("alice", "read_object") in access and ("rods", "own") in access


def test_recursive_acl_and_inheritance(session: iRODSSession, alice: iRODSSession, remote_dir: str) -> None:
    session.collections.create(f"{remote_dir}/tree/deep")
    session.data_objects.create(f"{remote_dir}/tree/deep/f1")
    session.acls.set(iRODSAccess("read", remote_dir, "alice"))
    session.acls.set(iRODSAccess("read", f"{remote_dir}/tree", "alice"), recursive=True)
    with alice.data_objects.open(f"{remote_dir}/tree/deep/f1", "r") as handle:
        assert handle.read() == b""
    session.acls.set(iRODSAccess("inherit", f"{remote_dir}/tree"))
    session.data_objects.create(f"{remote_dir}/tree/f2")
    assert alice.data_objects.exists(f"{remote_dir}/tree/f2")
    assert session.collections.get(f"{remote_dir}/tree").inheritance is True


def test_acl_errors(session: iRODSSession, remote_dir: str) -> None:
    with pytest.raises(CAT_INVALID_ARGUMENT):
        session.acls.set(iRODSAccess("read", f"{remote_dir}/missing", "rods"))
    with pytest.raises(CAT_INVALID_USER):
        session.acls.set(iRODSAccess("read", remote_dir, "nobody"))
    with pytest.raises(CAT_INVALID_ARGUMENT):
        session.acls.set(iRODSAccess("sideways", remote_dir, "rods"))


def test_metadata_roundtrip(session: iRODSSession, remote_dir: str) -> None:
    path = f"{remote_dir}/meta.txt"
    obj = session.data_objects.create(path)
    obj.metadata.add("subject", "sub-01")
    obj.metadata.add("session", "ses-02", "visit")
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        obj.metadata.add("subject", "sub-01")
    fresh = session.data_objects.get(path)
    assert {(m.name, m.value, m.units) for m in fresh.metadata.items()} == {
        ("subject", "sub-01", None), ("session", "ses-02", "visit")}
    fresh.metadata.set("subject", "sub-02")
    assert [m.value for m in session.data_objects.get(path).metadata.get_all("subject")] == ["sub-02"]
    fresh.metadata.remove("session", "ses-02", "visit")
    with pytest.raises(CAT_SUCCESS_BUT_WITH_NO_INFO):
        fresh.metadata.remove("session", "ses-02", "visit")
    coll = session.collections.get(remote_dir)
    coll.metadata.add("study", "ds001")
    assert session.collections.get(remote_dir).metadata.get_one("study").value == "ds001"
    with pytest.raises(CAT_UNKNOWN_FILE):
        session.metadata.add(__import__("irods.models", fromlist=["DataObject"]).DataObject,
                             f"{remote_dir}/missing", iRODSMeta("a", "b"))


def test_atomic_metadata(session: iRODSSession, remote_dir: str) -> None:
    path = f"{remote_dir}/atomic.txt"
    obj = session.data_objects.create(path)
    obj.metadata.apply_atomic_operations(
        AVUOperation(operation="add", avu=iRODSMeta("a", "1")),
        AVUOperation(operation="add", avu=iRODSMeta("b", "2", "u")),
        AVUOperation(operation="add", avu=iRODSMeta("a", "1")),  # duplicate: silently accepted
        AVUOperation(operation="remove", avu=iRODSMeta("zz", "9")),  # missing: silently accepted
    )
    assert sorted((m.name, m.value) for m in session.data_objects.get(path).metadata.items()) == [
        ("a", "1"), ("b", "2")]
    with pytest.raises(SYS_INVALID_INPUT_PARAM):
        session.data_objects.get(path)  # sanity: the object exists
        from irods.models import DataObject

        session.metadata.apply_atomic_operations(
            DataObject, f"{remote_dir}/nope", AVUOperation(operation="add", avu=iRODSMeta("x", "y")))


def test_admin_only_user_creation(alice: iRODSSession) -> None:
    from irods.exception import CAT_INSUFFICIENT_PRIVILEGE_LEVEL

    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        alice.users.create("mallory", "rodsuser")
