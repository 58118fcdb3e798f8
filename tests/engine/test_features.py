"""Features of issue 4 not covered elsewhere: ``--acl USER:read`` after upload, ``sync
--delete`` shown by ``--dry-run`` first, and progress/report numbers equal to what moved."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.exception import CollectionDoesNotExist, DataObjectDoesNotExist, iRODSException
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.cli import progress
from mango_transfer.cli.main import main
from mango_transfer.engine.options import AclGrant
from mango_transfer.engine.stats import StatsSnapshot
from tests.zones import Zone

from .conftest import CHUNK, Runner, make_tree, tree_digest


@pytest.fixture
def reader(zone: Zone) -> iRODSSession:
    """The zone's second rodsuser, who gets nothing unless an upload shares it."""
    return zone.other.session()


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def _read(who: iRODSSession, path: str) -> bytes:
    with who.data_objects.open(path, "r") as handle:
        return bytes(handle.read())


def test_acl_read_is_granted_recursively_after_upload(
    tmp_path: Path, remote_dir: str, run_upload: Runner, reader: iRODSSession, zone: Zone,
) -> None:
    src = tmp_path / "src"
    (src / "sub-01" / "anat").mkdir(parents=True)
    (src / "sub-01" / "anat" / "T1w.json").write_bytes(b'{"a": 1}')
    (src / "top.tsv").write_bytes(b"x\ty\n")
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_bytes(b"not for the reader")

    run_upload(private, f"{remote_dir}/private")
    snap = run_upload(src, f"{remote_dir}/shared", acl=(AclGrant(zone.other.name, "read"),)).snapshot()
    assert snap.files_failed == 0

    with reader:
        assert _read(reader, f"{remote_dir}/shared/sub-01/anat/T1w.json") == b'{"a": 1}'
        assert _read(reader, f"{remote_dir}/shared/top.tsv") == b"x\ty\n"
        listed = {row[DataObject.name] for row in reader.query(DataObject.name).filter(
            Collection.name == f"{remote_dir}/shared/sub-01/anat")}
        assert listed == {"T1w.json"}
        with pytest.raises((DataObjectDoesNotExist, CollectionDoesNotExist, iRODSException)):
            _read(reader, f"{remote_dir}/private/secret.txt")  # only the upload was shared
        with pytest.raises(iRODSException):  # read, not write
            with reader.data_objects.open(f"{remote_dir}/shared/top.tsv", "w") as handle:
                handle.write(b"overwritten")
    assert tree_digest(src)  # unchanged locally


def test_sync_delete_is_shown_by_dry_run_first(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    src = tmp_path / "src"
    (src / "keep").mkdir(parents=True)
    (src / "keep" / "a.txt").write_bytes(b"a")
    (src / "gone.txt").write_bytes(b"old")
    runner = CliRunner()
    dest = f"irods:{remote_dir}/mirror"
    assert runner.invoke(main, ["sync", str(src), dest, "--quiet"]).exit_code == 0
    (src / "gone.txt").unlink()

    preview = runner.invoke(main, ["sync", str(src), dest, "--delete", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "would delete: gone.txt" in preview.output
    assert "keep/a.txt" not in preview.output  # unchanged: not listed as an action
    assert session.data_objects.exists(f"{remote_dir}/mirror/gone.txt")  # nothing deleted yet

    without = runner.invoke(main, ["sync", str(src), dest, "--quiet"])
    assert without.exit_code == 0
    assert session.data_objects.exists(f"{remote_dir}/mirror/gone.txt")  # --delete is opt-in

    report = tmp_path / "r.json"
    done = runner.invoke(main, ["sync", str(src), dest, "--delete", "--quiet",
                                "--json-report", str(report)])
    assert done.exit_code == 0, done.output
    assert not session.data_objects.exists(f"{remote_dir}/mirror/gone.txt")
    assert session.data_objects.exists(f"{remote_dir}/mirror/keep/a.txt")
    statuses = {f["path"]: f["status"] for f in json.loads(report.read_text())["files"]}
    assert statuses == {"gone.txt": "deleted", "keep/a.txt": "skipped"}


def test_progress_bar_and_report_count_what_really_moved(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = make_tree(tmp_path / "src", small=40, large=(CHUNK + 999,))
    sizes = {rel: (tree / rel).stat().st_size for rel in tree_digest(tree)}
    monkeypatch.setattr(progress, "is_terminal", lambda stream: stream is sys.stderr)
    snapshots: list[StatsSnapshot] = []
    bars: list[progress.TerminalBar] = []
    original_call = progress.TerminalBar.__call__

    def spy(self: progress.TerminalBar, snap: StatsSnapshot) -> None:
        snapshots.append(snap)
        if self not in bars:
            bars.append(self)
        original_call(self, snap)

    monkeypatch.setattr(progress.TerminalBar, "__call__", spy)
    report = tmp_path / "r.json"
    args = ["upload", str(tree), remote_dir, "--threads", "6", "--chunk-threshold",
            str(CHUNK), "--json-report", str(report)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output

    on_server = {row[DataObject.name]: int(row[DataObject.size]) for row in session.query(
        DataObject.name, DataObject.size).filter(Collection.name == f"{remote_dir}/big")}
    assert on_server == {"rec0.bin": CHUNK + 999}
    summary = json.loads(report.read_text())["summary"]
    assert summary["transferred"] == len(sizes) and summary["failed"] == 0
    assert summary["bytes"] == sum(sizes.values())
    assert (summary["files_found"], summary["bytes_found"]) == (len(sizes), sum(sizes.values()))
    final = snapshots[-1]
    assert (final.bytes, final.transferred) == (summary["bytes"], summary["transferred"])
    assert not final.scanning and final.fraction == 1.0
    assert (final.files_done, final.bytes_done) == (len(sizes), sum(sizes.values()))
    # Totals only grow, and progress never runs past them.
    assert all(a.bytes <= b.bytes and a.files_found <= b.files_found
               for a, b in zip(snapshots, snapshots[1:], strict=False))
    assert all(s.bytes_done <= s.bytes_found and s.files_done <= s.files_found
               for s in snapshots)
    bar = bars[0].bar
    assert bar.n == 1000 and "100%|" in bar.bar_format
    assert f"{len(sizes)}/{len(sizes)} files" in bar.bar_format
    assert f"{len(sizes)} new, 0 changed, 0 skipped, 0 failed" in result.stdout

    # Nothing moves the second time, and the numbers say so: the skipped files count as done.
    changed = next(p for p in tree.rglob("*.json"))
    changed.write_bytes(b"12345")
    snapshots.clear()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())["summary"]
    assert (summary["transferred"], summary["bytes"]) == (1, 5)
    assert snapshots[-1].fraction == 1.0 and snapshots[-1].files_done == len(sizes)
    assert bars[-1].bar.n == 1000
