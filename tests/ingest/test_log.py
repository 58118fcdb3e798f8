"""The JSON log per ingest, written atomically, and ``--restart`` reading its failures."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mango_transfer.errors import MangoError
from mango_transfer.ingest.filters import Filters
from mango_transfer.ingest.log import (
    LOG_GLOBS,
    FileRecord,
    FileStatus,
    IngestLog,
    IngestLogError,
    default_log_dir,
    read_failed,
)

OPTIONS = {"destination": "/zone/home/x", "glob": ("*.edf",), "recursive": True,
           "log_dir": Path("/tmp/logs"), "irods_password": "hunter2", "auth_token": "t"}


def make_log(folder: Path) -> IngestLog:
    return IngestLog.create(folder, root=folder, destination="/zone/home/x", options=OPTIONS)


def test_default_location_and_name_are_mango_ingests(tmp_path: Path) -> None:
    log = make_log(default_log_dir(tmp_path))
    assert log.path.parent == tmp_path
    assert re.fullmatch(r"mango_ingest_results-\d{4}-\d\d-\d\dT\d{6}\+0000\.json", log.path.name)
    header = json.loads(log.path.read_text(encoding="utf-8"))
    assert header["finished"] is None and header["files"] == []


def test_two_logs_in_one_second_do_not_collide(tmp_path: Path) -> None:
    assert make_log(tmp_path).path != make_log(tmp_path).path


def test_records_summary_and_options_without_secrets(tmp_path: Path) -> None:
    log = make_log(tmp_path / "logs")
    log.record(FileRecord("a.edf", 3, FileStatus.FAILED, error="x: refused"))
    log.record(FileRecord("b.txt", 1, FileStatus.FILTERED, error="matches no --glob/--regex"))
    log.record(FileRecord("c.edf", 5, FileStatus.SKIPPED, error="unchanged"))
    log.record(FileRecord("a.edf", 3, FileStatus.UPLOADED, checksum="ab" * 32, seconds=0.12345))
    log.finish()
    data = json.loads(log.write().read_text(encoding="utf-8"))
    assert data["summary"] == {"uploaded": 1, "skipped": 1, "failed": 0, "filtered": 1,
                               "pending": 0}
    assert data["files"][-1] == {"path": "a.edf", "size": 3, "status": "uploaded",
                                 "error": None, "checksum": "ab" * 32, "seconds": 0.123}
    assert data["finished"] >= data["started"]
    assert data["options"] == {"destination": "/zone/home/x", "glob": ["*.edf"],
                               "recursive": True, "log_dir": "/tmp/logs"}
    assert data["root"] == str(tmp_path / "logs") and data["destination"] == "/zone/home/x"


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = make_log(tmp_path)
    before = log.path.read_bytes()
    log.record(FileRecord("a", 1, FileStatus.UPLOADED))

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(MangoError, match="no space left"):
        log.write()
    assert log.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [log.path.name]  # no temporary left


def test_restart_returns_exactly_the_failed_and_the_pending(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    for path, status in [("a", FileStatus.FAILED), ("b", FileStatus.UPLOADED),
                         ("c/d", FileStatus.FAILED), ("e", FileStatus.FAILED),
                         ("e", FileStatus.UPLOADED), ("f", FileStatus.FILTERED),
                         ("g", FileStatus.PENDING), ("h", FileStatus.UPLOADED),
                         ("h", FileStatus.PENDING), ("i", FileStatus.PENDING)]:
        log.record(FileRecord(path, 0, status))
    log.forget("i")  # seen, then gone before it was uploaded
    log.write()
    assert read_failed(log.path, tmp_path) == ["a", "c/d", "g", "h"]


def test_outages_are_logged_with_their_end(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    log.outage_began("server", "connection refused")
    log.outage_began("folder", "the watched folder disappeared")
    log.outage_ended("server")
    outages = json.loads(log.write().read_text(encoding="utf-8"))["outages"]
    assert [(o["what"], o["reason"], o["until"] is not None) for o in outages] == [
        ("server", "connection refused", True), ("folder", "the watched folder disappeared",
                                                 False)]


def test_restart_reads_a_mango_ingest_log(tmp_path: Path) -> None:
    old = tmp_path / "mango_ingest_results-2024-10-01T123456+0000.json"
    record = {"finished": "2024-10-01T12:34:56+00:00", "st_size": 1, "st_mtime": 1.0,
              "checksum": ""}
    old.write_text(json.dumps({
        "matched": [], "success": [{"path": str(tmp_path / "ok.csv"), **record}],
        "failed": [{"path": str(tmp_path / "sub" / "x.csv"), **record},
                   {"path": str(tmp_path / "sub" / "x.csv"), **record}],
        "ignored": [], "locked": []}), encoding="utf-8")
    assert read_failed(old, tmp_path) == ["sub/x.csv"]


@pytest.mark.parametrize(("content", "words"), [
    pytest.param(None, "restart log not found", id="missing"),
    pytest.param("{not json", "not valid JSON (Expecting property name", id="not-json"),
    pytest.param("[1, 2]", "not an ingest log", id="not-a-log"),
    pytest.param('{"files": [{"status": "failed"}]}', 'has no "path"', id="no-path"),
    pytest.param('{"files": [{"path": "../etc/passwd", "status": "failed"}]}',
                 "not a path inside", id="escapes-root"),
    pytest.param('{"files": [{"path": "/etc/passwd", "status": "failed"}]}',
                 "not a path inside", id="absolute"),
    pytest.param('{"failed": [{"path": "/elsewhere/x.csv"}]}', "is not inside",
                 id="mango-ingest-outside-root"),
])
def test_bad_restart_logs_are_one_line_errors(tmp_path: Path, content: str | None,
                                              words: str) -> None:
    log = tmp_path / "log.json"
    if content is not None:
        log.write_text(content, encoding="utf-8")
    with pytest.raises(IngestLogError, match=re.escape(words)) as caught:
        read_failed(log, tmp_path / "data")
    message = caught.value.user_message()
    assert str(log) in message and "\n" not in message
    assert isinstance(caught.value, MangoError)


def test_own_logs_are_never_ingested(tmp_path: Path) -> None:
    filters = Filters.build(ignore_glob=LOG_GLOBS)
    log = make_log(tmp_path)
    assert not filters.accepts(log.path.name)
    assert not filters.accepts(f".{log.path.name}.x1y2.tmp")
    assert filters.accepts(f"sub/{log.path.name}")
