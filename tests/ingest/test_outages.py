"""The watcher outlives outages: a server stopped and started again (same data folder, same
port), a watched folder that vanishes and comes back, a watcher killed while files wait, a file
changed while it is uploaded. Each test has its own embedded server, since it stops it; the
ingest runs as a real subprocess, as on an acquisition PC.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.exception import NetworkException
from irods.models import Collection, DataObject
from irods.password_obfuscation import encode
from irods.session import iRODSSession

from mango_transfer.bench.ingest_soak import ingest_soak, rodsuser_files
from mango_transfer.server import EmbeddedServer
from tests.conftest import write_file

pytestmark = pytest.mark.embedded_only("stops and restarts an embedded server of its own")


class RestartableZone:
    """An embedded server that a test may stop and start again on the same data and port,
    and a rodsuser on it whose client files the server never rewrites (a researcher's)."""

    def __init__(self, root: Path) -> None:
        self.data, self.served = root / "zone", root / "served"
        self.server: EmbeddedServer | None = EmbeddedServer(self.data,
                                                            client_env_dir=self.served).start()
        self.port = self.server.port
        self.admin_home = self.server.home
        self.env_file, self.auth_file = rodsuser_files(self.server, root / "client",
                                                       "researcher", "r3search!")
        self.home = "/tempZone/home/researcher"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def start(self) -> None:
        if self.server is None:
            self.server = EmbeddedServer(self.data, client_env_dir=self.served,
                                         port=self.port).start()

    def session(self) -> iRODSSession:
        return iRODSSession(irods_env_file=str(self.env_file),
                            irods_authentication_file=str(self.auth_file))

    def environ(self, state: Path) -> dict[str, str]:
        return {**os.environ, "IRODS_ENVIRONMENT_FILE": str(self.env_file),
                "IRODS_AUTHENTICATION_FILE": str(self.auth_file), "XDG_STATE_HOME": str(state),
                "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def zone(tmp_path: Path) -> Iterator[RestartableZone]:
    """This test's own server (it stops it), shadowing the session's ``zone``."""
    own = RestartableZone(tmp_path / "z")
    try:
        yield own
    finally:
        own.stop()


class Watcher:
    """``mango-transfer ingest`` in watch mode, its output in files read while it runs."""

    def __init__(self, zone: RestartableZone, tmp: Path, source: Path, *args: str) -> None:
        self.logs, self.out, self.err = tmp / "logs", tmp / "ingest.out", tmp / "ingest.err"
        self.collection = f"{zone.home}/ingest"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mango_transfer", "ingest", "-d", self.collection,
                 "-p", str(source), "-r", "--settle", "0.5", "--retries", "1",
                 "--log-dir", str(self.logs), *args],
                env=zone.environ(tmp / "state"), stdout=out, stderr=err)

    def started(self) -> None:
        """Wait until it watches (its baseline is taken: files written now are new)."""
        wait_for(lambda: "watching" in self.out.read_text(encoding="utf-8"), 30, "the watcher")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def log(self) -> dict[str, Any]:
        [path] = sorted(self.logs.glob("mango_ingest_results-*.json"))
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def log_path(self) -> Path:
        [path] = sorted(self.logs.glob("mango_ingest_results-*.json"))
        return path

    def statuses(self) -> dict[str, str]:
        try:
            return {e["path"]: e["status"] for e in self.log()["files"]}
        except (ValueError, OSError):
            return {}

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def remote_bytes(zone: RestartableZone, path: str) -> bytes | None:
    try:
        with zone.session() as session, session.data_objects.open(path, "r") as handle:
            return bytes(handle.read())
    except Exception:  # noqa: BLE001 - not there (yet), or the server is down
        return None


def replicas(zone: RestartableZone, path: str) -> list[str]:
    """The replica statuses of ``path``; none while the server is away (restarting)."""
    coll, _, name = path.rpartition("/")
    try:
        with zone.session() as session:
            rows = session.query(DataObject.replica_status).filter(
                Collection.name == coll).filter(DataObject.name == name)
            return [str(row[DataObject.replica_status]) for row in rows]
    except NetworkException:
        return []


@pytest.mark.slow
def test_short_soak_nothing_lost_across_server_restarts(tmp_path: Path) -> None:
    """The soak of benchmarks/ingest_soak.py, short: a writer adds files for 24 s while the
    server is stopped for 3 s every 8 s; every file ends on the server once, identical."""
    result = ingest_soak(tmp_path / "soak", seconds=24, restart_every=8, down_for=3,
                         write_every=0.1, catch_up=180, settle=0.5)
    assert result.restarts >= 2 and result.files > 50
    assert result.missing == [] and result.extra == [] and result.different == []
    assert result.replicas_not_good == 0 and result.extra_replicas == 0
    assert result.log_failed == 0 and result.log_pending == 0 and result.exit_code == 0
    assert result.outages_logged >= 1
    assert result.ok


