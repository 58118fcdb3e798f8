"""``--processes N``: spawned worker processes settle the files of the parent's one walk, and a
run ends exactly as it would in one process (outcomes, skips, deletions, filters, --verify,
--checksum, resume, the report, the exit codes), on both zones over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from irods.session import iRODSSession

from mango_transfer.engine.merge import Item
from mango_transfer.engine.options import TransferOptions, parse_processes
from mango_transfer.engine.processes import needs_io, resolve_processes
from mango_transfer.engine.stats import Status
from mango_transfer.errors import UsageError
from mango_transfer.fileinfo import FileInfo
from tests.zones import Zone

from .conftest import CHUNK, Runner, make_tree, tree_digest


def _statuses(stats: object) -> dict[str, str]:
    return {r.path: r.status.value for r in stats.results}  # type: ignore[attr-defined]


def test_round_trip_in_two_processes_then_nothing_then_one_change(
    tree: Path, tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
) -> None:
    files = tree_digest(tree)
    up = run_upload(tree, remote_dir, processes=2, verify=True)
    snap = up.snapshot()
    assert (snap.files_new, snap.files_failed, snap.files_verified) == (len(files), 0, len(files))
    assert sorted(r.path for r in up.results) == sorted(files)  # each file reported once
    assert snap.bytes == sum((tree / name).stat().st_size for name in files)

    out = tmp_path / "out"
    down = run_download(remote_dir, out, processes=2).snapshot()
    assert (down.files_new, down.files_failed) == (len(files), 0)
    assert tree_digest(out) == files

    for again in (run_upload(tree, remote_dir, processes=2),
                  run_download(remote_dir, out, processes=2)):
        snap = again.snapshot()
        assert (snap.transferred, snap.files_skipped, snap.bytes) == (0, len(files), 0)

    changed = tree / "big" / "rec1.bin"
    changed.write_bytes(os.urandom(CHUNK + 3))  # a large file: ranges, in a child
    (tree / "empty.txt").write_bytes(b"x")
    stats = run_upload(tree, remote_dir, processes=2, checksum=True)
    moved = sorted(r.path for r in stats.results if r.status is Status.TRANSFERRED)
    assert moved == ["big/rec1.bin", "empty.txt"]
    assert stats.snapshot().files_skipped == len(files) - 2
    skipped = [r for r in stats.results if r.status is Status.SKIPPED]
    assert all(r.checksum for r in skipped)  # --checksum: skipped because the SHA-256s match


def test_sync_delete_and_filters_in_two_processes(
    tmp_path: Path, remote_dir: str, run_upload: Runner,
) -> None:
    src = make_tree(tmp_path / "src", small=20, large=())
    (src / "scratch.tmp").write_bytes(b"leave me out")
    run_upload(src, remote_dir, processes=2)
    (src / "empty.txt").unlink()
    (src / "scratch.tmp").unlink()
    (src / "notes.tmp").write_bytes(b"excluded")

    stats = run_upload(src, remote_dir, processes=2, delete=True, filters=("- *.tmp",))
    statuses = _statuses(stats)
    assert statuses["empty.txt"] == "deleted"  # only on the destination: --delete removes it
    assert statuses["notes.tmp"] == "filtered"
    assert "scratch.tmp" not in statuses  # excluded on the destination: never a candidate
    assert stats.snapshot().files_deleted == 1
    again = run_upload(src, remote_dir, processes=2, delete=True, filters=("- *.tmp",))
    assert (again.snapshot().files_deleted, again.snapshot().transferred) == (0, 0)


def test_a_failing_file_is_reported_once_and_the_run_goes_on(
    tmp_path: Path, remote_dir: str, run_upload: Runner, session: iRODSSession,
) -> None:
    src = make_tree(tmp_path / "src", small=12, large=())
    session.collections.create(f"{remote_dir}/empty.txt")  # a collection where a file goes
    stats = run_upload(src, remote_dir, processes=2, retries=0)
    failed = [r for r in stats.results if r.status is Status.FAILED]
    assert [r.path for r in failed] == ["empty.txt"]
    assert [r.path for r in stats.failures] == ["empty.txt"]
    assert stats.snapshot().files_new == len(tree_digest(src)) - 1

    (src / "déjà vu" / "naïve file.tsv").unlink()  # a --delete candidate now
    again = run_upload(src, remote_dir, processes=2, retries=0, delete=True)
    snap = again.snapshot()  # a child's failure holds every deletion back, as in one process
    assert (snap.files_failed, snap.files_deleted, snap.not_deleted) == (1, 0, 1)
    assert session.data_objects.exists(f"{remote_dir}/déjà vu/naïve file.tsv")


def _cli(zone: Zone, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **zone.user.environ(XDG_STATE_HOME=str(tmp_path / "state"))}
    return subprocess.run([sys.executable, "-m", "mango_transfer", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_exit_codes_summary_and_report_with_processes(
    tmp_path: Path, remote_dir: str, irods_env: Zone, session: iRODSSession,
) -> None:
    src = make_tree(tmp_path / "src", small=15, large=(CHUNK + 1,))
    report = tmp_path / "r.json"
    args = ["upload", str(src), remote_dir, "--processes", "2", "--chunk-threshold", "4M",
            "--json-report", str(report)]
    first = _cli(irods_env, tmp_path, *args)
    assert first.returncode == 0, first.stderr
    data = json.loads(report.read_text())
    assert data["header"]["exit_code"] == 0
    assert data["header"]["options"]["processes"] == 2
    assert sorted(f["path"] for f in data["files"]) == sorted(tree_digest(src))
    assert {f["status"] for f in data["files"]} == {"transferred"}
    assert f"{len(tree_digest(src))} new" in first.stdout

    (src / "empty.txt").write_bytes(b"now with bytes")
    session.data_objects.unlink(f"{remote_dir}/empty.txt", force=True)
    session.collections.create(f"{remote_dir}/empty.txt")
    second = _cli(irods_env, tmp_path, *args, "--retries", "0")
    assert second.returncode == 1, second.stderr
    assert second.stderr.count("failed: empty.txt") == 1
    files = json.loads(report.read_text())["files"]
    assert [f["path"] for f in files if f["status"] == "failed"] == ["empty.txt"]
    assert json.loads(report.read_text())["header"]["exit_code"] == 1

    bad = _cli(irods_env, tmp_path, "upload", str(src), remote_dir, "--processes", "two")
    assert bad.returncode == 2
    assert "--processes" in bad.stderr and "Traceback" not in bad.stderr


def test_automatic_count_and_the_value_read() -> None:
    assert parse_processes("auto") == parse_processes("0") == 0
    assert parse_processes("3") == 3
    with pytest.raises(UsageError, match="--processes"):
        parse_processes("-1")
    assert resolve_processes(TransferOptions(processes=3)) == 3
    automatic = resolve_processes(TransferOptions())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert automatic == (1 if (cores or 1) < 4 else min(8, (cores or 1) // 2))
    assert resolve_processes(TransferOptions(threads=1)) == 1


def test_only_pairs_that_need_io_leave_the_parent() -> None:
    same = FileInfo("a", 3, 100)
    plain = TransferOptions()
    assert not needs_io(Item("a", same, same), plain)  # skipped by size and time
    assert needs_io(Item("a", same, None), plain)  # new
    assert not needs_io(Item("a", same, None), TransferOptions(dry_run=True))  # a plan
    assert needs_io(Item("a", same, same), TransferOptions(checksum=True))  # hashes
    assert not needs_io(Item("a", None, same), plain)  # destination only, no --delete
    assert not needs_io(Item("a", None, same), TransferOptions(delete=True))  # at the end
    assert needs_io(Item("a", same, same, dst_complete=False), plain)  # stale: changed
