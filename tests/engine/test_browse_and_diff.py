"""``ls``, ``du`` and ``diff`` over TCP, on a collection of 1,200 objects (three GenQuery pages;
520, two pages, on a real zone, where each small upload costs some 25 times more).

``ls -r`` and ``du`` stream the engine's own walk (objects and collections, merged); ``diff``
compares both sides with the engine's listings and skip rules and changes neither.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from tests.zones import Zone

from .test_report_schema import validated


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def _study(root: Path, objects: int) -> dict[str, int]:
    sizes = {}
    for i in range(objects):
        relative = f"sub-{i % 2:02d}/f{i:04d}.json"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"x" * (i % 7))
        sizes[relative] = i % 7
    (root / "derivatives" / "empty").mkdir(parents=True)
    return sizes


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_ls_and_du_stream_a_large_collection(
    tmp_path: Path, remote_dir: str, cli_env: Zone,
) -> None:
    objects = cli_env.scaled(1200, 520)
    sizes = _study(tmp_path / "study", objects)
    runner = CliRunner()
    _ok(runner.invoke(main, ["upload", str(tmp_path / "study"), f"{remote_dir}/study", "-q",
                             "--threads", "16"]))

    top = _ok(runner.invoke(main, ["ls", f"{remote_dir}/study"])).stdout.splitlines()
    assert top == ["derivatives/", "sub-00/", "sub-01/"]

    tree = _ok(runner.invoke(main, ["ls", "-r", f"{remote_dir}/study"])).stdout.splitlines()
    assert len(tree) == objects + 4  # the objects, and four collections
    assert tree[:2] == ["derivatives/", "derivatives/empty/"]
    assert tree.index("sub-00/") < tree.index("sub-00/f0000.json") < tree.index("sub-01/")
    assert sorted(t for t in tree if not t.endswith("/")) == sorted(sizes)

    # Relative to irods_cwd (the home here) and from ~, as iCommands read them.
    scratch = posixpath.basename(remote_dir)
    for typed in (f"{scratch}/study/sub-01", f"~/{scratch}/study/sub-01",
                  f"irods:~/{scratch}//study/./sub-01/"):
        listed = _ok(runner.invoke(main, ["ls", "-l", typed])).stdout.splitlines()
        assert len(listed) == objects // 2, typed
    size, day, clock, checksum, status, name = listed[0].split()
    assert (int(size), checksum, status, name) == (sizes[f"sub-01/{name}"], "-", "good", name)
    assert len(day) == 10 and len(clock) == 8

    entries = json.loads(_ok(runner.invoke(main, ["ls", "-r", "--json",
                                                  f"{remote_dir}/study"])).stdout)
    assert len(entries) == objects + 4
    found = {e["path"]: e for e in entries if e["type"] == "object"}
    assert {path: e["size"] for path, e in found.items()} == sizes
    assert found["sub-00/f0000.json"]["irods_path"] == f"{remote_dir}/study/sub-00/f0000.json"
    assert {e["replica_status"] for e in found.values()} == {"good"}
    assert json.loads(_ok(runner.invoke(main, ["ls", "--json", f"{remote_dir}/study/"
                                                               "derivatives/empty"])).stdout) == []

    total = sum(sizes.values())
    du = _ok(runner.invoke(main, ["du", f"{remote_dir}/study"])).stdout.strip()
    assert du == (f"{total / 1024:.1f} KiB ({total:,} bytes) in {objects:,} objects and 4 "
                  f"collections: {remote_dir}/study")
    counted = json.loads(_ok(runner.invoke(main, ["du", "--json",
                                                  f"{remote_dir}/study/sub-00"])).stdout)
    assert counted == {"collection": f"{remote_dir}/study/sub-00", "objects": objects // 2,
                       "bytes": sum(v for k, v in sizes.items() if k.startswith("sub-00/")),
                       "collections": 0}

    one = _ok(runner.invoke(main, ["ls", "-l", f"{remote_dir}/study/sub-00/f0006.json"]))
    assert one.stdout.split()[0] == "6" and one.stdout.split()[-1] == "f0006.json"
    missing = runner.invoke(main, ["ls", f"{remote_dir}/nothing"])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.output

    # diff, both ways round, on the same objects: identical.
    same = _ok(runner.invoke(main, ["diff", str(tmp_path / "study"), f"irods:{remote_dir}/study"]))
    assert same.stdout.strip().splitlines()[-1] == (
        f"diff: {objects:,} identical, 0 differ, 0 missing on destination, 0 missing on source, "
        "0 failed (sizes compared)")
    same = _ok(runner.invoke(main, ["diff", f"{remote_dir}/study", str(tmp_path / "study")]))
    assert f"diff: {objects:,} identical, 0 differ" in same.stdout


def test_diff_names_every_difference_and_changes_nothing(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    for name, data in {"same.txt": b"same", "sub/edited.txt": b"aaaa", "grown.txt": b"1",
                       "only-local.txt": b"L"}.items():
        (local / name).write_bytes(data)
    runner = CliRunner()
    _ok(runner.invoke(main, ["upload", str(local), remote_dir, "-q"]))
    (local / "sub" / "edited.txt").write_bytes(b"bbbb")  # same size, other bytes
    (local / "grown.txt").write_bytes(b"12")
    with session.data_objects.open(f"{remote_dir}/only-remote.txt", "w") as handle:
        handle.write(b"R")
    session.data_objects.unlink(f"{remote_dir}/only-local.txt", force=True)
    before = {p: p.read_bytes() for p in local.rglob("*") if p.is_file()}

    by_size = runner.invoke(main, ["diff", str(local), f"irods:{remote_dir}"])
    assert by_size.exit_code == 1, by_size.output
    lines = by_size.stdout.splitlines()
    assert "missing on destination: only-local.txt" in lines
    assert "missing on source: only-remote.txt" in lines
    assert any(line.startswith("differs: grown.txt (sizes differ") for line in lines)
    assert not any("edited" in line for line in lines[:-1])  # equal sizes: equal by size
    assert lines[-1] == ("diff: 2 identical, 1 differ, 1 missing on destination, 1 missing on "
                         "source, 0 failed (sizes compared)")

    report = tmp_path / "diff.json"
    by_sum = runner.invoke(main, ["diff", f"irods:{remote_dir}", str(local), "--checksum",
                                  "-v", "--json-report", str(report)])
    assert by_sum.exit_code == 1, by_sum.output
    lines = by_sum.stdout.splitlines()
    assert "differs: sub/edited.txt (checksums differ)" in lines
    assert "missing on destination: only-remote.txt" in lines  # this way round
    assert "missing on source: only-local.txt" in lines
    assert any(line.startswith("identical: same.txt (sizes and checksums match") for line in lines)
    data = validated(report)
    assert data["header"]["command"] == "diff" and data["header"]["exit_code"] == 1
    statuses = {f["path"]: f["status"] for f in data["files"]}
    assert statuses == {"same.txt": "identical", "sub/edited.txt": "differs",
                        "grown.txt": "differs", "only-remote.txt": "missing_on_destination",
                        "only-local.txt": "missing_on_source"}
    assert (data["summary"]["identical"], data["summary"]["differs"],
            data["summary"]["bytes"]) == (1, 2, 0)
    same = next(f for f in data["files"] if f["path"] == "same.txt")
    assert same["checksum"].startswith("sha2:")

    # Nothing moved, nothing was created or deleted, on either side.
    assert {p: p.read_bytes() for p in local.rglob("*") if p.is_file()} == before
    remote = {obj.name for obj in session.collections.get(remote_dir).data_objects}
    assert remote == {"same.txt", "grown.txt", "only-remote.txt"}
    nowhere = runner.invoke(main, ["diff", f"irods:{remote_dir}", str(tmp_path / "absent")])
    assert nowhere.exit_code == 1 and not (tmp_path / "absent").exists()
    both = runner.invoke(main, ["diff", str(local), str(tmp_path)])
    assert both.exit_code == 2 and "diff needs exactly one iRODS side" in both.stderr
    assert os.listdir(local)  # untouched
