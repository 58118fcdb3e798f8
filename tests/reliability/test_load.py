"""Load: 64 concurrent sessions and the engine at --threads 32, without deadlock, descriptor leak
or unbounded memory, measured on the server process and on the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mango_transfer.server import EmbeddedServer
from tests.zones import Zone, users_of


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _settle(pid: int, baseline: int, slack: int, timeout: float = 10.0) -> int:
    """Connections close asynchronously: wait until the server is back near its baseline."""
    deadline = time.monotonic() + timeout
    while (count := _fds(pid)) > baseline + slack and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


# Runs the CLI and reports its own peak RSS (VmHWM is per address space, reset at exec; the
# rusage of a forked child would include the memory it inherited from this test process).
_WITH_PEAK = """
import sys
from mango_transfer.cli.main import main
try:
    main(sys.argv[2:], prog_name="mango-transfer")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    with open(sys.argv[1], "w") as out:
        out.write(peak)
"""


def _run_cli(zone: Zone, *args: str) -> tuple[int, float]:
    """Run the CLI as the zone's test user; return its exit code and its own peak RSS in MB."""
    assert zone.server is not None
    environ = {**os.environ, **zone.environ()}
    peak_file = Path(zone.server.config.data_dir) / "peak-rss"
    result = subprocess.run([sys.executable, "-c", _WITH_PEAK, str(peak_file), *args, "--quiet"],
                            env=environ, stderr=subprocess.PIPE, timeout=300)
    return result.returncode, int(peak_file.read_text()) / 1024


@pytest.mark.slow
def test_engine_threads_32_and_64_sessions(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for index in range(800):
        path = source / f"d{index % 8}" / f"f{index:04d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2000))
    (source / "big.bin").write_bytes(os.urandom(40 << 20))
    with EmbeddedServer(tmp_path / "zone") as server, users_of(server, tmp_path / "users") as zone:
        pid = server.pid
        baseline_fds, baseline_rss = _fds(pid), _rss_mb(pid)
        peaks = []
        for round_ in range(3):  # repeated runs: a leak would grow round after round
            code, peak = _run_cli(zone, "upload", str(source), f"{zone.home}/load{round_}",
                                  "--threads", "32", "--chunk-threshold", "8M")
            assert code == 0
            peaks.append(peak)
            code, peak = _run_cli(zone, "download", f"{zone.home}/load{round_}",
                                  str(tmp_path / f"back{round_}"), "--threads", "32")
            assert code == 0
            peaks.append(peak)
            assert _settle(pid, baseline_fds, slack=4) <= baseline_fds + 4, "descriptor leak"
        assert max(peaks) < 300, f"CLI peak RSS {max(peaks):.0f} MB"
        assert _rss_mb(pid) - baseline_rss < 200, "server memory grew without bound"

        errors: list[BaseException] = []
        barrier = threading.Barrier(64)

        def client(index: int) -> None:
            try:
                with zone.user.session() as session:
                    barrier.wait(timeout=60)  # all 64 connected at the same moment
                    path = f"{zone.home}/load0/c{index}.txt"
                    with session.data_objects.open(path, "w") as handle:
                        handle.write(b"x" * (index + 1))
                    assert session.data_objects.get(path).size == index + 1
                    assert len(session.collections.get(f"{zone.home}/load0/d{index % 8}").data_objects) == 100
            except BaseException as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "deadlock"
        assert errors == []
        assert _settle(pid, baseline_fds, slack=4) <= baseline_fds + 4
        print(f"\nload: server fds {baseline_fds}->{_fds(pid)}, server RSS {baseline_rss:.0f}->"
              f"{_rss_mb(pid):.0f} MB, CLI peak RSS {max(peaks):.0f} MB")
