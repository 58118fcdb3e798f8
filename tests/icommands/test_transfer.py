"""iput/iget (-r, -f, -N 4, -K, -b, -X), irsync -r both ways: the same bytes, checksums and
errors on both zones."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from tests.icommands.conftest import Zone, make_tree, tree

LARGE = 33 * (1 << 20) + 12345  # above the 32 MiB single-buffer limit: the parallel portal


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _replica(zone: Zone, path: str) -> tuple[int, str, str]:
    with zone.user_session() as session:
        obj = session.data_objects.get(path)
        return obj.size, obj.checksum or "", str(obj.replicas[0].status)


def test_iput_iget_small_file_force_and_checksum(zone: Zone, coll: str, tmp_path: Path) -> None:
    local = tmp_path / "small.txt"
    local.write_bytes(b"small\n")
    target = f"{coll}/small.txt"
    zone.run("iput", str(local), target)
    assert _replica(zone, target) == (6, "", "1")
    again = zone.run("iput", str(local), target, check=False)
    assert again.returncode == 3 and "OVERWRITE_WITHOUT_FORCE_FLAG" in again.stderr + again.stdout
    local.write_bytes(b"changed content\n")
    zone.run("iput", "-f", "-K", str(local), target)
    assert _replica(zone, target) == (16, sha2(b"changed content\n"), "1")
    out = tmp_path / "out.txt"
    zone.run("iget", target, str(out))
    assert out.read_bytes() == b"changed content\n"
    refused = zone.run("iget", target, str(out), check=False)
    assert refused.returncode != 0 and "OVERWRITE_WITHOUT_FORCE_FLAG" in refused.stderr + refused.stdout
    out.write_bytes(b"stale")
    zone.run("iget", "-f", "-K", target, str(out))
    assert out.read_bytes() == b"changed content\n"


def test_iget_K_registers_a_missing_checksum(zone: Zone, coll: str, tmp_path: Path) -> None:
    local = tmp_path / "plain.txt"
    local.write_bytes(b"no checksum yet\n")
    zone.run("iput", str(local), f"{coll}/plain.txt")
    zone.run("iget", "-K", f"{coll}/plain.txt", str(tmp_path / "back.txt"))
    assert _replica(zone, f"{coll}/plain.txt")[1] == sha2(b"no checksum yet\n")


def test_empty_file_round_trip(zone: Zone, coll: str, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    zone.run("iput", "-K", str(tmp_path / "empty"), f"{coll}/empty")
    assert _replica(zone, f"{coll}/empty") == (0, sha2(b""), "1")
    zone.run("iget", f"{coll}/empty", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == b""


def test_large_file_parallel_put_and_get(zone: Zone, coll: str, tmp_path: Path) -> None:
    data = os.urandom(LARGE)
    local = tmp_path / "large.bin"
    local.write_bytes(data)
    zone.run("iput", "-N", "4", "-K", str(local), f"{coll}/large.bin")
    assert _replica(zone, f"{coll}/large.bin") == (LARGE, sha2(data), "1")
    zone.run("iget", "-N", "4", "-K", f"{coll}/large.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    # -N 1 is one stream: no portal threads, the bytes go over the main connection
    zone.run("iget", "-f", "-N", "1", f"{coll}/large.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    out = zone.run("ichksum", f"{coll}/large.bin").stdout
    assert sha2(data) in out


def test_recursive_put_and_get(zone: Zone, coll: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "tree")
    zone.run("iput", "-r", str(tmp_path / "tree"), f"{coll}/tree")
    zone.run("iget", "-r", f"{coll}/tree", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == files
    with zone.user_session() as session:
        assert session.data_objects.get(f"{coll}/tree/sub/deeper/e.txt").size == 800
    (tmp_path / "tree" / "a.txt").write_bytes(b"alpha, again\n")
    zone.run("iput", "-r", "-f", str(tmp_path / "tree"), coll)  # into an existing collection
    with zone.user_session() as session:
        assert session.data_objects.get(f"{coll}/tree/a.txt").size == 13


def test_bulk_put(zone: Zone, coll: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "tree")
    zone.run("iput", "-b", "-r", str(tmp_path / "tree"), f"{coll}/bulk")
    zone.run("iget", "-r", f"{coll}/bulk", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == files
    with zone.user_session() as session:
        for name, data in files.items():
            obj = session.data_objects.get(f"{coll}/bulk/{name}")
            assert obj.size == len(data) and str(obj.replicas[0].status) == "1"


def test_bulk_put_with_checksums(zone: Zone, coll: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "tree")
    zone.run("iput", "-b", "-K", "-r", str(tmp_path / "tree"), f"{coll}/bulk")
    with zone.user_session() as session:
        for name, data in files.items():
            assert session.data_objects.get(f"{coll}/bulk/{name}").checksum == sha2(data)


def test_restart_file(zone: Zone, coll: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "tree")
    restart = tmp_path / "restart.txt"
    result = zone.run("iput", "-X", str(restart), "-r", str(tmp_path / "tree"), f"{coll}/tree")
    assert "restartFile" in result.stdout + result.stderr
    zone.run("iget", "-X", str(tmp_path / "get-restart.txt"), "-r", f"{coll}/tree", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == files


def test_irsync_both_ways(zone: Zone, coll: str, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "tree")
    zone.run("irsync", "-r", str(tmp_path / "tree"), f"i:{coll}/sync")
    zone.run("irsync", "-r", f"i:{coll}/sync", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == files
    (tmp_path / "tree" / "a.txt").write_bytes(b"alpha, changed\n")
    (tmp_path / "tree" / "new.txt").write_bytes(b"new\n")
    zone.run("irsync", "-r", str(tmp_path / "tree"), f"i:{coll}/sync")
    with zone.user_session() as session:
        assert session.data_objects.get(f"{coll}/sync/a.txt").size == 15
        assert session.data_objects.get(f"{coll}/sync/new.txt").size == 4
    zone.run("irsync", "-r", f"i:{coll}/sync", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == tree(tmp_path / "tree")
