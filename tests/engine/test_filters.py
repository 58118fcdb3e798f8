"""``--include``/``--exclude``/``--filter`` (and their ``-from`` files) on upload, download and
sync, over TCP: what is moved, what is reported, what is never walked, and ``--delete``
never deleting an excluded file on either side."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from mango_transfer.server import EmbeddedServer
from tests.conftest import write_file


@pytest.fixture
def cli_env(irods_env: EmbeddedServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> EmbeddedServer:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def objects(session: iRODSSession, collection: str) -> set[str]:
    found = set()
    for condition in (Collection.name == collection, Like(Collection.name, f"{collection}/%")):
        for row in session.query(Collection.name, DataObject.name).filter(condition):
            found.add(f"{row[Collection.name]}/{row[DataObject.name]}"[len(collection) + 1:])
    return found


def collections(session: iRODSSession, collection: str) -> set[str]:
    rows = session.query(Collection.name).filter(Like(Collection.name, f"{collection}/%"))
    return {row[Collection.name][len(collection) + 1:] for row in rows}


def local_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def statuses(report: Path) -> dict[str, tuple[str, str]]:
    return {f["path"]: (f["status"], f["reason"]) for f in
            json.loads(report.read_text(encoding="utf-8"))["files"]}


def make_study(root: Path) -> Path:
    for name in ("sub-01/anat/t1.nii", "sub-01/anat/t1.json", "sub-01/notes.tmp",
                 "sub-02/func/bold.nii", "sub-02/func/bold.json", "scratch/big.bin",
                 "scratch/deeper/x.nii", "README", "derivatives/sub-01/mask.nii"):
        write_file(root / name, name.encode())
    os.mkfifo(root / "scratch" / "pipe")  # walking it would be an error: it is never walked
    return root


def test_upload_excludes_files_and_prunes_folders(tmp_path: Path, cli_env: EmbeddedServer,
                                                  remote_dir: str,
                                                  session: iRODSSession) -> None:
    src = make_study(tmp_path / "study")
    report = tmp_path / "report.json"
    result = run("upload", str(src), f"{remote_dir}/up", "--quiet", "--exclude", "*.tmp",
                 "--exclude", "scratch/", "--exclude", "/derivatives/**",
                 "--json-report", str(report))
    assert result.exit_code == 0, result.output
    assert objects(session, f"{remote_dir}/up") == {
        "README", "sub-01/anat/t1.json", "sub-01/anat/t1.nii", "sub-02/func/bold.json",
        "sub-02/func/bold.nii"}
    assert collections(session, f"{remote_dir}/up") == {"sub-01", "sub-01/anat", "sub-02",
                                                        "sub-02/func"}
    seen = statuses(report)
    assert seen["sub-01/notes.tmp"] == ("filtered", "excluded by '- *.tmp'")
    assert not any(p.startswith(("scratch", "derivatives")) for p in seen)  # never walked


def test_download_include_takes_only_what_matches(tmp_path: Path, cli_env: EmbeddedServer,
                                                  remote_dir: str) -> None:
    src = make_study(tmp_path / "study")
    os.unlink(src / "scratch" / "pipe")
    assert run("upload", str(src), f"{remote_dir}/all", "--quiet").exit_code == 0
    target = tmp_path / "back"
    report = tmp_path / "report.json"
    result = run("download", f"{remote_dir}/all", str(target), "--quiet",
                 "--include", "*.{nii,json}", "--exclude", "derivatives/",
                 "--json-report", str(report))
    assert result.exit_code == 0, result.output
    # rclone's order: the includes come first, so derivatives/sub-01/mask.nii is taken
    assert local_files(target) == {"sub-01/anat/t1.json", "sub-01/anat/t1.nii",
                                   "sub-02/func/bold.json", "sub-02/func/bold.nii",
                                   "scratch/deeper/x.nii", "derivatives/sub-01/mask.nii"}
    assert statuses(report)["README"] == ("filtered", "matches no --include")
    assert not (target / "scratch" / "big.bin").exists()


def test_filter_rules_from_a_file_in_their_order(tmp_path: Path, cli_env: EmbeddedServer,
                                                 remote_dir: str,
                                                 session: iRODSSession) -> None:
    src = make_study(tmp_path / "study")
    rules = tmp_path / "rules.txt"
    rules.write_text("# keep the images of sub-01 only\n- /derivatives/\n- scratch/\n"
                     "+ /sub-01/**.nii\n- *\n", encoding="utf-8")
    excludes = tmp_path / "excludes.txt"
    excludes.write_text("; nothing of this kind\n*.json\n", encoding="utf-8")
    result = run("upload", str(src), f"{remote_dir}/rules", "--quiet",
                 "--exclude-from", str(excludes), "--filter-from", str(rules))
    assert result.exit_code == 0, result.output
    assert objects(session, f"{remote_dir}/rules") == {"sub-01/anat/t1.nii"}
    includes = tmp_path / "includes.txt"
    includes.write_text("README\n", encoding="utf-8")
    result = run("upload", str(src), f"{remote_dir}/inc", "--quiet", "--include-from",
                 str(includes))
    assert result.exit_code == 0, result.output
    assert objects(session, f"{remote_dir}/inc") == {"README"}


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_sync_delete_never_deletes_an_excluded_file(
    tmp_path: Path, cli_env: EmbeddedServer, remote_dir: str, session: iRODSSession,
    direction: str,
) -> None:
    """The destination holds files the source lacks: the in-scope one is deleted, the ones an
    exclude covers (a file rule and a pruned folder) stay, whichever way the sync goes."""
    local = tmp_path / "local"
    for name in ("a.csv", "b.csv", "c.csv", "d.csv"):
        write_file(local / name, name.encode())
    remote = f"{remote_dir}/mirror"
    assert run("upload", str(local), remote, "--quiet").exit_code == 0
    extras = ("gone.csv", "notes.keep", "archive/old.csv")
    if direction == "upload":  # the extras are on iRODS only
        staging = tmp_path / "staging"
        for name in extras:
            write_file(staging / name, b"only on the destination")
        assert run("upload", str(staging), remote, "--quiet").exit_code == 0
        src, dest = str(local), f"irods:{remote}"
    else:  # the extras are in the local folder only
        for name in extras:
            write_file(local / name, b"only on the destination")
        src, dest = f"irods:{remote}", str(local)
    report = tmp_path / "report.json"
    filters = ["--exclude", "*.keep", "--exclude", "archive/"]
    preview = run("sync", src, dest, "--delete", "--dry-run", *filters)
    assert preview.exit_code == 0, preview.output
    assert "would delete: gone.csv" in preview.output
    assert "notes.keep" not in preview.output and "archive" not in preview.output
    result = run("sync", src, dest, "--delete", "--quiet", "--json-report", str(report),
                 *filters)
    assert result.exit_code == 0, result.output
    left = objects(session, remote) if direction == "upload" else local_files(local)
    assert left == {"a.csv", "b.csv", "c.csv", "d.csv", "notes.keep", "archive/old.csv"}
    seen: dict[str, Any] = statuses(report)
    assert seen["gone.csv"][0] == "deleted"
    assert "notes.keep" not in seen and "archive/old.csv" not in seen


@pytest.mark.parametrize(("args", "needle"), [
    pytest.param(["--exclude", "***"], "--exclude '***' is not a valid pattern", id="stars"),
    pytest.param(["--include", "{a,b"], "--include '{a,b' is not a valid pattern",
                 id="brace"),
    pytest.param(["--filter", "*.tmp"], "--filter '*.tmp' is not a rule", id="no-sign"),
    pytest.param(["--exclude-from", "/no/such/rules.txt"],
                 "--exclude-from /no/such/rules.txt: cannot read the file", id="missing-file"),
])
def test_bad_filters_are_one_line_before_anything_moves(
    tmp_path: Path, cli_env: EmbeddedServer, remote_dir: str, session: iRODSSession,
    args: list[str], needle: str,
) -> None:
    write_file(tmp_path / "src" / "a.txt", b"a")
    result = run("upload", str(tmp_path / "src"), f"{remote_dir}/bad", *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.output
    assert not session.collections.exists(f"{remote_dir}/bad")
