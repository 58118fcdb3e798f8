"""Summaries of the raw runs: medians, throughput, and the engine's ratio to every baseline.

Ratios are computed from rates (files/s for many-file scenarios, MB/s for single large files),
within one link profile of one run: the machine is shared and noisy, absolute seconds are not
comparable between runs, ratios are.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from .runner import Run

BASELINES = ("seed_upload", "seed_download", "prc", "ibridges", "icommands")


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.scenario, run.link, run.tool)].append(run)
    rows = []
    for (scenario, link, tool), members in groups.items():
        seconds = [run.seconds for run in members]
        median = statistics.median(seconds)
        sample = members[0]
        rss = [run.peak_rss_mb for run in members if run.peak_rss_mb is not None]
        rows.append({
            "scenario": scenario, "link": link, "tool": tool, "rtt_ms": sample.rtt_ms,
            "runs": len(members), "min_s": min(seconds), "median_s": median, "max_s": max(seconds),
            "files": sample.files, "bytes": sample.bytes,
            "files_per_s": sample.files / median if median else 0.0,
            "MBps": sample.bytes / median / 1e6 if median else 0.0,
            "peak_rss_mb": max(rss) if rss else None,
        })
    _add_ratios(rows)
    return rows


def _rate(row: dict[str, Any]) -> float:
    return float(row["files_per_s"] if row["files"] > 1 else row["MBps"])


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    by_cell: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        by_cell[(row["scenario"], row["link"])][row["tool"]] = row
    for tools in by_cell.values():
        engine = tools.get("engine")
        if engine is None:
            continue
        engine["ratios"] = {name: _rate(engine) / _rate(other) for name, other in tools.items()
                            if name in BASELINES and _rate(other) > 0}
        plain = tools.get("engine")
        verified = tools.get("engine+verify")
        if plain and verified:
            verified["verify_cost_pct"] = 100.0 * (verified["median_s"] / plain["median_s"] - 1)
    limits = {row["scenario"].removesuffix("_limit"): row for row in rows
              if row["scenario"].endswith("_limit") and row["tool"] == "cp"}
    for row in rows:
        base = row["scenario"].split("_")[0]
        limit = limits.get(base)
        if limit and row["tool"] == "engine" and limit["MBps"] > 0:
            row["pct_of_cp"] = 100.0 * row["MBps"] / limit["MBps"]


def table(rows: list[dict[str, Any]]) -> str:
    header = ["scenario", "link", "tool", "median s", "MB/s", "files/s", "ratios / notes"]
    lines = []
    for row in sorted(rows, key=lambda r: (r["scenario"], r["link"], r["tool"] != "engine", r["tool"])):
        notes = ", ".join(f"{rate:.1f}x {name}" for name, rate in row.get("ratios", {}).items())
        if "pct_of_cp" in row:
            notes += (", " if notes else "") + f"{row['pct_of_cp']:.0f}% of cp"
        if "verify_cost_pct" in row:
            notes += f"verify costs {row['verify_cost_pct']:+.0f}%"
        if row.get("peak_rss_mb") is not None:
            notes += f"peak RSS {row['peak_rss_mb']:.0f} MB"
        lines.append([row["scenario"], row["link"], row["tool"], f"{row['median_s']:.2f}",
                      f"{row['MBps']:.1f}", f"{row['files_per_s']:.0f}", notes])
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def plot(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """PNG plots when matplotlib is installed (the ``plots`` extra); else nothing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    cells = [r for r in rows if not r["scenario"].endswith("_limit")
             and r["scenario"] not in ("threads", "walk", "noop_resync")]
    if cells:
        figure, axis = plt.subplots(figsize=(10, 5))
        labels = [f"{r['scenario']}\n{r['link']}\n{r['tool']}" for r in cells]
        axis.bar(range(len(cells)), [_rate(r) for r in cells],
                 color=["tab:green" if r["tool"].startswith("engine") else "tab:gray" for r in cells])
        axis.set_xticks(range(len(cells)), labels, fontsize=6, rotation=90)
        axis.set_ylabel("files/s (many files) or MB/s (one file)")
        axis.set_yscale("log")
        axis.set_title("throughput per tool and scenario")
        figure.tight_layout()
        written.append(_save(figure, out / "throughput.png"))
    sweep = sorted((r for r in rows if r["scenario"] == "threads"), key=lambda r: int(r["tool"].split("@")[1]))
    if sweep:
        figure, axis = plt.subplots(figsize=(6, 4))
        for link in sorted({r["link"] for r in sweep}):
            points = [r for r in sweep if r["link"] == link]
            axis.plot([int(r["tool"].split("@")[1]) for r in points], [r["files_per_s"] for r in points],
                      marker="o", label=link)
        axis.set_xlabel("--threads")
        axis.set_ylabel("files/s (small files upload)")
        axis.legend()
        figure.tight_layout()
        written.append(_save(figure, out / "threads.png"))
    rtt = [r for r in rows if r["scenario"] == "small_upload" and r["tool"] in ("engine", "seed_upload")]
    if rtt:
        figure, axis = plt.subplots(figsize=(6, 4))
        for tool in ("engine", "seed_upload"):
            points = sorted((r for r in rtt if r["tool"] == tool), key=lambda r: r["rtt_ms"])
            axis.plot([r["rtt_ms"] for r in points], [r["files_per_s"] for r in points], marker="o", label=tool)
        axis.set_xlabel("round-trip time (ms)")
        axis.set_ylabel("files/s")
        axis.set_yscale("log")
        axis.legend()
        figure.tight_layout()
        written.append(_save(figure, out / "rtt.png"))
    return written


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path
