"""The outage soak: ``mango-transfer ingest`` watches a folder while a writer adds files
continuously and the embedded server is stopped and started again, on the same data folder and
port, every ``restart_every`` seconds.

Shared by the short test (``tests/ingest/test_outages.py``) and ``benchmarks/ingest_soak.py``
(minutes, by hand). At the end, once the writer stopped and the server is up, it waits (up to
``catch_up`` seconds) until every file is on the server and the watcher's log says so, nothing
pending, stops it with SIGINT, and checks: every file written is on the server
exactly once (one object, one replica, nothing else in the collection), identical (its
registered SHA-256, the ingest runs with ``--verify-checksum``, equals the local file's),
every replica good, nothing failed or pending in the log; and it reports the watcher's resident
memory over the run (``/proc``, Linux) to show it stays flat.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from irods.column import Like
from irods.models import Collection, DataObject
from irods.password_obfuscation import encode
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer

__all__ = ["IngestSoakResult", "ingest_soak", "rodsuser_files"]


@dataclass
class IngestSoakResult:
    files: int
    restarts: int
    seconds: float
    catch_up_seconds: float
    bytes: int
    objects: int
    missing: list[str]
    extra: list[str]
    different: list[str]
    replicas_not_good: int
    extra_replicas: int
    log_failed: int
    log_pending: int
    outages_logged: int
    exit_code: int | None
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB) samples
    peak_rss_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return (not self.missing and not self.extra and not self.different
                and self.replicas_not_good == 0 and self.extra_replicas == 0
                and self.log_failed == 0 and self.log_pending == 0 and self.exit_code == 0)

    @property
    def rss_start_mb(self) -> float:
        """Resident memory once warmed up (the first sample after a tenth of the run)."""
        warm = [mb for at, mb in self.rss_mb if at >= self.seconds / 10]
        return warm[0] if warm else 0.0

    @property
    def rss_end_mb(self) -> float:
        return self.rss_mb[-1][1] if self.rss_mb else 0.0

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("rss_mb")
        return {**data, "ok": self.ok, "rss_start_mb": self.rss_start_mb,
                "rss_end_mb": self.rss_end_mb}


def rodsuser_files(server: EmbeddedServer, folder: Path, name: str,
                   password: str) -> tuple[Path, Path]:
    """Create the rodsuser ``name`` on ``server`` (as its admin) and write its client files in
    ``folder`` (files the server never rewrites, as a user's own): the environment file and
    the obfuscated ``.irodsA``, returned in that order."""
    with iRODSSession(irods_env_file=str(server.env_file),
                      irods_authentication_file=str(server.auth_file)) as admin:
        admin.users.create(name, "rodsuser")
        admin.users.modify(name, "password", password)
    env = json.loads(server.env_file.read_text(encoding="utf-8"))
    home = f"/{env['irods_zone_name']}/home/{name}"
    env.update(irods_user_name=name, irods_home=home, irods_cwd=home)
    env.pop("irods_authentication_file", None)
    folder.mkdir(parents=True, exist_ok=True)
    env_file, auth_file = folder / "irods_environment.json", folder / ".irodsA"
    env_file.write_text(json.dumps(env, indent=2), encoding="utf-8")
    auth_file.write_text(encode(password), encoding="utf-8")
    auth_file.chmod(0o600)
    return env_file, auth_file


def _rss_mb(pid: int, field_name: str = "VmRSS") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Writer(threading.Thread):
    """Adds files until stopped: mostly small, some written slowly in parts, a few large."""

    def __init__(self, root: Path, every: float, large_every: int, large_size: int,
                 seed: int = 11) -> None:
        super().__init__(daemon=True, name="soak-writer")
        self.root, self.every = root, every
        self.large_every, self.large_size = large_every, large_size
        self.rng = random.Random(seed)
        self.stopped = threading.Event()
        self.written: dict[str, str] = {}  # relative path → SHA-256 hex
        self.bytes = 0

    def run(self) -> None:
        index = 0
        while not self.stopped.wait(self.every):
            relative = f"run-{index // 100:03d}/f{index:06d}.bin"
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            large = self.large_every and index % self.large_every == self.large_every - 1
            size = self.large_size if large else self.rng.randrange(0, 200_000)
            data = self.rng.randbytes(size)
            with open(target, "wb") as handle:
                if index % 7 == 3:  # a slow writer: three parts over ~0.6 s
                    for part in range(3):
                        handle.write(data[part * size // 3:(part + 1) * size // 3])
                        handle.flush()
                        time.sleep(0.3 if part < 2 else 0)
                else:
                    handle.write(data)
            self.written[relative] = hashlib.sha256(data).hexdigest()
            self.bytes += size
            index += 1


def _objects(session: iRODSSession, collection: str) -> dict[str, list[tuple[int, str, str]]]:
    """Relative path → its replicas as (size, replica status, checksum)."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    for condition in (Collection.name == collection, Like(Collection.name, f"{collection}/%")):
        query = session.query(Collection.name, DataObject.name, DataObject.size,
                              DataObject.replica_status, DataObject.checksum,
                              DataObject.replica_number).filter(condition)
        for row in query:
            relative = f"{row[Collection.name]}/{row[DataObject.name]}"[len(collection) + 1:]
            found.setdefault(relative, []).append((int(row[DataObject.size]),
                                                    str(row[DataObject.replica_status]),
                                                    str(row[DataObject.checksum] or "")))
    return found


def _sha2(hex_digest: str) -> str:
    return "sha2:" + base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _caught_up(session: iRODSSession, collection: str, written: dict[str, str]) -> bool:
    objects = _objects(session, collection)
    return all(path in objects and all(r[1] == "1" and r[2] == _sha2(digest)
                                       for r in objects[path])
               for path, digest in written.items())


def _log_settled(logs: Path, written: dict[str, str]) -> bool:
    """The watcher's JSON log (rewritten atomically, a second or so after the outcomes) says
    every written file is uploaded and nothing is pending or failed."""
    try:
        [path] = sorted(logs.glob("mango_ingest_results-*.json"))
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    statuses = {entry["path"]: entry["status"] for entry in log["files"]}
    return (all(statuses.get(relative) == "uploaded" for relative in written)
            and int(log["summary"]["pending"]) == 0 and int(log["summary"]["failed"]) == 0)


def ingest_soak(workdir: Path, *, seconds: float, restart_every: float = 60.0,
                down_for: float = 5.0, write_every: float = 0.2, large_every: int = 0,
                large_size: int = 40 << 20, catch_up: float = 300.0,
                settle: float = 1.0,
                notice: Callable[[str], None] | None = None) -> IngestSoakResult:
    """Run the soak in ``workdir`` (created; the server's zone lives in it). Blocking."""
    workdir.mkdir(parents=True, exist_ok=True)
    zone, served, client = workdir / "zone", workdir / "served", workdir / "client"
    source, logs = workdir / "source", workdir / "logs"
    source.mkdir(exist_ok=True)
    server = EmbeddedServer(zone, client_env_dir=served).start()
    port = server.port
    env_file, auth_file = rodsuser_files(server, client, "soaker", "soak-pass-1")
    collection = "/tempZone/home/soaker/soak"
    environ = {**os.environ, "IRODS_ENVIRONMENT_FILE": str(env_file),
               "IRODS_AUTHENTICATION_FILE": str(auth_file),
               "XDG_STATE_HOME": str(workdir / "state"), "PYTHONUNBUFFERED": "1"}
    out = open(workdir / "ingest.out", "w")  # noqa: SIM115 - closed below
    watcher = subprocess.Popen(
        [sys.executable, "-m", "mango_transfer", "ingest", "-d", collection, "-p", str(source),
         "-r", "--settle", str(settle), "--retries", "1", "--verify-checksum",
         "--log-dir", str(logs)],
        env=environ, stdout=out, stderr=subprocess.STDOUT)
    writer = _Writer(source, write_every, large_every, large_size)
    samples: list[tuple[float, float]] = []
    begin = time.monotonic()
    restarts = 0
    try:
        deadline = time.monotonic() + 60
        while "watching" not in (workdir / "ingest.out").read_text(encoding="utf-8"):
            if watcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the watcher did not start: "
                                   + (workdir / "ingest.out").read_text(encoding="utf-8"))
            time.sleep(0.1)  # until it has taken its baseline: what is written now is new
        writer.start()
        next_restart = begin + restart_every
        while time.monotonic() - begin < seconds:
            mb = _rss_mb(watcher.pid)
            if mb is not None:
                samples.append((time.monotonic() - begin, mb))
            if watcher.poll() is not None:
                break  # it stopped: the checks below say why
            if time.monotonic() >= next_restart:
                server.stop()
                time.sleep(down_for)
                server = EmbeddedServer(zone, client_env_dir=served, port=port).start()
                restarts += 1
                next_restart = time.monotonic() + restart_every
                if notice is not None:
                    notice(f"{time.monotonic() - begin:7.1f} s: restart {restarts}, "
                           f"{len(writer.written)} files written, watcher "
                           f"{samples[-1][1] if samples else 0:.1f} MB")
            time.sleep(1.0)
        writer.stopped.set()
        writer.join()
        finished_writing = time.monotonic()
        with iRODSSession(irods_env_file=str(env_file),
                          irods_authentication_file=str(auth_file)) as session:
            deadline = time.monotonic() + catch_up
            while (watcher.poll() is None and time.monotonic() < deadline
                   and not _caught_up(session, collection, writer.written)):
                time.sleep(1.0)
            caught_up = time.monotonic() - finished_writing
            # The objects are there; the watcher may still be finishing their last steps and
            # logs them a second or so later: stop it only once its log says so (or the cap).
            while (watcher.poll() is None and time.monotonic() < deadline
                   and not _log_settled(logs, writer.written)):
                time.sleep(0.5)
            mb = _rss_mb(watcher.pid)
            if mb is not None:
                samples.append((time.monotonic() - begin, mb))
            peak = _rss_mb(watcher.pid, "VmHWM") or 0.0
            if watcher.poll() is None:
                watcher.send_signal(signal.SIGINT)
            try:
                code: int | None = watcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                watcher.kill()
                code = None
            objects = _objects(session, collection)
    finally:
        writer.stopped.set()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        out.close()
        server.stop()
    [log_path] = sorted(logs.glob("mango_ingest_results-*.json"))
    log = json.loads(log_path.read_text(encoding="utf-8"))
    written = writer.written
    return IngestSoakResult(
        files=len(written), restarts=restarts, seconds=round(finished_writing - begin, 1),
        catch_up_seconds=round(caught_up, 1), bytes=writer.bytes, objects=len(objects),
        missing=sorted(set(written) - set(objects)), extra=sorted(set(objects) - set(written)),
        different=sorted(p for p, digest in written.items() if p in objects
                         and any(r[2] != _sha2(digest) for r in objects[p])),
        replicas_not_good=sum(1 for rs in objects.values() for r in rs if r[1] != "1"),
        extra_replicas=sum(len(rs) - 1 for rs in objects.values()),
        log_failed=int(log["summary"]["failed"]), log_pending=int(log["summary"]["pending"]),
        outages_logged=len(log.get("outages", [])), exit_code=code, rss_mb=samples,
        peak_rss_mb=round(peak, 1))
