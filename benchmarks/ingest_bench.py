"""``mango-transfer ingest -nw -r --verify-checksum`` vs. a mango-ingest style sequential upload.

Standalone: ``python benchmarks/ingest_bench.py [--scale S] [--rtt-ms 10] [--out FILE]``.

The data set (scaled by ``--scale``): 5,000 small files (1-64 KiB, in a BIDS-like tree
``sub-XX/ses-YY/eeg``) and 4 large files of 128 MiB. The server is the embedded one
(``mango_transfer.server.EmbeddedServer``, a child process, over TCP on loopback); the WAN row
adds ``--rtt-ms`` to every reply (server fault ``delay_ms``).

- **baseline** (what mango-ingest 0.9.2 does per file, one after the other): make sure the
  collection exists, ``session.data_objects.put`` (PRC defaults: parallel above 32 MiB), then
  ask the server for the checksum and compare it with the local SHA-256.
- **ingest**: the real command, run as a subprocess (start-up included), into a fresh collection.

Both end with every file on the server and verified. Printed as a table; written as JSON.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from irods.session import iRODSSession

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, print_table, write_json  # noqa: E402

from mango_transfer.server import EmbeddedServer  # noqa: E402

MIB = 1024 * 1024


def make_dataset(root: Path, scale: float) -> tuple[int, int]:
    rng = random.Random(7)
    small = max(1, int(5000 * scale))
    total = 0
    for i in range(small):
        folder = root / f"sub-{i % 50:02d}" / f"ses-{i % 4:02d}" / "eeg"
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randrange(1024, 64 * 1024))
        (folder / f"sub-{i % 50:02d}_run-{i:05d}_eeg.edf").write_bytes(data)
        total += len(data)
    large = max(1, int(128 * MIB * scale))
    (root / "raw").mkdir(exist_ok=True)
    for i in range(4):
        with open(root / "raw" / f"recording-{i}.bin", "wb") as handle:
            left = large
            while left:
                block = min(left, 8 * MIB)
                handle.write(os.urandom(block))
                left -= block
        total += large
    return small + 4, total


def _sha2(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return "sha2:" + base64.b64encode(digest.digest()).decode()


def baseline(server: EmbeddedServer, local: Path, collection: str) -> int:
    """mango-ingest's loop: one file at a time, put, then the checksum compared."""
    done = 0
    with iRODSSession(irods_env_file=str(server.env_file),
                      irods_authentication_file=str(server.auth_file)) as session:
        known: set[str] = set()
        for path in sorted(local.rglob("*")):
            if not path.is_file():
                continue
            target = f"{collection}/{path.relative_to(local).as_posix()}"
            parent = target.rsplit("/", 1)[0]
            if parent not in known:
                if not session.collections.exists(parent):
                    session.collections.create(parent, recurse=True)
                known.add(parent)
            session.data_objects.put(str(path), target)
            if session.data_objects.chksum(target) != _sha2(path):
                raise RuntimeError(f"checksum mismatch for {target}")
            done += 1
    return done


def ingest(server: EmbeddedServer, local: Path, collection: str, state: Path,
           logs: Path) -> int:
    env = dict(os.environ, IRODS_ENVIRONMENT_FILE=str(server.env_file),
               IRODS_AUTHENTICATION_FILE=str(server.auth_file), XDG_STATE_HOME=str(state))
    result = subprocess.run(
        [sys.executable, "-m", "mango_transfer", "ingest", "-d", collection, "-p", str(local),
         "-nw", "-r", "--verify-checksum", "--log-dir", str(logs)],
        env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ingest failed ({result.returncode}): {result.stderr.strip()}")
    line = result.stdout.strip().splitlines()[-1]
    return int(line.split(":", 1)[1].split()[0])  # "ingest: N uploaded, ..."


def count_objects(server: EmbeddedServer, collection: str) -> int:
    from irods.column import Like
    from irods.models import Collection, DataObject

    with iRODSSession(irods_env_file=str(server.env_file),
                      irods_authentication_file=str(server.auth_file)) as session:
        rows = session.query(DataObject.name).filter(Like(Collection.name, f"{collection}/%"))
        return len(list(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of 5,000 small files and of 4 x 128 MiB")
    parser.add_argument("--rtt-ms", type=float, default=10.0,
                        help="added delay per reply for the WAN row (0: loopback only)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ingest.json"))
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as temporary:
        work = Path(temporary)
        local = work / "study"
        files, size = make_dataset(local, args.scale)
        print(f"data set: {files} files, {size / 1e6:.1f} MB (scale {args.scale})")
        links = [("loopback", 0.0)] + ([("wan", args.rtt_ms)] if args.rtt_ms > 0 else [])
        with EmbeddedServer(work / "zone") as server:
            for link, rtt in links:
                server.set_faults(f"delay_ms={rtt}" if rtt else "")
                timings: dict[str, float] = {}
                for tool in ("baseline", "ingest"):
                    collection = f"{server.home}/{link}-{tool}"
                    started = time.perf_counter()
                    if tool == "baseline":
                        done = baseline(server, local, collection)
                    else:
                        done = ingest(server, local, collection, work / "state", work / "logs")
                    seconds = time.perf_counter() - started
                    server.set_faults("")
                    stored = count_objects(server, collection)
                    server.set_faults(f"delay_ms={rtt}" if rtt else "")
                    if done != files or stored != files:
                        raise RuntimeError(f"{tool} on {link}: {done} done, {stored} stored, "
                                           f"{files} expected")
                    timings[tool] = seconds
                    rows.append({"link": link, "rtt_ms": rtt, "tool": tool, "files": files,
                                 "MB": size / 1e6, "seconds": seconds,
                                 "files_per_s": files / seconds, "MBps": size / 1e6 / seconds})
                for row in rows:
                    if row["link"] == link:
                        row["speedup_vs_baseline"] = timings["baseline"] / row["seconds"]
            server.set_faults("")
    print_table("ingest -nw -r --verify-checksum vs. mango-ingest style sequential upload", rows,
                [("link", "link"), ("rtt_ms", "rtt ms"), ("tool", "tool"), ("files", "files"),
                 ("MB", "MB"), ("seconds", "seconds"), ("files_per_s", "files/s"),
                 ("MBps", "MB/s"), ("speedup_vs_baseline", "x baseline")])
    write_json(args.out, {"machine": machine_info(), "scale": args.scale, "files": files,
                          "bytes": size, "rows": rows})


if __name__ == "__main__":
    main()
