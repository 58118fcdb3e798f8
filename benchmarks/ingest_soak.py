"""The ingest outage soak, by hand: watch mode for N minutes while a writer adds files and the
embedded server is stopped and started again every 60 s on the same data folder and port.

    python3 benchmarks/ingest_soak.py --minutes 10 [--restart-every 60] [--down 5] \\
        [--write-every 0.1] [--large-every 200] [--out benchmarks/figures/ingest-soak.json]

Prints the figures (files, restarts, duration, resident memory of the watcher at the start,
end and peak) and writes them as JSON; exits 1 when anything was lost, doubled or differs.
The loop itself is ``mango_transfer.bench.ingest_soak`` (a 24 s version runs in the tests).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from mango_transfer.bench.ingest_soak import ingest_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--restart-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--down", type=float, default=5.0, help="seconds the server is away")
    parser.add_argument("--write-every", type=float, default=0.1, help="seconds between files")
    parser.add_argument("--large-every", type=int, default=200,
                        help="every Nth file is large (40 MiB, parallel ranges); 0: none")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingest-soak-"))
    result = ingest_soak(workdir, seconds=args.minutes * 60, restart_every=args.restart_every,
                         down_for=args.down, write_every=args.write_every,
                         large_every=args.large_every, catch_up=600, notice=print)
    figures = result.as_dict()
    figures["rss_samples_mb"] = [[round(at, 1), round(mb, 1)] for at, mb in result.rss_mb]
    print(f"files {result.files} ({result.bytes / 1e6:.1f} MB), restarts {result.restarts}, "
          f"writing {result.seconds:.0f} s + catching up {result.catch_up_seconds:.0f} s; "
          f"watcher RSS {result.rss_start_mb:.1f} MB after warm-up → {result.rss_end_mb:.1f} MB "
          f"at the end, peak {result.peak_rss_mb:.1f} MB; missing {len(result.missing)}, "
          f"extra {len(result.extra)}, different {len(result.different)}, replicas not good "
          f"{result.replicas_not_good}, extra replicas {result.extra_replicas}, log failed "
          f"{result.log_failed} / pending {result.log_pending}, outages logged "
          f"{result.outages_logged}, exit {result.exit_code}: {'OK' if result.ok else 'FAILED'}")
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