def test_watcher_waits_for_the_server_and_uploads_what_waited(tmp_path: Path,
                                                               zone: RestartableZone) -> None:
    source = tmp_path / "acq"
    source.mkdir()
    watcher = Watcher(zone, tmp_path, source)
    try:
        watcher.started()
        write_file(source / "before.bin", b"before")
        target = f"{watcher.collection}/before.bin"
        wait_for(lambda: replicas(zone, target) == ["1"], 30, "the first upload")
        zone.stop()
        write_file(source / "during" / "a.bin", b"a" * 1000)
        write_file(source / "during" / "b.bin", b"b" * 2000)
        wait_for(lambda: "server unreachable since" in watcher.stderr(), 30, "the status line")
        # while the server is away the waiting files are in the log, as pending
        wait_for(lambda: {watcher.statuses().get(p) for p in ("during/a.bin", "during/b.bin")}
                 == {"pending"}, 10, "the pending files in the log")
        line = next(x for x in watcher.stderr().splitlines() if "unreachable" in x)
        assert "2 files waiting" in line and "retrying in" in line
        time.sleep(2)
        assert watcher.process.poll() is None, watcher.stderr()  # still watching
        zone.start()
        for name, data in (("a.bin", b"a" * 1000), ("b.bin", b"b" * 2000)):
            path = f"{watcher.collection}/during/{name}"
            wait_for(lambda p=path: replicas(zone, p) == ["1"], 90, f"the upload of {name}")
            assert remote_bytes(zone, path) == data
    finally:
        code = watcher.stop()
    assert code == 0, watcher.stderr()
    assert "server reachable again after" in watcher.stderr()
    assert "Traceback" not in watcher.stderr()
    log = watcher.log()
    assert {e["path"]: e["status"] for e in log["files"]} == {
        "before.bin": "uploaded", "during/a.bin": "uploaded", "during/b.bin": "uploaded"}
    assert log["outages"] and all(o["what"] == "server" and o["until"] for o in log["outages"])


def test_server_restart_while_a_pass_makes_its_folders_loses_nothing(
        tmp_path: Path, zone: RestartableZone) -> None:
    """The server goes away just after a pass started, while it creates its files' folders (an
    existing one and a new one) and stays away longer than --retries covers: those files wait
    through the outage like any other and are uploaded, not failed for good."""
    source = tmp_path / "acq"
    source.mkdir()
    watcher = Watcher(zone, tmp_path, source)
    try:
        watcher.started()
        write_file(source / "run-000" / "first.bin", b"first")
        wait_for(lambda: replicas(zone, f"{watcher.collection}/run-000/first.bin") == ["1"], 30,
                 "the first upload")
        assert zone.server is not None
        # COLL_CREATE (681) calls of the next pass: the destination, run-000, run-001
        zone.server.set_faults("restart_after=681:2,restart_pause_ms=3000")
        files = {"run-000/a.bin": b"a" * 100, "run-000/b.bin": b"b" * 200,
                 "run-001/c.bin": b"c" * 300}
        for relative, data in files.items():
            write_file(source / relative, data)
        for relative, data in files.items():
            path = f"{watcher.collection}/{relative}"
            wait_for(lambda p=path: replicas(zone, p) == ["1"], 60, f"the upload of {relative}")
            assert remote_bytes(zone, path) == data
    finally:
        code = watcher.stop()
    assert code == 0, watcher.stderr()
    assert "server unreachable since" in watcher.stderr()  # the restart did hit the pass
    assert "failed:" not in watcher.stderr(), watcher.stderr()
    assert watcher.statuses() == {"run-000/first.bin": "uploaded", **dict.fromkeys(files,
                                                                                   "uploaded")}


