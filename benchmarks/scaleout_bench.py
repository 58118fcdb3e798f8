"""Scale-out benchmark: the local engine vs ``--celery`` with 1 and with 2 workers, and what the
coordination costs per task.

Standalone: ``python benchmarks/scaleout_bench.py [--scale S] [--repeat N] [--rtt-ms MS]
[--out FILE]``. Starts its own redis-server (Debian package) and the embedded iRODS server.

Runs, each into a fresh collection, every one the real CLI as a subprocess (start-up included):

- **small**: 3,000 × 4 KiB in 30 folders (× ``--scale``): where per-task costs show;
- **large**: 4 × 64 MiB (× ``--scale``), each file its own task;
- **huge**: 1 × 256 MiB (× ``--scale``), shared among the workers in 32 MiB parts
  (``--split-from 32M --part-size 32M``; the local run uses its 4 chunk connections);
- tools: ``local`` (plain ``upload``), ``celery-1w`` and ``celery-2w`` (``upload --celery``
  with one or two ``mango-transfer worker`` processes, 2 batches at a time each);
- **overhead**: a no-op ``sync --celery`` of the small tree (every file is skipped) with
  ``--batch-files 1`` and with the default 200: the difference divided by the difference in
  task count is the cost of one task (message, lease, outcome, the worker's engine run with
  its session set-up), and it is compared with a local no-op sync of the same tree.

The medians and ratios to ``local`` are printed and written as JSON. On one 2-core machine two
workers share the CPU with the server and the coordinator, so they cannot scale here; the
figure that carries to many hosts is the per-task overhead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, print_table, write_json  # noqa: E402

from mango_transfer.server import EmbeddedServer  # noqa: E402

MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_trees(root: Path, scale: float) -> dict[str, tuple[Path, int, int]]:
    small, large = root / "small", root / "large"
    count = max(30, int(3000 * scale))
    for index in range(count):
        path = small / f"sub-{index % 30:02d}" / f"f{index:05d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(4096))
    size = max(8 * MIB, int(64 * MIB * scale))
    large.mkdir(parents=True)
    for index in range(4):
        (large / f"rec{index}.edf").write_bytes(os.urandom(size))
    huge = root / "huge"
    huge.mkdir()
    huge_size = max(64 * MIB, int(256 * MIB * scale))
    (huge / "session.nii").write_bytes(os.urandom(huge_size))
    return {"small": (small, count, count * 4096), "large": (large, 4, 4 * size),
            "huge": (huge, 1, huge_size)}


class Redis:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not installed (apt-get install redis-server)")
        self.port = _free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        sys.exit("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


class WorkerPool:
    def __init__(self, url: str, environ: dict[str, str], folder: Path) -> None:
        self.url, self.environ, self.folder = url, environ, folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def resize(self, count: int) -> None:
        self.stop()
        for index in range(count):
            log = self.folder / f"worker{index}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "mango_transfer", "worker", "--celery", self.url,
                 "--name", f"bench{index}@%h", "--concurrency", "2", "--loglevel", "WARNING"],
                env=self.environ, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            self.processes.append(process)
        time.sleep(0.5)
        self._wait_ready(count)

    def _wait_ready(self, count: int) -> None:
        from mango_transfer.scaleout.app import make_app

        app = make_app(self.url)
        for _ in range(120):
            if len(app.control.ping(timeout=0.5)) >= count:
                return
        sys.exit("workers did not start; see " + str(self.folder))

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait()
        self.processes = []


def run_cli(environ: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mango_transfer", *args, "--quiet"],
                            env=environ, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"mango-transfer {' '.join(args)} failed:\n{result.stderr}")
    return seconds


def stats(seconds: list[float]) -> dict[str, float]:
    return {"min_s": min(seconds), "median_s": statistics.median(seconds), "max_s": max(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scaleout.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scaleout-bench-"))
    redis_server = Redis(work)
    try:
        with EmbeddedServer(work / "zone") as server:
            environ = {**os.environ, "IRODS_ENVIRONMENT_FILE": str(server.env_file),
                       "IRODS_AUTHENTICATION_FILE": str(server.auth_file),
                       "XDG_STATE_HOME": str(work / "state")}
            if args.rtt_ms:
                server.set_faults(f"delay_ms={args.rtt_ms:g}")
            trees = make_trees(work / "data", args.scale)
            pool = WorkerPool(redis_server.url, environ, work)
            try:
                rows, runs = measure(environ, server.home, trees, pool, redis_server.url,
                                     args.repeat)
                overhead = measure_overhead(environ, server.home, trees["small"], pool,
                                            redis_server.url, args.repeat)
            finally:
                pool.stop()
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(f"Scale-out (scale {args.scale}, RTT {args.rtt_ms:g} ms, median of "
                f"{args.repeat}; ratio = local time / this time)", rows,
                [("scenario", "scenario"), ("tool", "tool"), ("median_s", "median s"),
                 ("files_per_s", "files/s"), ("MBps", "MB/s"), ("ratio_to_local", "× local")])
    print_table("Per-task overhead (no-op sync of the small tree)", [overhead],
                [("tasks_1", "tasks (batch 1)"), ("tasks_default", "tasks (batch 200)"),
                 ("per_task_ms", "ms per task"), ("local_noop_s", "local no-op s"),
                 ("celery_noop_s", "--celery no-op s")])
    write_json(args.out, {"machine": machine_info(), "config": vars(args) | {"out": str(args.out)},
                          "runs": runs, "table": rows, "overhead": overhead})


def measure(environ: dict[str, str], home: str, trees: dict[str, tuple[Path, int, int]],
            pool: WorkerPool, url: str, repeat: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    runs: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for tool, workers in (("local", 0), ("celery-1w", 1), ("celery-2w", 2)):
        if workers:
            pool.resize(workers)
        for scenario, (path, count, size) in trees.items():
            seconds = []
            for attempt in range(repeat):
                dest = f"{home}/bench-{scenario}-{tool}-{attempt}"
                extra = ["--celery", url] if workers else []
                if workers and scenario == "huge":
                    extra += ["--split-from", "32M", "--part-size", "32M"]
                seconds.append(run_cli(environ, "upload", str(path), dest, *extra))
            runs[f"{scenario}/{tool}"] = {"seconds": seconds, **stats(seconds), "files": count,
                                          "bytes": size}
    for key, run in runs.items():
        scenario, tool = key.split("/")
        local = runs[f"{scenario}/local"]["median_s"]
        rows.append({"scenario": scenario, "tool": tool, "median_s": run["median_s"],
                     "files_per_s": run["files"] / run["median_s"],
                     "MBps": run["bytes"] / run["median_s"] / 1e6,
                     "ratio_to_local": local / run["median_s"]})
    return rows, runs


def measure_overhead(environ: dict[str, str], home: str, tree: tuple[Path, int, int],
                     pool: WorkerPool, url: str, repeat: int) -> dict[str, Any]:
    path, count, _ = tree
    dest = f"irods:{home}/bench-small-local-0"  # uploaded above: every file is skipped
    pool.resize(2)
    local = [run_cli(environ, "sync", str(path), dest) for _ in range(repeat)]
    many = [run_cli(environ, "sync", str(path), dest, "--celery", url, "--batch-files", "1")
            for _ in range(repeat)]
    few = [run_cli(environ, "sync", str(path), dest, "--celery", url) for _ in range(repeat)]
    tasks_default = -(-count // 200)
    per_task = (statistics.median(many) - statistics.median(few)) / (count - tasks_default)
    return {"tasks_1": count, "tasks_default": tasks_default, "per_task_ms": per_task * 1000,
            "local_noop_s": statistics.median(local), "celery_noop_s": statistics.median(few),
            "celery_noop_batch1_s": statistics.median(many)}


if __name__ == "__main__":
    main()
