"""The no-op re-sync and the ``--processes`` comparison, on the embedded server, in a kept folder.

``mango-transfer bench`` builds everything in a temporary folder, so its ``noop_resync`` uploads
100,000 files before it can time one re-run of them. This script keeps its tree and its zone in
``--workdir``: the first call uploads, every later call only times.

    python benchmarks/resync_bench.py noop --workdir /tmp/resync --files 100000 --repeat 3
    python benchmarks/resync_bench.py processes --workdir /tmp/resync --files 10000 \
        --processes 1,2 --repeat 3
    python benchmarks/resync_bench.py processes --env ENV_FILE --files 500 --processes 1,2

``noop``: wall time of an upload of an unchanged tree (every file skipped), as the bench's
``noop_resync`` runs it (in-process, ``--threads 16``). ``processes``: a fresh upload of
``--files`` × 4 KiB per run, for each ``--processes`` value, with the CPU seconds the embedded
server's process spent during the run (the server is one process: the share of the machine it
takes is what two client processes compete with). ``--env``: a real zone instead (the tree is
uploaded into fresh collections under the environment's home, removed afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import anyio

from mango_transfer.bench import datasets
from mango_transfer.engine import TransferOptions, upload
from mango_transfer.server import ServerProcess


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(workdir: Path, name: str, files: int, size: int) -> Path:
    root = workdir / f"{name}-{files}x{size}"
    if not root.exists():
        datasets.small_files(root.with_suffix(".part"), files, size=size)
        root.with_suffix(".part").rename(root)
    return root


def _upload(root: Path, remote: str, environ: dict[str, str], **options: object) -> float:
    started = time.perf_counter()
    stats = anyio.run(lambda: upload(str(root), remote, TransferOptions(**options),  # type: ignore[arg-type]
                                     environ=environ))
    seconds = time.perf_counter() - started
    snap = stats.snapshot()
    if snap.files_failed:
        raise SystemExit(f"{snap.files_failed} files failed: {stats.failures[0].reason}")
    return seconds


def noop(args: argparse.Namespace, environ: dict[str, str], home: str) -> None:
    root = _tree(args.workdir, "noop", args.files, 64)
    remote = f"{home}/noop-{args.files}"
    marker = args.workdir / f"noop-{args.files}.uploaded"
    if not marker.exists():
        print(f"uploading {args.files} files once: {_upload(root, remote, environ):.1f} s",
              flush=True)
        marker.touch()
    runs = [_upload(root, remote, environ, threads=args.threads) for _ in range(args.repeat)]
    print(json.dumps({"scenario": "noop_resync", "files": args.files, "runs_s": runs,
                      "median_s": statistics.median(runs)}))


def processes(args: argparse.Namespace, environ: dict[str, str], home: str,
              server: ServerProcess | None) -> None:
    root = _tree(args.workdir, "small", args.files, 4096)
    for count in (int(value) for value in args.processes.split(",")):
        for _ in range(args.repeat):
            remote = f"{home}/procs-{uuid.uuid4().hex[:8]}"
            cpu = _cpu_seconds(server.process.pid) if server and server.process else None
            seconds = _upload(root, remote, environ, threads=args.threads, processes=count)
            row: dict[str, object] = {"processes": count, "files": args.files,
                                      "seconds": round(seconds, 2),
                                      "files_per_s": round(args.files / seconds, 1)}
            if cpu is not None and server and server.process:
                used = _cpu_seconds(server.process.pid) - cpu
                row["server_cpu_s"] = round(used, 2)
                row["server_cpu_share"] = round(used / seconds, 2)
            print(json.dumps(row), flush=True)
            if args.env:
                _remove(environ, remote)


def _remove(environ: dict[str, str], remote: str) -> None:
    from irods.session import iRODSSession

    with iRODSSession(irods_env_file=environ["IRODS_ENVIRONMENT_FILE"],
                      irods_authentication_file=environ["IRODS_AUTHENTICATION_FILE"]) as session:
        session.collections.remove(remote, recurse=True, force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=("noop", "processes"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mango-resync-bench"))
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--env", type=Path, default=None,
                        help="a real zone's irods_environment.json (IRODS_AUTHENTICATION_FILE "
                             "names its .irodsA)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    server = None
    if args.env is None:
        (args.workdir / "zone").mkdir(exist_ok=True)
        server = ServerProcess(args.workdir / "zone", args.workdir / "client").start()
        environ = {"IRODS_ENVIRONMENT_FILE": str(server.env_file),
                   "IRODS_AUTHENTICATION_FILE": str(server.auth_file)}
    else:
        environ = {"IRODS_ENVIRONMENT_FILE": str(args.env),
                   "IRODS_AUTHENTICATION_FILE": os.environ["IRODS_AUTHENTICATION_FILE"]}
    home = json.loads(Path(environ["IRODS_ENVIRONMENT_FILE"]).read_text())["irods_home"]
    try:
        if args.scenario == "noop":
            noop(args, environ, home)
        else:
            processes(args, environ, home, server)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
