"""``sync --delete`` cannot wipe a study by accident: the guard (an empty source, more than
half of the destination, ``--max-delete``), deletions only after every transfer succeeded,
remote deletions into the iRODS trash (``--no-trash`` opts out), ``--backup-dir`` for local
deletions and overwrites, and ``--dry-run`` listing and counting every deletion.

Every run goes through the CLI over TCP, as the zone's rodsuser, on both servers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from tests.conftest import write_file
from tests.zones import Zone


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line(result: Result) -> str:
    """The single line a refused run prints (nothing else, no traceback)."""
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def objects(session: iRODSSession, collection: str) -> dict[str, bytes]:
    """Relative path → bytes of every object below ``collection``."""
    out: dict[str, bytes] = {}
    root = session.collections.get(collection)
    for _, _, objs in root.walk():
        for obj in objs:
            with obj.open("r") as handle:
                out[obj.path[len(collection) + 1:]] = handle.read()
    return out


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def uploaded(tmp_path: Path, remote: str, files: dict[str, bytes]) -> Path:
    """A local folder holding ``files``, synced to ``remote``."""
    src = tmp_path / "src"
    for name, data in files.items():
        write_file(src / name, data)
    done = run("sync", str(src), f"irods:{remote}", "--quiet")
    assert done.exit_code == 0, done.output
    return src


FOUR = {"a.txt": b"a", "sub/b.txt": b"bb", "sub/c.txt": b"ccc", "d.txt": b"dddd"}


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_an_empty_source_deletes_nothing_and_exits_2(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession, direction: str,
) -> None:
    empty_local, local = tmp_path / "empty", tmp_path / "local"
    empty_local.mkdir()
    if direction == "upload":
        uploaded(tmp_path, f"{remote_dir}/study", FOUR)
        src, dest = str(empty_local), f"irods:{remote_dir}/study"
    else:
        session.collections.create(f"{remote_dir}/empty")
        for name, data in FOUR.items():
            write_file(local / name, data)
        src, dest = f"irods:{remote_dir}/empty", str(local)
    plan = tmp_path / "refused.json"
    refused = run("sync", src, dest, "--delete", "--json-report", str(plan))
    assert refused.exit_code == 2
    line = one_line(refused)
    assert "the source is empty, so sync --delete would delete all 4 files" in line
    assert "nothing was deleted" in line and "--max-delete 4" in line
    left = objects(session, f"{remote_dir}/study") if direction == "upload" else local_files(local)
    assert left == FOUR
    written = report(plan)
    assert written["header"]["exit_code"] == 2 and written["summary"]["not_deleted"] == 4
    assert written["summary"]["deleted"] == 0

    allowed = run("sync", src, dest, "--delete", "--max-delete", "4", "--quiet")
    assert allowed.exit_code == 0, allowed.output
    left = objects(session, f"{remote_dir}/study") if direction == "upload" else local_files(local)
    assert left == {}


def test_more_than_half_is_refused_and_dry_run_lists_every_deletion(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    dest = f"irods:{remote_dir}/study"
    src = uploaded(tmp_path, f"{remote_dir}/study", FOUR)
    for name in ("a.txt", "sub/b.txt", "sub/c.txt"):
        (src / name).unlink()

    refused = run("sync", str(src), dest, "--delete")
    assert refused.exit_code == 2
    line = one_line(refused)
    assert "would delete 3 of the destination's 4 files, more than half" in line
    assert "--max-delete 3" in line
    assert objects(session, f"{remote_dir}/study") == FOUR

    plan = tmp_path / "plan.json"
    preview = run("sync", str(src), dest, "--delete", "--dry-run", "--json-report", str(plan))
    assert preview.exit_code == 2  # a real run would be refused: said last, after the list
    lines = preview.output.strip().splitlines()
    assert sorted(lines[:-1]) == ["would delete: a.txt (only on the destination)",
                                  "would delete: sub/b.txt (only on the destination)",
                                  "would delete: sub/c.txt (only on the destination)"]
    assert "more than half" in lines[-1]
    assert report(plan)["summary"]["planned_deletions"] == 3

    too_few = run("sync", str(src), dest, "--delete", "--max-delete", "2")
    assert too_few.exit_code == 2
    assert "more than --max-delete 2 allows" in one_line(too_few)
    assert objects(session, f"{remote_dir}/study") == FOUR

    allowed_plan = run("sync", str(src), dest, "--delete", "--dry-run", "--max-delete", "3")
    assert allowed_plan.exit_code == 0, allowed_plan.output
    assert allowed_plan.output.count("would delete: ") == 3
    assert "dry run: 0 to transfer (0 B), 3 to delete, 1 unchanged" in allowed_plan.output
    assert objects(session, f"{remote_dir}/study") == FOUR

    done = run("sync", str(src), dest, "--delete", "--max-delete", "-1", "--quiet")
    assert done.exit_code == 0, done.output
    assert objects(session, f"{remote_dir}/study") == {"d.txt": b"dddd"}


def test_deleted_objects_go_to_the_trash_unless_no_trash(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    files = {"keep.txt": b"keep", "sub/gone.txt": b"gone for now", "sub/x.txt": b"x",
             "forever.txt": b"really gone"}
    src = uploaded(tmp_path, f"{remote_dir}/study", files)
    (src / "sub" / "gone.txt").unlink()
    log = tmp_path / "delete.json"
    done = run("sync", str(src), f"irods:{remote_dir}/study", "--delete", "-v",
               "--json-report", str(log))
    assert done.exit_code == 0, done.output
    assert "deleted: sub/gone.txt (only on the destination; moved to the trash)" in done.output
    assert "1 deleted" in done.output
    summary = report(log)["summary"]
    assert summary["deleted"] == 1 and summary["not_deleted"] == 0
    below_home = f"{remote_dir}/study"[len(cli_env.user.home) + 1:]
    trashed = f"{cli_env.trash}/{below_home}/sub/gone.txt"
    assert session.data_objects.exists(trashed), trashed
    with session.data_objects.open(trashed, "r") as handle:
        assert handle.read() == b"gone for now"
    assert not session.data_objects.exists(f"{remote_dir}/study/sub/gone.txt")

    (src / "forever.txt").unlink()
    forced = run("sync", str(src), f"irods:{remote_dir}/study", "--delete", "--no-trash", "-v")
    assert forced.exit_code == 0, forced.output
    assert "removed for good (--no-trash)" in forced.output
    assert not session.data_objects.exists(f"{remote_dir}/study/forever.txt")
    assert not session.data_objects.exists(f"{cli_env.trash}/{below_home}/forever.txt")
    assert objects(session, f"{remote_dir}/study") == {"keep.txt": b"keep", "sub/x.txt": b"x"}


def test_an_unreadable_source_folder_protects_the_destination(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A source folder that cannot be listed fails, and a run with a failure deletes nothing:
    neither what is below that folder nor any other candidate."""
    files = {"locked/a.txt": b"a", "locked/deep/b.txt": b"b", "open/c.txt": b"c",
             "open/d.txt": b"d", "e.txt": b"e", "f.txt": b"f"}
    src = uploaded(tmp_path, f"{remote_dir}/study", files)
    (src / "e.txt").unlink()
    if os.geteuid() == 0:  # root reads any folder: make its listing fail as it would
        import mango_transfer.localfs.walk as walk_module
        real = walk_module._list_names

        def deny(folder: str) -> list[str]:
            if os.path.basename(folder) == "locked":
                raise PermissionError(13, "Permission denied", str(folder))
            return real(folder)

        monkeypatch.setattr(walk_module, "_list_names", deny)
    else:
        (src / "locked").chmod(0)
    log = tmp_path / "run.json"
    try:
        result = run("sync", str(src), f"irods:{remote_dir}/study", "--delete",
                     "--max-delete", "-1", "--json-report", str(log))
    finally:
        (src / "locked").chmod(0o755)
    assert result.exit_code == 1, result.output
    assert "failed: locked" in result.output and "1 not deleted" in result.output
    assert objects(session, f"{remote_dir}/study") == files
    entries = {f["path"]: f for f in report(log)["files"]}
    assert entries["e.txt"]["status"] == "skipped" and entries["e.txt"]["action"] == "delete"
    assert "after every transfer succeeded" in entries["e.txt"]["reason"]
    assert "locked/a.txt" not in entries and "locked/deep/b.txt" not in entries
    assert report(log)["summary"]["not_deleted"] == 1


