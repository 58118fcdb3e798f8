"""ACLs enforced for a second user; AVU metadata via the classic and the atomic API."""

from __future__ import annotations

import os
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
from irods.models import DataObject
from irods.session import iRODSSession

from tests.zones import Zone


@pytest.fixture
def alice(zone: Zone) -> Iterator[iRODSSession]:
    """The zone's second rodsuser, created by the admin (as iadmin would) for the session."""
    with zone.other.session() as session:
        yield session


def test_second_user_has_home(alice: iRODSSession, zone: Zone) -> None:
    home = alice.collections.get(zone.other.home)
    path = f"{home.path}/mine-{zone.kind}.txt"
    alice.data_objects.create(path)
    assert alice.data_objects.exists(path)
    alice.data_objects.unlink(path, force=True)


def test_acl_denial_and_grant(session: iRODSSession, alice: iRODSSession, remote_dir: str,
                              zone: Zone) -> None:
    other = zone.other.name
    path = f"{remote_dir}/secret.txt"
    with session.data_objects.open(path, "w") as handle:
        handle.write(b"top secret")
    # No read on the parent collection: the object is invisible (live 5.0.2 behaviour).
    with pytest.raises(OBJ_PATH_DOES_NOT_EXIST):
        alice.data_objects.open(path, "r")
    with pytest.raises(CollectionDoesNotExist):
        alice.collections.get(remote_dir)
    session.acls.set(iRODSAccess("read", remote_dir, other))
    # Collection read but no object ACL: the listing is empty, and an open that would not
    # create it finds no such object, in any mode (live 5.0.2 behaviour).
    assert alice.collections.get(remote_dir).data_objects == []
    for mode in ("r", "r+", "a"):
        with pytest.raises(OBJ_PATH_DOES_NOT_EXIST):
            alice.data_objects.open(path, mode, create=False)
    session.acls.set(iRODSAccess("read", path, other))
    with alice.data_objects.open(path, "r") as handle:
        assert handle.read() == b"top secret"
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.open(path, "w")
    for mode in ("w", "r+", "a"):
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            alice.data_objects.open(path, mode, create=False)
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.create(f"{remote_dir}/intruder.txt")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.acls.set(iRODSAccess("own", path, other))
    session.acls.set(iRODSAccess("write", remote_dir, other))
    alice.data_objects.create(f"{remote_dir}/allowed.txt")
    access = {(a.user_name, a.access_name) for a in session.acls.get(session.data_objects.get(path))}
    assert (other, "read_object") in access and (zone.user.name, "own") in access


def test_recursive_acl_and_inheritance(session: iRODSSession, alice: iRODSSession, remote_dir: str,
                                       zone: Zone) -> None:
    other = zone.other.name
    session.collections.create(f"{remote_dir}/tree/deep")
    session.data_objects.create(f"{remote_dir}/tree/deep/f1")
    session.acls.set(iRODSAccess("read", remote_dir, other))
    session.acls.set(iRODSAccess("read", f"{remote_dir}/tree", other), recursive=True)
    with alice.data_objects.open(f"{remote_dir}/tree/deep/f1", "r") as handle:
        assert handle.read() == b""
    session.acls.set(iRODSAccess("inherit", f"{remote_dir}/tree"))
    session.data_objects.create(f"{remote_dir}/tree/f2")
    assert alice.data_objects.exists(f"{remote_dir}/tree/f2")
    assert session.collections.get(f"{remote_dir}/tree").inheritance is True


def test_acl_errors(session: iRODSSession, remote_dir: str, zone: Zone) -> None:
    with pytest.raises(CAT_INVALID_ARGUMENT):
        session.acls.set(iRODSAccess("read", f"{remote_dir}/missing", zone.other.name))
    with pytest.raises(CAT_INVALID_USER):
        session.acls.set(iRODSAccess("read", remote_dir, "nobody"))
    with pytest.raises(CAT_INVALID_ARGUMENT):
        session.acls.set(iRODSAccess("sideways", remote_dir, zone.other.name))


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
        session.metadata.add(DataObject, f"{remote_dir}/missing", iRODSMeta("a", "b"))


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
        session.metadata.apply_atomic_operations(
            DataObject, f"{remote_dir}/nope", AVUOperation(operation="add", avu=iRODSMeta("x", "y")))


def test_admin_only_user_creation(session: iRODSSession) -> None:
    from irods.exception import SYS_NO_API_PRIV

    with pytest.raises(SYS_NO_API_PRIV):  # GENERAL_ADMIN (701) is a rodsadmin's API
        session.users.create(f"mallory{os.getpid()}", "rodsuser")


def test_zone_top_is_hidden_and_recursive_create_backs_up(session: iRODSSession,
                                                          alice: iRODSSession, remote_dir: str,
                                                          zone: Zone) -> None:
    """A fresh 5.0.2 zone gives a rodsuser no access above the homes; a recursive create backs
    up to the deepest collection the user can see and creates below it (``rsMkCollR``)."""
    for top in ("/", f"/{zone.zone_name}", f"/{zone.zone_name}/home"):
        with pytest.raises(CollectionDoesNotExist):
            alice.collections.get(top)
    # Nothing on the path is visible to the other user: the walk ends at the zone's root.
    for path in (remote_dir, f"{remote_dir}/a/b"):
        with pytest.raises(SYS_INVALID_INPUT_PARAM):
            alice.collections.create(path, recurse=True)
    # Without recursion the parent's write permission is checked before the name.
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.collections.create(remote_dir, recurse=False)
    session.acls.set(iRODSAccess("read", remote_dir, zone.other.name))
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):  # seen now, but not writable
        alice.collections.create(f"{remote_dir}/a/b", recurse=True)
    assert alice.collections.create(remote_dir, recurse=True).path == remote_dir
    session.collections.create(f"{remote_dir}/x/y", recurse=True)
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        session.collections.create(f"{remote_dir}/x", recurse=False)
    assert [c.name for c in session.collections.get(remote_dir).subcollections] == ["x"]
