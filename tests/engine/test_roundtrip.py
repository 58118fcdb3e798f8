"""Round trips of a generated tree through the engine, against the embedded server over TCP."""

from __future__ import annotations

import os
from pathlib import Path

from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.engine.stats import Status
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
