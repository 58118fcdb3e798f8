"""CPU seconds of one command and of the server processes that serve it, in the same run.

    python benchmarks/cpu_probe.py --group irods=irodsServer,irodsAgent --group pg=postgres \
        -- mango-transfer upload ./tree /tempZone/home/u/tree

Each ``--group NAME=PATTERN[,PATTERN...]`` names processes by their command name (``comm``) or,
for a pattern with a space or a slash, by a substring of their command line.  A group's CPU is
the growth, over the run, of the user + system time of its processes alive at the end,
counting the time of their reaped children (``/proc/PID/stat``, Linux only), read once before
the command and once ``--settle`` seconds after it (agents and backends exit when the client
disconnects and are reaped by their factory, whose reaped-children time then holds theirs;
counting the agents seen during the run as well would count them twice).  Other clients of the
same server are counted too: run it on a quiet server.  The command's own CPU is its rusage.
Prints one JSON object: wall seconds, the command's CPU and every group's CPU, each also as a
share of one core over the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, str, float] | None:
    """(comm, cmdline, CPU seconds of the process and its reaped children) or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    comm = raw[raw.index("(") + 1: raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(fields[index]) for index in (11, 12, 13, 14))
    return comm, cmdline, (utime + stime + cutime + cstime) / TICKS


def _matches(patterns: list[str], comm: str, cmdline: str) -> bool:
    return any((pattern in cmdline) if (" " in pattern or "/" in pattern) else comm == pattern
               for pattern in patterns)


def _sample(groups: dict[str, list[str]], skip: int) -> dict[str, dict[int, float]]:
    """Per group, the CPU seconds (own + reaped children) of every matching live process."""
    seen: dict[str, dict[int, float]] = {name: {} for name in groups}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == skip:
            continue
        stat = _stat(int(entry))
        if stat is None:
            continue
        comm, cmdline, cpu = stat
        for name, patterns in groups.items():
            if _matches(patterns, comm, cmdline):
                seen[name][int(entry)] = cpu
    return seen


def _parse_groups(specs: list[str]) -> dict[str, list[str]]:
    groups = {}
    for spec in specs:
        name, _, patterns = spec.partition("=")
        if not name or not patterns:
            raise SystemExit(f"--group {spec!r}: expected NAME=PATTERN[,PATTERN...]")
        groups[name] = [pattern for pattern in patterns.split(",") if pattern]
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", default=[], metavar="NAME=PATTERNS")
    parser.add_argument("--settle", type=float, default=1.5)
    parser.add_argument("--label", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    groups = _parse_groups(args.group)
    before = _sample(groups, os.getpid())
    started = time.perf_counter()
    returncode = subprocess.run(command, check=False).returncode
    wall = time.perf_counter() - started
    time.sleep(args.settle)
    after = _sample(groups, os.getpid())
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = usage.ru_utime + usage.ru_stime
    result: dict[str, object] = {"label": args.label, "command": command, "exit": returncode,
                                 "wall_s": round(wall, 3), "client_cpu_s": round(client, 3),
                                 "client_core_share": round(client / wall, 3)}
    for name in groups:
        cpu = sum(value - before[name].get(pid, 0.0) for pid, value in after[name].items())
        result[f"{name}_cpu_s"] = round(cpu, 3)
        result[f"{name}_core_share"] = round(cpu / wall, 3)
    print(json.dumps(result))
    return returncode


if __name__ == "__main__":
    sys.exit(main())
