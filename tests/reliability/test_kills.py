"""SIGKILL the CLI at random moments; every re-run must finish the job without losing a byte.

After the loop: both trees are byte-identical (SHA-256 of every file), no object is left
intermediate or stale, no partial file sits under a final name, and the last run moved only
what was still missing (resume, not restart).  ``MANGO_KILLS`` sets the loop length (10 in CI,
50 by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer
from tests.conftest import open_session

KILLS = int(os.environ.get("MANGO_KILLS", "10"))
CHUNK = 4 << 20
SMALL, LARGE, LARGE_SIZE = 60, 2, 14 << 20


def _tree(root: Path) -> dict[str, str]:
    rng = random.Random(7)
    for index in range(SMALL):
        path = root / f"sub-{index % 3:02d}" / f"f{index:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randrange(0, 20_000)))
    for index in range(LARGE):
        path = root / "recordings" / f"rec{index}.edf"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for _ in range(LARGE_SIZE >> 20):
                handle.write(rng.randbytes(1 << 20))
    return _digests(root)


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _environ(server: EmbeddedServer, state: Path) -> dict[str, str]:
    return {**os.environ, "IRODS_ENVIRONMENT_FILE": str(server.env_file),
            "IRODS_AUTHENTICATION_FILE": str(server.auth_file), "XDG_STATE_HOME": str(state)}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mango_transfer", *args, "--quiet", "--threads", "6",
            "--chunk-threshold", str(CHUNK), "--retry-backoff", "0.1"]


def _kill_loop(command: list[str], environ: dict[str, str], seed: int) -> int:
    """Run and SIGKILL ``KILLS`` times; returns how many runs were killed before finishing."""
    rng, killed = random.Random(seed), 0
    for _ in range(KILLS):
        process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
    return killed


def _final_run(command: list[str], environ: dict[str, str], report: Path) -> dict[str, object]:
    result = subprocess.run([*command, "--json-report", str(report)], env=environ,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(report.read_text())


def _remote_state(session: iRODSSession, collection: str) -> dict[str, tuple[int, str]]:
    rows = session.query(Collection.name, DataObject.name, DataObject.size,
                         DataObject.replica_status).filter(Like(Collection.name, f"{collection}%"))
    return {f"{row[Collection.name]}/{row[DataObject.name]}"[len(collection) + 1:]:
            (row[DataObject.size], row[DataObject.replica_status]) for row in rows}


@pytest.mark.slow
def test_sigkill_loop_upload_then_download(irods_server: EmbeddedServer, remote_dir: str,
                                           tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    expected = _tree(source)
    sizes = {rel: (source / rel).stat().st_size for rel in expected}
    environ = _environ(irods_server, tmp_path / "state")

    upload = _command("upload", str(source), remote_dir)
    killed_up = _kill_loop(upload, environ, seed=1)
    with open_session(irods_server) as session:
        before = _remote_state(session, remote_dir)
    complete = {rel for rel, (size, status) in before.items() if status == "1" and size == sizes.get(rel)}
    report = _final_run(upload, environ, tmp_path / "up.json")
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["failed"] == 0
    assert summary["transferred"] == len(expected) - len(complete), "re-run moved only what was missing"
    with open_session(irods_server) as session:
        after = _remote_state(session, remote_dir)
    assert set(after) == set(expected)
    assert all(status == "1" for _, status in after.values()), "no intermediate or stale replica"
    assert {rel: size for rel, (size, _) in after.items()} == sizes

    download = _command("download", remote_dir, str(target))
    killed_down = _kill_loop(download, environ, seed=2)
    report = _final_run(download, environ, tmp_path / "down.json")
    assert report["summary"]["failed"] == 0  # type: ignore[index]
    assert _digests(target) == expected, "byte-identical after kills"
    leftovers = [p.name for p in target.rglob("*") if p.is_file() and p.relative_to(target).as_posix() not in expected]
    assert leftovers == [], "no partial or state file left behind"
    # Once a tree is complete the remaining runs finish before the kill; at least the first
    # few must have been interrupted mid-transfer for the test to mean anything.
    assert killed_up >= 2 and killed_down >= 2, (killed_up, killed_down)
