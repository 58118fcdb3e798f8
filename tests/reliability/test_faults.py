"""Server faults during real CLI runs: transient ones are retried to completion, permanent ones
fail exactly the affected files, by name, and a malicious server cannot write outside the
destination."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from irods.access import iRODSAccess

from tests.zones import Zone


def _tree(root: Path, small: int = 30, large: int = 1) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for index in range(small):
        files[f"d{index % 3}/f{index:02d}.json"] = os.urandom(3000 + index)
    for index in range(large):
        files[f"big/rec{index}.edf"] = os.urandom(9 << 20)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _run(zone: Zone, tmp: Path, *args: str) -> tuple[int, dict[str, object], str]:
    report = tmp / f"report-{len(list(tmp.glob('report-*')))}.json"
    environ = {**os.environ, **zone.environ(XDG_STATE_HOME=str(tmp / "state"))}
    result = subprocess.run([sys.executable, "-m", "mango_transfer", *args, "--quiet",
                             "--chunk-threshold", "4M", "--retry-backoff", "0.05", "--retries", "5",
                             "--json-report", str(report)],
                            env=environ, capture_output=True, text=True, timeout=300)
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.returncode, data, result.stderr


@pytest.mark.parametrize("spec", [
    pytest.param("drop_after_bytes=3000000:3", id="connection-dropped-mid-transfer"),
    pytest.param("fail=676:5:-115000,fail=676:40:-105000", id="kth-write-fails-transiently"),
    pytest.param("fail=675:3:-115000,fail=675:30:-115000", id="kth-read-fails-transiently"),
    pytest.param("fail=673:3:-1803000,fail=602:7:-1803000", id="open-and-close-fail-transiently"),
    pytest.param("delay_ms=15", id="slow-responses"),
    pytest.param("restart_after=676:20,restart_pause_ms=300", id="server-restarts-mid-run"),
])
@pytest.mark.embedded_only("the faults are injected by the embedded server")
def test_upload_and_download_survive(zone: Zone, remote_dir: str, tmp_path: Path,
                                     spec: str) -> None:
    files = _tree(tmp_path / "source")
    zone.set_faults(spec)
    try:
        code, report, stderr = _run(zone, tmp_path, "upload", str(tmp_path / "source"), remote_dir)
        assert code == 0, stderr
        zone.set_faults(spec)  # fresh counters for the download
        code, report, stderr = _run(zone, tmp_path, "download", remote_dir, str(tmp_path / "back"))
        assert code == 0, stderr
    finally:
        zone.set_faults("")
    for rel, data in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == data, rel
    assert sorted(p.relative_to(tmp_path / "back").as_posix()
                  for p in (tmp_path / "back").rglob("*") if p.is_file()) == sorted(files)


@pytest.mark.embedded_only("the final close is failed by fault injection")
def test_a_failed_final_close_after_every_byte_was_sent_is_finalized_on_retry(
        zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    """Every range of a large file is on the server and recorded, then the primary's finalizing
    close fails: the retry has nothing left to send, yet must still leave a good replica."""
    files = _tree(tmp_path / "source", small=0, large=1)
    zone.set_faults("fail=673:1:-1803000")
    try:
        code, report, stderr = _run(zone, tmp_path, "upload", str(tmp_path / "source"), remote_dir)
    finally:
        zone.set_faults("")
    assert code == 0, stderr
    with zone.user.session() as session:
        obj = session.data_objects.get(f"{remote_dir}/big/rec0.edf")
        assert obj.replicas[0].status == "1"
        assert obj.size == len(files["big/rec0.edf"])


def test_permission_denied_on_a_subcollection_fails_only_those(zone: Zone, remote_dir: str,
                                                                tmp_path: Path) -> None:
    """A second user uploads into a shared collection where one sub-collection is not writable."""
    other = zone.other.name
    with zone.user.session() as owner:
        owner.collections.create(f"{remote_dir}/locked")
        owner.acls.set(iRODSAccess("inherit", remote_dir))  # what the other makes stays ours too
        owner.acls.set(iRODSAccess("own", remote_dir, other))
        owner.acls.set(iRODSAccess("read", f"{remote_dir}/locked", other))
    source = tmp_path / "source"
    for rel in ("ok/a.txt", "ok/b.txt", "locked/x.txt", "locked/y.txt", "top.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(rel)
    environ = {**os.environ, **zone.other.environ()}
    report_file = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "mango_transfer", "upload", str(source), remote_dir,
                             "--quiet", "--json-report", str(report_file)],
                            env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    report = json.loads(report_file.read_text())
    failed = sorted(f["path"] for f in report["files"] if f["status"] == "failed")
    assert failed == ["locked/x.txt", "locked/y.txt"]
    assert report["summary"]["transferred"] == 3
    assert "locked/x.txt" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.embedded_only("the malicious names are sent by fault injection")
def test_malicious_names_cannot_escape_the_destination(zone: Zone, remote_dir: str,
                                                        tmp_path: Path) -> None:
    with zone.user.session() as session:
        for name in ("evil1.txt", "evil2.txt", "fine.txt"):
            with session.data_objects.open(f"{remote_dir}/{name}", "w") as handle:
                handle.write(b"payload")
    outside = tmp_path / "escape.txt"
    for evil in ("../escape.txt", "sub/../../escape.txt", "/tmp/escape.txt"):
        zone.set_faults(f"evil_name={evil}")
        try:
            code, report, stderr = _run(zone, tmp_path, "download", remote_dir, str(tmp_path / "dest"))
        finally:
            zone.set_faults("")
        assert code != 0, "a name leaving the destination is refused"
        assert not outside.exists() and not Path("/tmp/escape.txt").exists()
        assert [p for p in (tmp_path / "dest").rglob("*") if p.is_file() and "evil" in p.name] == []
        assert "escape.txt" in stderr and "Traceback" not in stderr
