"""Helpers shared by the benchmarks: timing, machine info, table printing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    import irods

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python_irodsclient": getattr(irods, "__version__", "?"),
    }


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float], size: int) -> dict[str, Any]:
    median = statistics.median(seconds)
    return {"runs_s": seconds, "min_s": min(seconds), "median_s": median, "max_s": max(seconds),
            "bytes": size, "MBps_median": size / median / 1e6}


def print_table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    widths = [max(len(header), *(len(_cell(row, key)) for row in rows)) for key, header in columns]
    print(f"\n{title}")
    print("  ".join(header.ljust(width) for (_, header), width in zip(columns, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(_cell(row, key).ljust(width) for (key, _), width in zip(columns, widths, strict=True)))


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "")
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {path}")
