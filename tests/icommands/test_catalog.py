"""ichksum, imeta, ichmod (-r, inherit), irm (trash) and irm -f, imv, icp: the same catalog
state (checksums, AVUs, ACLs, trash) on both zones."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from irods.column import Like
from irods.models import Collection, DataObject

from tests.icommands.conftest import Zone, make_tree


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _put(zone: Zone, tmp_path: Path, target: str, data: bytes = b"content\n") -> None:
    local = tmp_path / "upload.bin"
    local.write_bytes(data)
    zone.run("iput", "-f", str(local), target)


def _acl(zone: Zone, path: str) -> set[tuple[str, str]]:
    with zone.user_session() as session:
        return {(entry.user_name, entry.access_name) for entry in session.acls.get(
            session.data_objects.get(path) if session.data_objects.exists(path)
            else session.collections.get(path))}


def test_ichksum_computes_registers_and_prints(zone: Zone, coll: str, tmp_path: Path) -> None:
    _put(zone, tmp_path, f"{coll}/f.txt", b"checksum me\n")
    out = zone.run("ichksum", f"{coll}/f.txt").stdout
    assert out.split() == ["f.txt", sha2(b"checksum me\n")]
    with zone.user_session() as session:
        assert session.data_objects.get(f"{coll}/f.txt").checksum == sha2(b"checksum me\n")
    again = zone.run("ichksum", "-K", f"{coll}/f.txt")
    assert again.returncode == 0


def test_imeta_add_ls_rm(zone: Zone, coll: str, tmp_path: Path) -> None:
    target = f"{coll}/f.txt"
    _put(zone, tmp_path, target)
    zone.run("imeta", "add", "-d", target, "species", "mouse", "n")
    zone.run("imeta", "add", "-C", coll, "project", "p1")
    listing = zone.run("imeta", "ls", "-d", target).stdout
    assert listing == (f"AVUs defined for dataObj {target}:\nattribute: species\nvalue: mouse\nunits: n\n")
    assert "attribute: project\nvalue: p1\n" in zone.run("imeta", "ls", "-C", coll).stdout
    duplicate = zone.run("imeta", "add", "-d", target, "species", "mouse", "n", check=False)
    assert duplicate.returncode != 0 and "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME" in duplicate.stdout + duplicate.stderr
    zone.run("imeta", "rm", "-d", target, "species", "mouse", "n")
    with zone.user_session() as session:
        assert session.data_objects.get(target).metadata.items() == []


def test_ichmod_object_recursive_and_inherit(zone: Zone, coll: str, tmp_path: Path) -> None:
    _put(zone, tmp_path, f"{coll}/f.txt")
    zone.run("ichmod", "read", "rods", f"{coll}/f.txt")
    assert _acl(zone, f"{coll}/f.txt") == {(zone.user, "own"), ("rods", "read_object")}
    make_tree(tmp_path / "tree")
    zone.run("iput", "-r", str(tmp_path / "tree"), f"{coll}/tree")
    zone.run("ichmod", "-r", "write", "rods", f"{coll}/tree")
    assert ("rods", "modify_object") in _acl(zone, f"{coll}/tree/sub/deeper/e.txt")
    assert ("rods", "modify_object") in _acl(zone, f"{coll}/tree/sub")
    zone.run("ichmod", "null", "rods", f"{coll}/f.txt")
    assert _acl(zone, f"{coll}/f.txt") == {(zone.user, "own")}
    zone.run("ichmod", "inherit", coll)
    zone.run("ichmod", "read", "rods", coll)
    with zone.user_session() as session:
        assert session.collections.get(coll).inheritance is True
    _put(zone, tmp_path, f"{coll}/after.txt")
    assert ("rods", "read_object") in _acl(zone, f"{coll}/after.txt")
    assert "Inheritance - Enabled" in zone.run("ils", "-A", coll).stdout
    zone.run("ichmod", "noinherit", coll)
    with zone.user_session() as session:
        assert session.collections.get(coll).inheritance is False


def _in_trash(zone: Zone, name: str) -> list[str]:
    with zone.user_session() as session:
        rows = session.query(Collection.name, DataObject.name).filter(
            Like(Collection.name, f"/{zone.zone}/trash/home/{zone.user}%")).filter(DataObject.name == name)
        return [f"{row[Collection.name]}/{row[DataObject.name]}" for row in rows]


def test_irm_goes_to_trash_and_irm_f_does_not(zone: Zone, coll: str, tmp_path: Path) -> None:
    _put(zone, tmp_path, f"{coll}/trashed.txt")
    _put(zone, tmp_path, f"{coll}/gone.txt")
    zone.run("irm", f"{coll}/trashed.txt")
    zone.run("irm", "-f", f"{coll}/gone.txt")
    with zone.user_session() as session:
        assert not session.data_objects.exists(f"{coll}/trashed.txt")
        assert not session.data_objects.exists(f"{coll}/gone.txt")
    relative = coll[len(f"/{zone.zone}/home/"):]
    assert _in_trash(zone, "trashed.txt") == [f"/{zone.zone}/trash/home/{relative}/trashed.txt"]
    assert _in_trash(zone, "gone.txt") == []
    zone.run("imkdir", f"{coll}/sub")
    _put(zone, tmp_path, f"{coll}/sub/inner.txt")
    zone.run("irm", "-r", f"{coll}/sub")
    assert _in_trash(zone, "inner.txt") == [f"/{zone.zone}/trash/home/{relative}/sub/inner.txt"]
    zone.run("irmtrash")
    assert _in_trash(zone, "trashed.txt") == [] and _in_trash(zone, "inner.txt") == []
    missing = zone.run("irm", f"{coll}/never.txt", check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stdout + missing.stderr


def test_imv_renames_and_moves(zone: Zone, coll: str, tmp_path: Path) -> None:
    _put(zone, tmp_path, f"{coll}/a.txt", b"moved bytes\n")
    zone.run("imeta", "add", "-d", f"{coll}/a.txt", "k", "v")
    zone.run("imkdir", f"{coll}/dir")
    zone.run("imv", f"{coll}/a.txt", f"{coll}/dir/b.txt")
    zone.run("iget", f"{coll}/dir/b.txt", str(tmp_path / "b.txt"))
    assert (tmp_path / "b.txt").read_bytes() == b"moved bytes\n"
    with zone.user_session() as session:
        assert not session.data_objects.exists(f"{coll}/a.txt")
        assert [(m.name, m.value) for m in session.data_objects.get(f"{coll}/dir/b.txt").metadata.items()] == [("k", "v")]
    zone.run("imv", f"{coll}/dir", f"{coll}/renamed")
    with zone.user_session() as session:
        assert session.data_objects.exists(f"{coll}/renamed/b.txt")


def test_icp_copies_content_not_avus(zone: Zone, coll: str, tmp_path: Path) -> None:
    _put(zone, tmp_path, f"{coll}/src.txt", b"copy me\n")
    zone.run("imeta", "add", "-d", f"{coll}/src.txt", "k", "v")
    zone.run("icp", f"{coll}/src.txt", f"{coll}/dst.txt")
    with zone.user_session() as session:
        copy = session.data_objects.get(f"{coll}/dst.txt")
        assert copy.size == 8 and copy.metadata.items() == []
        assert str(copy.replicas[0].status) == "1"
    refused = zone.run("icp", f"{coll}/src.txt", f"{coll}/dst.txt", check=False)
    assert refused.returncode != 0 and "OVERWRITE_WITHOUT_FORCE_FLAG" in refused.stdout + refused.stderr
    _put(zone, tmp_path, f"{coll}/src.txt", b"changed source\n")
    zone.run("icp", "-f", "-K", f"{coll}/src.txt", f"{coll}/dst.txt")
    zone.run("iget", f"{coll}/dst.txt", str(tmp_path / "dst.txt"))
    assert (tmp_path / "dst.txt").read_bytes() == b"changed source\n"
    with zone.user_session() as session:
        assert session.data_objects.get(f"{coll}/dst.txt").checksum == sha2(b"changed source\n")
