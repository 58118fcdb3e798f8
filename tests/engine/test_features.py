"""Features of issue 4 not covered elsewhere: ``--acl USER:read`` after upload, ``sync
--delete`` shown by ``--dry-run`` first, and progress/report numbers equal to what moved."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from irods.exception import CollectionDoesNotExist, DataObjectDoesNotExist, iRODSException
from irods.models import Collection, DataObject
from irods.session import iRODSSession

import mango_transfer.cli.transfer as cli_transfer
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


class _Captured:
    """Every tqdm the CLI makes, forced on and writing into a buffer (stderr is no tty here)."""

    def __init__(self) -> None:
        self.bars: list[Any] = []

    def __call__(self, **kwargs: Any) -> Any:
        from tqdm import tqdm

        kwargs.update(disable=False, file=io.StringIO())
        bar = tqdm(**kwargs)
        self.bars.append(bar)
        return bar


def test_progress_bar_and_report_count_what_really_moved(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = make_tree(tmp_path / "src", small=40, large=(CHUNK + 999,))
    sizes = {rel: (tree / rel).stat().st_size for rel in tree_digest(tree)}
    captured = _Captured()
    monkeypatch.setattr(cli_transfer, "tqdm", captured)
    snapshots: list[StatsSnapshot] = []
    original_call = cli_transfer._Bar.__call__

    def spy(self: Any, snap: StatsSnapshot) -> None:
        snapshots.append(snap)
        original_call(self, snap)

    monkeypatch.setattr(cli_transfer._Bar, "__call__", spy)
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
    final = snapshots[-1]
    assert (final.bytes, final.transferred) == (summary["bytes"], summary["transferred"])
    bar = captured.bars[0]
    assert bar.n == summary["bytes"]
    assert bar.postfix == f"{len(sizes)} files (0 failed)"
    assert all(a.bytes <= b.bytes for a, b in zip(snapshots, snapshots[1:], strict=False))
    assert f"{len(sizes)} new, 0 changed, 0 skipped, 0 failed" in result.output

    # Nothing moves the second time, and the numbers say so.
    changed = next(p for p in tree.rglob("*.json"))
    changed.write_bytes(b"12345")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())["summary"]
    assert (summary["transferred"], summary["bytes"]) == (1, 5)
    assert captured.bars[-1].n == 5
