"""``mango-transfer ingest`` end to end, against the embedded server over TCP.

One-shot runs (``-nw``) go through click's CliRunner in this process; watch mode runs the CLI as
a real subprocess that is stopped with SIGINT, as a user stops it with Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from tests.conftest import write_file
from tests.zones import Zone

BIDS = r"sub-(?P<subject>[^/]+)/ses-(?P<session>[^/]+)/(?P<modality>[^/]+)/"
UNITS = "analysis/mango_ingest"

Ingest = Callable[..., Result]


@pytest.fixture
def ingest(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["ingest", *args])
    return run


def _objects(session: iRODSSession, collection: str) -> dict[str, int]:
    """Relative path → size of every data object below ``collection``."""
    rows = session.query(Collection.name, DataObject.name, DataObject.size).filter(
        Collection.name == collection)
    found = {r[DataObject.name]: int(r[DataObject.size]) for r in rows}
    rows = session.query(Collection.name, DataObject.name, DataObject.size).filter(
        Like(Collection.name, f"{collection}/%"))
    for r in rows:
        found[f"{r[Collection.name][len(collection) + 1:]}/{r[DataObject.name]}"] = int(
            r[DataObject.size])
    return found


def _collections(session: iRODSSession, collection: str) -> set[str]:
    rows = session.query(Collection.name).filter(Like(Collection.name, f"{collection}/%"))
    return {r[Collection.name][len(collection) + 1:] for r in rows}


def _avus(session: iRODSSession, path: str) -> list[tuple[str, str, str]]:
    return sorted((m.name, m.value, m.units or "") for m in
                  session.data_objects.get(path).metadata.items())


def _logs(folder: Path) -> list[Path]:
    return sorted(folder.glob("mango_ingest_results-*.json"))


def _log(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _statuses(log: dict[str, Any]) -> dict[str, str]:
    return {entry["path"]: entry["status"] for entry in log["files"]}


def test_nw_recursive_uploads_a_filtered_tree(
    tmp_path: Path, remote_dir: str, session: iRODSSession, ingest: Ingest,
) -> None:
    src = tmp_path / "study"
    for name in ("sub-01/eeg/a.edf", "sub-01/eeg/b.csv", "sub-01/tmp/x.edf", "notes.txt",
                 "sub-02/anat/c.nii", "sub-02/anat/d.json", "top.edf"):
        write_file(src / name, name.encode())
    (src / "empty" / "deeper").mkdir(parents=True)
    logs = tmp_path / "logs"

    result = ingest("-d", remote_dir, "-p", str(src), "-nw", "-r", "--glob", "*.edf",
                    "--regex", r"\.nii$", "--ignore-glob", "tmp", "--ignore", "^top",
                    "--log-dir", str(logs), "--verify-checksum")
    assert result.exit_code == 0, result.output
    assert "ingest: 2 uploaded, 0 skipped, 0 failed, 4 filtered" in result.output
    assert _objects(session, remote_dir) == {"sub-01/eeg/a.edf": 16, "sub-02/anat/c.nii": 17}
    # empty folders and folders whose files were all filtered leave no collection
    assert _collections(session, remote_dir) == {"sub-01", "sub-01/eeg", "sub-02",
                                                 "sub-02/anat"}
    [log_path] = _logs(logs)
    log = _log(log_path)
    assert _statuses(log) == {"sub-01/eeg/a.edf": "uploaded", "sub-02/anat/c.nii": "uploaded",
                              "sub-01/eeg/b.csv": "filtered", "notes.txt": "filtered",
                              "sub-02/anat/d.json": "filtered", "top.edf": "filtered"}
    uploaded = next(e for e in log["files"] if e["path"] == "sub-01/eeg/a.edf")
    assert uploaded["checksum"] == hashlib.sha256(b"sub-01/eeg/a.edf").hexdigest()
    assert uploaded["seconds"] >= 0 and log["finished"] is not None
    # without -r only the top level counts
    result = ingest("-d", f"{remote_dir}/flat", "-p", str(src), "-nw", "--log-dir", str(logs))
    assert result.exit_code == 0, result.output
    assert _objects(session, f"{remote_dir}/flat") == {"notes.txt": 9, "top.edf": 7}


def test_md_path_and_md_mtime_set_once_even_after_reruns(
    tmp_path: Path, remote_dir: str, session: iRODSSession, ingest: Ingest,
) -> None:
    src = tmp_path / "bids"
    recording = write_file(src / "sub-01/ses-02/eeg/sub-01_ses-02_task-rest_eeg.edf", b"eeg")
    os.utime(recording, (1_700_000_000.7, 1_700_000_000.7))
    target = f"{remote_dir}/sub-01/ses-02/eeg/sub-01_ses-02_task-rest_eeg.edf"
    base = ("-d", remote_dir, "-p", str(src), "-nw", "-r", "--log-dir", str(tmp_path / "logs"))

    # first run without metadata; adding the flags on a re-run labels the uploaded file
    assert ingest(*base).exit_code == 0
    assert _avus(session, target) == []
    expected = [("mg.modality", "eeg", UNITS), ("mg.original_modify_time",
                                                "2023-11-14T22:13:20+00:00", UNITS),
                ("mg.session", "02", UNITS), ("mg.subject", "01", UNITS)]
    for _ in range(2):
        result = ingest(*base, "--md-path", BIDS, "--md-mtime")
        assert result.exit_code == 0, result.output
        assert "1 skipped" in result.output
        assert _avus(session, target) == expected
    # a modified file is re-uploaded and its time AVU replaced, not doubled
    recording.write_bytes(b"eeg, longer")
    os.utime(recording, (1_700_000_100, 1_700_000_100))
    result = ingest(*base, "--md-path", BIDS, "--md-mtime")
    assert "1 uploaded" in result.output, result.output
    assert _avus(session, target) == [expected[0], ("mg.original_modify_time",
                                                    "2023-11-14T22:15:00+00:00", UNITS),
                                      *expected[2:]]
    assert _objects(session, remote_dir) == {"sub-01/ses-02/eeg/sub-01_ses-02_task-rest_eeg.edf":
                                             11}


@pytest.mark.embedded_only("the first write is refused by fault injection")
def test_failed_upload_is_logged_and_restart_completes_it(
    tmp_path: Path, remote_dir: str, session: iRODSSession, irods_env: Zone,
    ingest: Ingest,
) -> None:
    src = tmp_path / "src"
    for i in range(3):
        write_file(src / f"f{i}.dat", f"data {i}".encode())
    logs = tmp_path / "logs"
    irods_env.set_faults("fail=676:1:-513000")  # the first write is refused (not retryable)
    try:
        result = ingest("-d", remote_dir, "-p", str(src), "-nw", "--threads", "1",
                        "--log-dir", str(logs))
    finally:
        irods_env.set_faults("")
    assert result.exit_code == 1, result.output
    [first] = _logs(logs)
    statuses = _statuses(_log(first))
    failed = [path for path, status in statuses.items() if status == "failed"]
    assert len(failed) == 1 and sorted(statuses) == ["f0.dat", "f1.dat", "f2.dat"]
    entry = next(e for e in _log(first)["files"] if e["status"] == "failed")
    assert "-513000" in entry["error"]

    time.sleep(1.1)  # the new log gets its own name (a second later)
    result = ingest("-d", remote_dir, "-p", str(src), "-nw", "--restart", str(first),
                    "--log-dir", str(logs))
    assert result.exit_code == 0, result.output
    second = next(p for p in _logs(logs) if p != first)
    assert _statuses(_log(second)) == {failed[0]: "uploaded"}  # exactly the failed one
    assert _objects(session, remote_dir) == {f"f{i}.dat": 6 for i in range(3)}
    with session.data_objects.open(f"{remote_dir}/{failed[0]}", "r") as handle:
        assert handle.read() == (src / failed[0]).read_bytes()


def test_dry_run_changes_nothing_and_lists_metadata(
    tmp_path: Path, remote_dir: str, session: iRODSSession, ingest: Ingest,
) -> None:
    src = tmp_path / "bids"
    write_file(src / "sub-07/ses-01/eeg/run.edf", b"x")
    result = ingest("-d", f"{remote_dir}/new", "-p", str(src), "-r", "--dry-run",
                    "--md-path", BIDS)
    assert result.exit_code == 0, result.output
    assert "would upload: sub-07/ses-01/eeg/run.edf (1 bytes" in result.output
    assert f"  metadata: mg.subject = 07 [{UNITS}]" in result.output
    assert not session.collections.exists(f"{remote_dir}/new")
    assert _logs(src) == []


@pytest.mark.parametrize(("args", "needle"), [
    pytest.param(["-p", "/no/such/folder"], "-p: the folder to ingest", id="missing-folder"),
    pytest.param(["--regex", "(unclosed"], "--regex '(unclosed' is not a valid", id="bad-regex"),
    pytest.param(["--md-path", "sub-(.*)"], "--md-path 'sub-(.*)' has no named group",
                 id="md-path-without-group"),
    pytest.param(["--restart", "RESTART"], "not valid JSON", id="bad-restart-log"),
    pytest.param(["--restart", "/no/such/log.json"], "restart log not found",
                 id="missing-restart-log"),
])
def test_bad_input_is_one_line(tmp_path: Path, ingest: Ingest, irods_env: Zone, args: list[str],
                               needle: str) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    args = [str(tmp_path / "bad.json") if a == "RESTART" else a for a in args]
    if "-p" not in args:
        args = ["-p", str(tmp_path), *args]
    result = ingest("-d", f"{irods_env.home}/x", "-nw", *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.output
    assert "Traceback" not in result.output


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _remote(session: iRODSSession, path: str) -> bytes | None:
    try:
        with session.data_objects.open(path, "r") as handle:
            return bytes(handle.read())
    except Exception:  # noqa: BLE001 - not there (yet)
        return None


def _replica_good(session: iRODSSession, path: str) -> bool:
    coll, _, name = path.rpartition("/")
    rows = list(session.query(DataObject.replica_status).filter(Collection.name == coll)
                .filter(DataObject.name == name))
    return bool(rows) and all(str(r[DataObject.replica_status]) == "1" for r in rows)


def test_watch_uploads_a_slow_file_once_when_settled_then_changes_and_stops_on_sigint(
    tmp_path: Path, remote_dir: str, session: iRODSSession, irods_env: Zone,
) -> None:
    src = tmp_path / "watched"
    (src / "old").mkdir(parents=True)
    write_file(src / "old" / "before.txt", b"already here")
    env = {**os.environ, **irods_env.environ(XDG_STATE_HOME=str(tmp_path / "state"),
                                             PYTHONUNBUFFERED="1")}
    logs = tmp_path / "logs"
    process = subprocess.Popen(
        [sys.executable, "-m", "mango_transfer", "ingest", "-d", remote_dir, "-p", str(src),
         "-r", "--sync", "--settle", "1.5", "--rescan", "0", "--log-dir", str(logs),
         "--verify-checksum"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _remote(session, f"{remote_dir}/old/before.txt") is not None, 30,
                  "the initial sync")
        time.sleep(1.0)  # the watcher is starting
        slow = src / "rec" / "slow.bin"
        slow.parent.mkdir()
        parts = [os.urandom(50_000) for _ in range(8)]
        with open(slow, "wb") as handle:  # 8 writes, 0.5 s apart: ~4 s, never 1.5 s still
            for part in parts:
                handle.write(part)
                handle.flush()
                time.sleep(0.5)
                assert _remote(session, f"{remote_dir}/rec/slow.bin") is None, \
                    "uploaded while still being written"
        target = f"{remote_dir}/rec/slow.bin"
        _wait_for(lambda: _replica_good(session, target), 20, "the settled upload")
        assert _remote(session, target) == b"".join(parts)

        slow.write_bytes(b"modified")
        _wait_for(lambda: _remote(session, target) == b"modified", 20, "the re-upload")
        (src / "old" / "before.txt").unlink()  # deletions are not propagated
        time.sleep(2.5)
        assert _remote(session, f"{remote_dir}/old/before.txt") == b"already here"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.count("uploaded: rec/slow.bin") == 2, out  # once when settled, once modified
    assert "ingest: 2 uploaded" in out, out  # before.txt and slow.bin (the latest outcome)
    assert "Traceback" not in err
    [log_path] = _logs(logs)
    log = _log(log_path)
    assert log["finished"] is not None
    assert _statuses(log) == {"old/before.txt": "uploaded", "rec/slow.bin": "uploaded"}
