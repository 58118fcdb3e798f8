"""Throughput of the embedded server: python-irodsclient put/get of one large file with
num_threads 1 and 4, next to ``cp`` of the same file on the same disk (the physical limit).

    python benchmarks/server_throughput.py [--size-mib 1024] [--repeat 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import machine_info, print_table, summary, timed, write_json
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer, ServerProcess


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for _ in range(size >> 20):
            handle.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--in-process", action="store_true",
                        help="run the server on a thread of this process (shares the GIL with PRC)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as temp:
        work = Path(temp)
        source = work / "source.bin"
        make_file(source, size)
        rows = []
        rows.append({"case": "cp (same disk)", **summary(
            timed(lambda: subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True),
                  args.repeat), size)})
        server_cm = (EmbeddedServer(work / "zone") if args.in_process
                     else ServerProcess(work / "zone", work / "client"))
        with server_cm as server:
            with iRODSSession(irods_env_file=str(server.env_file),
                              irods_authentication_file=str(server.auth_file)) as session:
                target = "/tempZone/home/rods/big.bin"
                for threads in (1, 4):
                    rows.append({"case": f"PRC put num_threads={threads}", **summary(timed(
                        lambda t=threads: session.data_objects.put(str(source), target, num_threads=t),
                        args.repeat), size)})
                back = work / "back.bin"
                for threads in (1, 4):
                    rows.append({"case": f"PRC get num_threads={threads}", **summary(timed(
                        lambda t=threads: session.data_objects.get(target, str(back), num_threads=t,
                                                                   **{"forceFlag": ""}),
                        args.repeat), size)})
                    back.unlink()
        limit = rows[0]["MBps_median"]
        for row in rows:
            row["pct_of_cp"] = 100.0 * row["MBps_median"] / limit
        where = "in-process" if args.in_process else "subprocess"
        print_table(f"server throughput ({where}), {args.size_mib} MiB file, median of {args.repeat}", rows,
                    [("case", "case"), ("MBps_median", "MB/s"), ("median_s", "median s"),
                     ("pct_of_cp", "% of cp")])
        write_json(args.out / "server_throughput.json",
                   {"machine": machine_info(), "server": where, "size_bytes": size, "repeat": args.repeat, "rows": rows})
        shutil.rmtree(work / "zone", ignore_errors=True)


if __name__ == "__main__":
    main()
