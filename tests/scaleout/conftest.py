"""A real redis-server and real Celery worker processes (``mango-transfer worker``) against each
zone, as its test user: the scale-out path exactly as a data steward runs it, on one machine."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.zones import Zone

LEASE = 6.0  # seconds: a killed worker's batch is taken over after about this long


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; scripts/test.sh installs it (apt-get install "
                    "redis-server)")
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    client.close()
    yield url
    process.terminate()
    process.wait(timeout=10)


def environ_for(zone: Zone, state: Path) -> dict[str, str]:
    """What the CLI and the workers run with: the zone's test user, a per-test state folder."""
    return {**os.environ, **zone.environ(XDG_STATE_HOME=str(state), PYTHONUNBUFFERED="1")}


@dataclass
class Workers:
    """Worker processes on one broker; each logs to its own file."""

    url: str
    environ: dict[str, str]
    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "mango_transfer", "worker", "--celery", self.url, "--name",
             f"{name}@test", "--lease", str(LEASE), "--concurrency", "2"],
            env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.log(name):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {name} did not start:\n{self.log(name)}")
            time.sleep(0.1)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def batches_done(self, name: str) -> int:
        return self.log(name).count("succeeded in")

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@pytest.fixture
def workers(redis_url: str, zone: Zone, tmp_path: Path) -> Iterator[Workers]:
    """Two worker processes with different node names, on a broker emptied for this test."""
    redis.Redis.from_url(redis_url).flushdb()
    pool = Workers(redis_url, environ_for(zone, tmp_path / "state"), tmp_path)
    try:
        pool.start("w1")
        pool.start("w2")
        yield pool
    finally:
        pool.stop_all()
