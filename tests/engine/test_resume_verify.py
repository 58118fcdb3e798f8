"""Interrupted transfers resume; --verify catches a corrupted replica.

Interruptions are real: the server drops the connection after N data bytes (fault injection),
or the CLI process is killed with SIGKILL mid-file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.irods.chunks import BLOCK_SIZE
from mango_transfer.localfs.partial import PARTIAL_SUFFIX, STATE_SUFFIX, partial_path, state_path
from tests.zones import Zone

from .conftest import CHUNK, Runner

SIZE = 3 * CHUNK + 1234


def _replica(session: iRODSSession, path: str) -> tuple[int, str] | None:
    coll, _, name = path.rpartition("/")
    rows = list(session.query(DataObject.size, DataObject.replica_status)
                .filter(Collection.name == coll).filter(DataObject.name == name))
    return (int(rows[0][DataObject.size]), str(rows[0][DataObject.replica_status])) if rows \
        else None


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _big(folder: Path, name: str = "rec.bin", size: int = SIZE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.embedded_only("drops the connection after N bytes (fault injection)")
def test_upload_dropped_mid_file_resumes(
    tmp_path: Path, remote_dir: str, irods_env: Zone, session: iRODSSession,
    run_upload: Runner,
) -> None:
    big = _big(tmp_path / "src")
    irods_env.set_faults(f"drop_after_bytes={2 * CHUNK + 100}")
    try:
        first = run_upload(big.parent, remote_dir, retries=0).snapshot()
    finally:
        irods_env.set_faults("")
    assert first.files_failed == 1
    target = f"{remote_dir}/rec.bin"
    # the server marks the interrupted replica stale: never "good" with missing bytes
    _wait_for(lambda: (_replica(session, target) or (0, ""))[1] == "0")

    second = run_upload(big.parent, remote_dir).snapshot()
    assert (second.files_changed, second.files_failed) == (1, 0)
    assert 0 < second.bytes <= SIZE - 2 * CHUNK  # only the missing ranges moved
    assert _replica(session, target) == (SIZE, "1")
    with session.data_objects.open(target, "r") as remote:
        assert remote.read() == big.read_bytes()
    assert list((tmp_path / "state").rglob("*.json")) == []  # resume state removed
    assert run_upload(big.parent, remote_dir).snapshot().files_skipped == 1


@pytest.mark.embedded_only("drops the connection after N bytes (fault injection)")
def test_download_dropped_mid_file_resumes(
    tmp_path: Path, remote_dir: str, irods_env: Zone, run_upload: Runner,
    run_download: Runner,
) -> None:
    big = _big(tmp_path / "src")
    run_upload(big.parent, remote_dir)
    out = tmp_path / "out"
    # One connection reading 4 MiB blocks: the drop comes in the third block, and the two
    # blocks already written are recorded even though their range never completed.
    irods_env.set_faults(f"drop_after_bytes={2 * CHUNK + 100}")
    try:
        first = run_download(remote_dir, out, retries=0, chunk_connections=1).snapshot()
    finally:
        irods_env.set_faults("")
    assert first.files_failed == 1
    final = out / "rec.bin"
    assert not final.exists()
    assert partial_path(final).exists() and state_path(final).exists()

    second = run_download(remote_dir, out).snapshot()
    assert (second.files_new, second.files_failed) == (1, 0)
    assert second.bytes == SIZE - 2 * CHUNK
    assert final.read_bytes() == big.read_bytes()
    assert not partial_path(final).exists() and not state_path(final).exists()


@pytest.mark.embedded_only("drops the connection after N bytes (fault injection)")
def test_retry_in_the_same_run_resumes(
    tmp_path: Path, remote_dir: str, irods_env: Zone, run_upload: Runner,
    run_download: Runner,
) -> None:
    big = _big(tmp_path / "src")
    irods_env.set_faults(f"drop_after_bytes={CHUNK}")
    try:
        up = run_upload(big.parent, remote_dir).snapshot()
    finally:
        irods_env.set_faults("")
    assert (up.files_new, up.files_failed, up.retries) == (1, 0, 1)
    assert up.bytes < 2 * SIZE
    run_download(remote_dir, tmp_path / "out")
    assert (tmp_path / "out" / "rec.bin").read_bytes() == big.read_bytes()


def _cli(environ: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **environ}
    return subprocess.Popen([sys.executable, "-m", "mango_transfer", *args, "--quiet",
                             "--chunk-threshold", str(CHUNK), "--retry-backoff", "0.05"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ranges(state_file: Path) -> int:
    try:
        return sum(e - s for s, e in json.loads(state_file.read_text())["ranges"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
@pytest.mark.embedded_only("slows every reply (delay fault) so the kill lands mid-file")
def test_sigkill_of_the_cli_mid_upload_and_mid_download(
    tmp_path: Path, remote_dir: str, irods_env: Zone, environ: dict[str, str],
) -> None:
    big = _big(tmp_path / "src", size=6 * CHUNK + 5)
    irods_env.set_faults("delay_ms=40")  # slow enough to be killed mid-file
    try:
        process = _cli(environ, "upload", str(big.parent), remote_dir)
        states = tmp_path / "state" / "mango-transfer" / "uploads"
        _wait_for(lambda: any(_ranges(p) > 0 for p in states.glob("*.json")), timeout=30)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        irods_env.set_faults("")
    # A re-run comes later than the server's notice of the dead connections: only then is the
    # replica stale and resumable (a re-run racing the teardown restarts the file: safe, slower).
    with irods_env.user.session() as session:
        _wait_for(lambda: (_replica(session, f"{remote_dir}/{big.name}") or (0, ""))[1] == "0")
    done = max(_ranges(p) for p in states.glob("*.json"))
    resumed = _cli(environ, "upload", str(big.parent), remote_dir, "--json-report",
                   str(tmp_path / "up.json"))
    assert resumed.wait(timeout=60) == 0, resumed.stderr.read() if resumed.stderr else ""
    report = json.loads((tmp_path / "up.json").read_text())
    assert report["summary"]["transferred"] == 1
    # Only what was missing moves; when every range was sent but the kill came before the
    # finalizing close, the last block is sent again so that a close can finalize.
    assert report["summary"]["bytes"] <= max(big.stat().st_size - done, BLOCK_SIZE)

    out = tmp_path / "out"
    irods_env.set_faults("delay_ms=40")
    try:
        process = _cli(environ, "download", remote_dir, str(out))
        final = out / big.name
        _wait_for(lambda: _ranges(state_path(final)) > 0, timeout=30)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        irods_env.set_faults("")
    assert not final.exists()
    done = _ranges(state_path(final))
    resumed = _cli(environ, "download", remote_dir, str(out), "--json-report",
                   str(tmp_path / "down.json"))
    assert resumed.wait(timeout=60) == 0, resumed.stderr.read() if resumed.stderr else ""
    report = json.loads((tmp_path / "down.json").read_text())
    assert report["summary"]["bytes"] <= big.stat().st_size - done
    assert final.read_bytes() == big.read_bytes()
    assert [p.name for p in out.iterdir()] == [big.name]  # no stray partial or state file
    assert not any(p.name.endswith((PARTIAL_SUFFIX, STATE_SUFFIX)) for p in out.iterdir())


@pytest.mark.parametrize("size", [1000, SIZE], ids=["small", "chunked"])
def test_verify_catches_a_corrupted_replica(
    tmp_path: Path, remote_dir: str, session: iRODSSession, run_upload: Runner,
    run_download: Runner, size: int,
) -> None:
    big = _big(tmp_path / "src", size=size)
    up = run_upload(big.parent, remote_dir, verify=True).snapshot()
    assert (up.files_new, up.files_failed) == (1, 0)
    rows = list(session.query(DataObject.path).filter(Collection.name == remote_dir)
                .filter(DataObject.name == big.name))
    vault = Path(rows[0][DataObject.path])
    if not os.access(vault, os.R_OK | os.W_OK):  # a zone on another machine, or not root here
        pytest.skip(f"corrupting a replica needs write access to its vault file {vault}")
    data = bytearray(vault.read_bytes())
    data[size // 2] ^= 0xFF
    vault.write_bytes(bytes(data))

    out = tmp_path / "out"
    plain = run_download(remote_dir, out / "plain").snapshot()
    assert plain.files_failed == 0  # without --verify the corruption goes unnoticed
    stats = run_download(remote_dir, out / "verified", verify=True)
    snap = stats.snapshot()
    assert (snap.files_failed, snap.transferred, snap.retries) == (1, 0, 1)
    assert "checksum differs" in stats.failures[0].reason
    assert list((out / "verified").iterdir()) == []  # nothing under the final name, no partial
