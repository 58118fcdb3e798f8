"""Round trips of a generated tree through the engine, against the embedded server over TCP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.engine.decide import Reason
from mango_transfer.engine.stats import Status
from mango_transfer.localfs.hashing import irods_sha256
from mango_transfer.localfs.partial import PARTIAL_SUFFIX, STATE_SUFFIX

from .conftest import CHUNK, Runner, tree_digest


def _no_leftovers(root: Path) -> None:
    stray = [p for p in root.rglob("*") if p.name.endswith((PARTIAL_SUFFIX, STATE_SUFFIX))]
    assert stray == []


def test_round_trip_both_ways_then_nothing_then_one_change(
    tree: Path, tmp_path: Path, remote_dir: str, session: iRODSSession, run_upload: Runner,
    run_download: Runner,
) -> None:
    files = tree_digest(tree)
    total = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())

    up = run_upload(tree, remote_dir).snapshot()
    assert (up.files_new, up.files_failed, up.bytes) == (len(files), 0, total)
    rows = list(session.query(DataObject.size).filter(Collection.name == f"{remote_dir}/big"))
    assert sorted(r[DataObject.size] for r in rows) == [CHUNK + 12345, 2 * CHUNK + 7]

    out = tmp_path / "out"
    down = run_download(remote_dir, out).snapshot()
    assert (down.files_new, down.files_failed, down.bytes) == (len(files), 0, total)
    assert tree_digest(out) == files
    _no_leftovers(out)
    # mtimes survive both ways (whole seconds), so the default rule skips everything next time
    for name in ("empty.txt", "big/rec0.bin"):
        assert int((out / name).stat().st_mtime) == int((tree / name).stat().st_mtime)

    again_up = run_upload(tree, remote_dir).snapshot()
    again_down = run_download(remote_dir, out).snapshot()
    for snap in (again_up, again_down):
        assert (snap.transferred, snap.files_skipped, snap.bytes) == (0, len(files), 0)

    changed = tree / "sub-01" / "ses 1" / "anat" / "f001_é.json"
    changed.write_bytes(b"new contents, new size")
    stats = run_upload(tree, remote_dir)
    snap = stats.snapshot()
    assert (snap.files_changed, snap.files_new, snap.bytes) == (1, 0, 22)
    moved = [r.path for r in stats.results if r.status is Status.TRANSFERRED]
    assert moved == ["sub-01/ses 1/anat/f001_é.json"]
    stats = run_download(remote_dir, out)
    assert [r.path for r in stats.results if r.status is Status.TRANSFERRED] == moved
    assert (out / moved[0]).read_bytes() == b"new contents, new size"


def test_checksum_catches_same_size_same_mtime_change(
    tmp_path: Path, remote_dir: str, run_upload: Runner,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    target = src / "data.tsv"
    target.write_bytes(b"a\t1\n")
    run_upload(src, remote_dir)
    stat = target.stat()
    target.write_bytes(b"a\t2\n")
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert run_upload(src, remote_dir).snapshot().files_skipped == 1  # size+mtime: fooled
    stats = run_upload(src, remote_dir, checksum=True)
    assert stats.snapshot().files_changed == 1
    assert stats.results[0].reason == "checksums differ"
    assert run_upload(src, remote_dir, checksum=True).snapshot().files_skipped == 1


def test_dry_run_changes_nothing(tree: Path, remote_dir: str, run_upload: Runner,
                                 session: iRODSSession) -> None:
    stats = run_upload(tree, f"{remote_dir}/dry", dry_run=True)
    snap = stats.snapshot()
    assert snap.files_planned == len(tree_digest(tree)) and snap.bytes == 0
    assert not session.collections.exists(f"{remote_dir}/dry")


def test_the_server_write_time_keeps_the_skip_rule_without_setting_mtimes(
    tmp_path: Path, remote_dir: str, session: iRODSSession, run_upload: Runner,
) -> None:
    """A small upload leaves the server's write time on the object (setting the local mtime
    would cost another request): the next run skips it because nothing changed locally since
    then; a same-size edit whose mtime is set back is still caught, by its ctime."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        (src / name).write_bytes(b"version 1\n")
        os.utime(src / name, (1_600_000_000, 1_600_000_000))
    time.sleep(2.2)  # the files' ctime is now more than the modify window before the upload
    assert run_upload(src, remote_dir).snapshot().files_new == 2
    stamp = session.data_objects.get(f"{remote_dir}/a.txt").modify_time.timestamp()
    assert stamp > 1_600_000_000 + 10  # the server's time, not the file's

    again = run_upload(src, remote_dir)
    assert again.snapshot().files_skipped == 2
    assert {r.reason for r in again.results} == {Reason.WRITTEN_AFTER_CHANGE.value}

    (src / "a.txt").write_bytes(b"version 2\n")  # same size, mtime set back: a restore
    os.utime(src / "a.txt", (1_600_000_000, 1_600_000_000))
    stats = run_upload(src, remote_dir)
    assert [r.path for r in stats.results if r.status is Status.TRANSFERRED] == ["a.txt"]
    with session.data_objects.open(f"{remote_dir}/a.txt", "r") as handle:
        assert handle.read() == b"version 2\n"


@pytest.mark.parametrize("flag", ["checksum", "verify"])
def test_checksum_and_verify_uploads_register_the_sha256(
    flag: str, tmp_path: Path, remote_dir: str, session: iRODSSession, run_upload: Runner,
) -> None:
    """The checksum computed for --checksum or --verify is left in the catalog (small files:
    verified and registered by the put itself; chunked ones by the checksum call after it), so
    the next run and other tools can rely on it."""
    src = tmp_path / "src"
    src.mkdir()
    contents = {"small.txt": b"small\n", "empty": b"", "big.bin": os.urandom(CHUNK + 5)}
    for name, data in contents.items():
        (src / name).write_bytes(data)
    assert run_upload(src, remote_dir, **{flag: True}).snapshot().files_new == 3
    for name, data in contents.items():
        assert session.data_objects.get(f"{remote_dir}/{name}").checksum == irods_sha256(data)
