"""Summaries of the raw runs: medians, throughput, and the engine's ratio to every baseline.

Ratios are computed from rates (files/s for many-file scenarios, MB/s for single large files),
within one link profile of one run: the machine is shared and noisy, absolute seconds are not
comparable between runs, ratios are.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runner import Run, sweep_link

BASELINES = ("seed_upload", "seed_download", "prc", "prc_4proc", "ibridges", "icommands", "icommands_r",
             "icommands_bulk", "irsync")
SWEEP_TOOLS = ("engine", "seed_upload")  # the tools the files/s-vs-RTT curve compares


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.scenario, run.link, run.tool)].append(run)
    rows = []
    for (scenario, link, tool), all_members in groups.items():
        members = [run for run in all_members if not run.error]
        if not members:
            rows.append(_failed_row(all_members[0]))
            continue
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


def _failed_row(run: Run) -> dict[str, Any]:
    """A baseline that could not run: no rates, its reason in ``failed``."""
    return {"scenario": run.scenario, "link": run.link, "tool": run.tool, "rtt_ms": run.rtt_ms,
            "runs": 0, "min_s": 0.0, "median_s": 0.0, "max_s": 0.0, "files": 0, "bytes": 0,
            "files_per_s": 0.0, "MBps": 0.0, "peak_rss_mb": None, "failed": run.error}


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
    for row in sorted(rows, key=lambda r: (r["scenario"], r["rtt_ms"], r["link"],
                                                r["tool"] != "engine", r["tool"])):
        notes = ", ".join(f"{rate:.1f}x {name}" for name, rate in row.get("ratios", {}).items())
        if "pct_of_cp" in row:
            notes += (", " if notes else "") + f"{row['pct_of_cp']:.0f}% of cp"
        if "verify_cost_pct" in row:
            notes += f"verify costs {row['verify_cost_pct']:+.0f}%"
        if row.get("peak_rss_mb") is not None:
            notes += f"peak RSS {row['peak_rss_mb']:.0f} MB"
        if "failed" in row:
            lines.append([row["scenario"], row["link"], row["tool"], "-", "-", "-",
                          f"FAILED: {row['failed']}"])
            continue
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
    cells = [r for r in rows if not r["scenario"].endswith("_limit") and "failed" not in r
             and r["scenario"] not in ("threads", "processes", "walk", "noop_resync")]
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
    rtt = [r for r in rows if r["scenario"] == "small_upload" and r["tool"] in SWEEP_TOOLS]
    if rtt:
        written.append(_plot_rtt(plt, rtt, out / "rtt.png"))
    return written


def _plot_rtt(plt: Any, rows: list[dict[str, Any]], path: Path) -> Path:
    """files/s vs RTT per tool (every link or sweep point), bars from the fastest to the slowest run."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for tool in SWEEP_TOOLS:
        points = sorted((r for r in rows if r["tool"] == tool), key=lambda r: r["rtt_ms"])
        if not points:
            continue
        rates = [r["files_per_s"] for r in points]
        low = [rate - r["files"] / r["max_s"] if r["max_s"] else 0.0 for rate, r in zip(rates, points, strict=True)]
        high = [r["files"] / r["min_s"] - rate if r["min_s"] else 0.0 for rate, r in zip(rates, points, strict=True)]
        axis.errorbar([r["rtt_ms"] for r in points], rates, yerr=[low, high], marker="o", capsize=3,
                      label=f"{tool} ({points[0]['files']} files per run)")
    axis.set_xlabel("round-trip time (ms)")
    axis.set_ylabel("files/s (small files upload, median)")
    axis.set_yscale("log")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return _save(figure, path)


def rtt_sweep_section(runs: list[Run], rtts: Sequence[float]) -> dict[str, Any]:
    """results.json's ``rtt_sweep``: per tool, per RTT (ms, as text), files/s over the repeats.

    Computed from the runs themselves, not from median seconds, so min/median/max are those of
    the rates the plot and the table show.
    """
    tools: dict[str, dict[str, dict[str, Any]]] = {}
    for tool in SWEEP_TOOLS:
        points = {f"{rtt:g}": _rate_stats([r for r in runs if r.scenario == "small_upload"
                                           and r.link == sweep_link(rtt) and r.tool == tool])
                  for rtt in rtts}
        tools[tool] = {key: point for key, point in points.items() if point}
    engine, seed = tools["engine"], tools["seed_upload"]
    ratios = {key: engine[key]["files_per_s"]["median"] / seed[key]["files_per_s"]["median"]
              for key in engine if key in seed and seed[key]["files_per_s"]["median"] > 0}
    return {"scenario": "small_upload", "rtt_ms": list(rtts), "tools": tools,
            "engine_over_seed": ratios}


def _rate_stats(runs: list[Run]) -> dict[str, Any]:
    rates = [run.files / run.seconds for run in runs if run.seconds > 0 and not run.error]
    if not rates:
        return {}
    stats: dict[str, Any] = {"runs": len(rates), "files": runs[0].files}
    if runs[0].threads is not None:
        stats["threads"] = runs[0].threads
    stats["files_per_s"] = {"min": min(rates), "median": statistics.median(rates), "max": max(rates)}
    return stats


def sweep_table(section: dict[str, Any]) -> str:
    """The sweep as a small text table: median files/s [min-max] per tool and the ratio."""
    tools = section["tools"]
    lines = ["RTT sweep, small files upload: files/s, median [min-max] over the repeats",
             f"{'RTT ms':>7}  " + "  ".join(f"{tool:>22}" for tool in SWEEP_TOOLS) + "  engine/seed"]
    for rtt in section["rtt_ms"]:
        key = f"{rtt:g}"
        cells = [_rate_cell(tools[tool].get(key)) for tool in SWEEP_TOOLS]
        ratio = section["engine_over_seed"].get(key)
        lines.append(f"{key:>7}  " + "  ".join(f"{cell:>22}" for cell in cells)
                     + (f"  {ratio:10.1f}x" if ratio else ""))
    return "\n".join(lines)


def _rate_cell(point: dict[str, Any] | None) -> str:
    if not point:
        return "-"
    rate = point["files_per_s"]
    return f"{rate['median']:.1f} [{rate['min']:.1f}-{rate['max']:.1f}]"


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path