def test_backup_dir_keeps_overwritten_and_deleted_local_files(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    big_old, big_new = os.urandom(1536 * 1024), os.urandom(1600 * 1024)
    local, backup = tmp_path / "local", tmp_path / "backup"
    for name, data in {"a.txt": b"old a", "sub/big.bin": big_old, "sub/only-here.txt": b"mine",
                       "same.txt": b"same"}.items():
        write_file(local / name, data)
    remote = f"{remote_dir}/study"
    staging = tmp_path / "staging"
    for name, data in {"a.txt": b"new a!", "sub/big.bin": big_new, "c.txt": b"c",
                       "same.txt": b"same", "x1": b"1", "x2": b"2"}.items():
        write_file(staging / name, data)
    assert run("upload", str(staging), remote, "--quiet").exit_code == 0
    os.utime(local / "same.txt", ((staging / "same.txt").stat().st_mtime,) * 2)

    done = run("sync", f"irods:{remote}", str(local), "--delete", "--backup-dir", str(backup),
               "--chunk-threshold", "1M", "-v")
    assert done.exit_code == 0, done.output
    assert f"moved to {backup / 'sub' / 'only-here.txt'}" in done.output
    assert local_files(local) == {"a.txt": b"new a!", "sub/big.bin": big_new, "c.txt": b"c",
                                  "same.txt": b"same", "x1": b"1", "x2": b"2"}
    assert local_files(backup) == {"a.txt": b"old a", "sub/big.bin": big_old,
                                   "sub/only-here.txt": b"mine"}

    (local / "c.txt").write_bytes(b"edited locally")  # a plain download overwrites it too
    again = run("download", remote, str(local), "--backup-dir", str(backup), "--quiet")
    assert again.exit_code == 0, again.output
    assert (local / "c.txt").read_bytes() == b"c"
    assert (backup / "c.txt").read_bytes() == b"edited locally"
    assert not [p for p in backup.rglob(".*")], "no temporaries left in the backup folder"


@pytest.mark.parametrize(("where", "needle"), [
    pytest.param("inside", "--backup-dir must be outside the destination folder", id="inside"),
    pytest.param("remote", "--backup-dir keeps local files", id="remote-destination"),
])
def test_backup_dir_that_cannot_work_is_one_line(
    tmp_path: Path, remote_dir: str, cli_env: Zone, where: str, needle: str,
) -> None:
    local = tmp_path / "local"
    write_file(local / "a.txt", b"a")
    if where == "inside":
        args = ["sync", f"irods:{remote_dir}", str(local), "--backup-dir", str(local / "old")]
    else:
        args = ["sync", str(local), f"irods:{remote_dir}", "--backup-dir", str(tmp_path / "b")]
    result = run(*args)
    assert result.exit_code == 2
    assert needle in one_line(result)
    assert local_files(local) == {"a.txt": b"a"}