def test_killed_watcher_leaves_pending_files_that_restart_uploads(tmp_path: Path,
                                                                  zone: RestartableZone) -> None:
    source = tmp_path / "acq"
    source.mkdir()
    zone.stop()  # the server is down from the start: the watcher starts anyway
    watcher = Watcher(zone, tmp_path, source)
    watcher.started()
    files = {f"r{i}.edf": os.urandom(3000 + i) for i in range(3)}
    for name, data in files.items():
        write_file(source / name, data)
    wait_for(lambda: all(watcher.statuses().get(n) == "pending" for n in files), 20,
             "the files logged as pending")
    assert watcher.stop(signal.SIGKILL) == -signal.SIGKILL  # no chance to tidy up
    zone.start()
    result = subprocess.run(
        [sys.executable, "-m", "mango_transfer", "ingest", "-d", watcher.collection,
         "-p", str(source), "-nw", "--restart", str(watcher.log_path()), "--log-dir",
         str(tmp_path / "logs2")],
        env=zone.environ(tmp_path / "state"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ingest: 3 uploaded" in result.stdout, result.stdout
    for name, data in files.items():
        assert remote_bytes(zone, f"{watcher.collection}/{name}") == data


def test_max_outage_stops_the_watcher_with_one_line(tmp_path: Path, zone: RestartableZone) -> None:
    source = tmp_path / "acq"
    write_file(source / "waiting.bin", b"x")
    zone.stop()
    watcher = Watcher(zone, tmp_path, source, "--sync", "--max-outage", "3s")
    code = watcher.process.wait(timeout=60)
    assert code == 2
    last = watcher.stderr().strip().splitlines()[-1]
    assert last.startswith("mango-transfer ingest: server unreachable for") and \
        "longer than --max-outage 3 s" in last and "--restart LOG" in last, watcher.stderr()
    assert watcher.statuses() == {"waiting.bin": "pending"}


def test_vanished_folder_is_waited_for_and_picked_up_again(tmp_path: Path,
                                                           zone: RestartableZone) -> None:
    source, away = tmp_path / "usb", tmp_path / "unplugged"
    source.mkdir()
    watcher = Watcher(zone, tmp_path, source)
    try:
        watcher.started()
        os.rename(source, away)  # the disk is unplugged
        wait_for(lambda: "missing since" in watcher.stderr(), 20, "the status line")
        write_file(away / "recorded-offline.bin", b"offline")
        os.rename(away, source)  # and plugged in again
        target = f"{watcher.collection}/recorded-offline.bin"
        wait_for(lambda: replicas(zone, target) == ["1"], 30, "the upload after it came back")
        write_file(source / "after.bin", b"after")  # watched again
        wait_for(lambda: replicas(zone, f"{watcher.collection}/after.bin") == ["1"], 30,
                 "a file written afterwards")
    finally:
        code = watcher.stop()
    assert code == 0, watcher.stderr()
    assert "is back after" in watcher.stderr() and "Traceback" not in watcher.stderr()
    assert [o["what"] for o in watcher.log()["outages"]] == ["folder"]


def test_file_changed_during_its_upload_is_uploaded_again(tmp_path: Path, zone: RestartableZone) -> None:
    source = tmp_path / "acq"
    source.mkdir()
    watcher = Watcher(zone, tmp_path, source)
    first, second = os.urandom(12 << 20), os.urandom(1000)
    target = f"{watcher.collection}/rec.bin"
    try:
        watcher.started()
        assert zone.server is not None
        zone.server.set_faults("delay_ms=300")  # every reply late: the upload takes seconds
        write_file(source / "rec.bin", first)
        wait_for(lambda: bool(replicas(zone, target)), 30, "the upload to begin")
        with open(source / "rec.bin", "ab") as handle:  # the acquisition appends
            handle.write(second)
        zone.server.set_faults("")
        wait_for(lambda: replicas(zone, target) == ["1"]
                 and remote_bytes(zone, target) == first + second, 60,
                 "the changed file uploaded again")
    finally:
        code = watcher.stop()
    assert code == 0, watcher.stderr()
    assert watcher.statuses() == {"rec.bin": "uploaded"}


@pytest.mark.parametrize("problem", ["password", "destination"])
def test_only_errors_no_wait_can_cure_stop_the_watcher(tmp_path: Path, zone: RestartableZone,
                                                       problem: str) -> None:
    source = tmp_path / "acq"
    write_file(source / "a.bin", b"x")
    args = ["-d", f"{zone.home}/ok", "--sync"]
    if problem == "password":  # changed meanwhile: the stored one is refused
        zone.auth_file.write_text(encode("not the password any more"), encoding="utf-8")
    else:
        args = ["-d", f"{zone.admin_home}/not-yours", "--sync"]  # the user may not write there
    result = subprocess.run(
        [sys.executable, "-m", "mango_transfer", "ingest", *args, "-p", str(source),
         "--retries", "1", "--log-dir", str(tmp_path / "logs")],
        env=zone.environ(tmp_path / "state"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mango-transfer ingest: "), result.stderr
    expected = "refused the login" if problem == "password" else "ask the owner for access"
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
