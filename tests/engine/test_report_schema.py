"""``--json-report`` over TCP: every report a command writes matches ``schemas/report.schema.json``
and says what happened (header, totals, one entry per file with its checksum when known)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mango_transfer import __version__
from mango_transfer.cli.main import main
from tests.zones import Zone

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json")
                    .read_text(encoding="utf-8"))


def validated(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(report)
    return report


def test_the_schema_itself_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def test_reports_of_upload_download_sync_and_a_failed_run(
    tmp_path: Path, remote_dir: str, cli_env: Zone,
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.json").write_bytes(b'{"a": 1}')
    (src / "b.bin").write_bytes(os.urandom(5000))
    os.mkfifo(src / "pipe")
    runner = CliRunner()
    up = tmp_path / "up.json"
    result = runner.invoke(main, ["upload", str(src), remote_dir, "--verify", "-q",
                                  "--threads", "3", "--json-report", str(up)])
    assert result.exit_code == 1, result.output  # the pipe fails

    report = validated(up)
    header = report["header"]
    assert header["tool"] == "mango-transfer" and header["version"] == __version__
    assert (header["command"], header["source"], header["destination"]) == (
        "upload", str(src), remote_dir)
    assert header["argv"][:3] == ["upload", str(src), remote_dir]
    assert header["zone"] == {"name": cli_env.zone_name, "host": cli_env.host,
                              "port": cli_env.port, "user": cli_env.user.name}
    assert header["options"]["threads"] == 3 and header["options"]["verify"] is True
    assert (header["exit_code"], header["error"]) == (1, None)
    started, ended = (datetime.fromisoformat(header[key]) for key in ("started", "ended"))
    assert started <= ended
    summary = report["summary"]
    assert (summary["files_found"], summary["transferred"], summary["failed"],
            summary["verified"]) == (3, 2, 1, 2)
    assert summary["bytes"] == summary["bytes_found"] == 5008
    files = {entry["path"]: entry for entry in report["files"]}
    assert set(files) == {"sub/a.json", "b.bin", "pipe"}
    assert files["b.bin"]["status"] == "transferred" and files["b.bin"]["action"] == "new"
    assert files["b.bin"]["verified"] and files["b.bin"]["checksum"].startswith("sha2:")
    assert files["b.bin"]["bytes_moved"] == files["b.bin"]["size"] == 5000
    assert files["b.bin"]["seconds"] >= 0
    assert files["pipe"]["status"] == "failed" and "not a regular file" in files["pipe"]["reason"]
    os.unlink(src / "pipe")

    down = tmp_path / "down.json"
    out = tmp_path / "out"
    result = runner.invoke(main, ["download", remote_dir, str(out), "-q", "--checksum",
                                  "--json-report", str(down)])
    assert result.exit_code == 0, result.output
    report = validated(down)
    assert report["header"]["command"] == "download" and report["header"]["exit_code"] == 0
    assert {entry["path"] for entry in report["files"]} == {"sub/a.json", "b.bin"}

    # A second --checksum download skips both, and carries the checksum it compared.
    again = tmp_path / "again.json"
    result = runner.invoke(main, ["download", remote_dir, str(out), "-q", "--checksum",
                                  "--json-report", str(again)])
    assert result.exit_code == 0, result.output
    report = validated(again)
    assert {entry["status"] for entry in report["files"]} == {"skipped"}
    assert all(entry["checksum"].startswith("sha2:") for entry in report["files"])
    assert report["summary"]["bytes"] == 0 and report["summary"]["files_found"] == 2

    (src / "b.bin").unlink()
    plan = tmp_path / "plan.json"
    result = runner.invoke(main, ["sync", str(src), f"irods:{remote_dir}", "--delete",
                                  "--dry-run", "-q", "--json-report", str(plan)])
    assert result.exit_code == 0, result.output
    report = validated(plan)
    assert report["header"]["command"] == "sync"
    assert [(f["path"], f["status"], f["action"]) for f in report["files"]
            if f["status"] == "planned"] == [("b.bin", "planned", "delete")]

    missing = tmp_path / "missing.json"
    result = runner.invoke(main, ["download", f"{remote_dir}/nothing-here", str(out), "-q",
                                  "--json-report", str(missing)])
    assert result.exit_code == 2
    report = validated(missing)
    assert report["header"]["exit_code"] == 2
    assert "does not exist" in report["header"]["error"]
    assert report["files"] == []
