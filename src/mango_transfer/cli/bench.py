"""``mango-transfer bench``: throughput of the engine and of the alternatives, side by side."""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import click

from .. import __version__
from ..bench import baselines
from ..bench.report import plot, rtt_sweep_section, summarize, sweep_table, table, write_json
from ..bench.runner import SWEEP_SEED_SAMPLE, Bench, BenchConfig, runs_as_dicts
from ..bench.targets import embedded_target, zone_target

ALL_SCENARIOS = ("small_upload", "small_download", "large_upload", "large_download", "study_upload",
                 "study_download", "noop_resync", "verify", "threads", "processes", "walk", "limits",
                 "soak")
# Opt-in: soak is reliability; processes compares worker counts, not tools.
DEFAULT_SCENARIOS = tuple(s for s in ALL_SCENARIOS if s not in ("soak", "processes"))
LINK_SENSITIVE = {"small_upload", "small_download", "large_upload", "large_download", "study_upload",
                  "study_download"}


@click.command()
@click.option("--env", "env_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Benchmark this zone (a scratch collection is created and removed).")
@click.option("--embedded", is_flag=True, help="Use the embedded server (the default).")
@click.option("--collection", help="Parent of the scratch collection on --env zones.")
@click.option("--scenarios", default=",".join(DEFAULT_SCENARIOS), show_default=True,
              help="Comma-separated subset of: " + ", ".join(ALL_SCENARIOS) + ".")
@click.option("--kills", type=int, default=10, show_default=True,
              help="soak: SIGKILLs of the CLI during upload and again during download.")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Dataset size factor: 1 = the full sizes, 0.001 = a smoke run.")
@click.option("--repeat", type=int, default=3, show_default=True)
@click.option("--rtt-ms", type=float, default=10.0, show_default=True,
              help="Emulated WAN round trip (embedded server delays every reply); 0 = loopback only.")
@click.option("--rtt-sweep", "rtt_sweep", callback=lambda _ctx, _param, value: _parse_rtts(value),
              metavar="MS[,MS...]",
              help="Also measure small-files upload (engine and seed loop) at each of these RTTs, "
                   "for the files/s-vs-RTT curve; replaces small_upload's two links. The seed loop "
                   f"moves min(--sample, {SWEEP_SEED_SAMPLE}) files per point.")
@click.option("--threads", type=int, default=16, show_default=True, help="Engine --threads.")
@click.option("--processes", type=int, default=None,
              help="Engine --processes (default: the engine's own choice for this machine).")
@click.option("--sample", type=int, default=500, show_default=True,
              help="Files the sequential baselines move (their rate is what is compared).")
@click.option("--baselines", "baseline_names", metavar="NAME[,NAME...]",
              help="Run only these baselines (default: every one available): "
                   + ", ".join(baselines.DESCRIPTIONS) + ". The engine always runs.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
def bench(env_file: Path | None, embedded: bool, collection: str | None, scenarios: str,
          kills: int, scale: float, repeat: int, rtt_ms: float, rtt_sweep: tuple[float, ...],
          threads: int, processes: int | None, sample: int, baseline_names: str | None,
          out: Path) -> None:
    """Measure throughput of mango-transfer and of the tools it replaces, as ratios in one run."""
    chosen = tuple(s.strip() for s in scenarios.split(",") if s.strip())
    only = _parse_baselines(baseline_names)
    unknown = [s for s in chosen if s not in ALL_SCENARIOS]
    if unknown:
        raise click.BadParameter(f"unknown scenario(s) {', '.join(unknown)}; choose from "
                                 f"{', '.join(ALL_SCENARIOS)}", param_hint="--scenarios")
    if env_file and embedded:
        raise click.UsageError("--env and --embedded exclude each other")
    if scale <= 0 or repeat < 1 or kills < 0:
        raise click.UsageError("--scale must be > 0, --repeat at least 1 and --kills at least 0")
    if processes is not None and processes < 0:
        raise click.UsageError("--processes must be 0 (automatic) or more")
    if rtt_sweep and env_file:
        raise click.UsageError("--rtt-sweep needs the embedded server; a real zone has its own RTT")
    started = time.time()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mango-bench-")))
        target = stack.enter_context(zone_target(env_file, collection) if env_file
                                     else embedded_target(workdir))
        config = BenchConfig(workdir=workdir, scale=scale, repeat=repeat, rtt_ms=rtt_ms,
                             threads=threads, sample=sample, scenarios=chosen, kills=kills,
                             baselines=only, processes=processes,
                             progress=lambda line: click.echo(line, err=True))
        runner = Bench(config, target)
        links = [("loopback", 0.0)] + ([("wan", rtt_ms)] if rtt_ms and not env_file else [])
        if env_file:
            links = [("zone", 0.0)]
        per_link = tuple(s for s in chosen if not (rtt_sweep and s == "small_upload"))
        for link, rtt in links if per_link else []:
            target.set_rtt(rtt)
            _run_link(runner, per_link, link, first=link == links[0][0])
        if rtt_sweep:
            runner.rtt_sweep(rtt_sweep)
        target.set_rtt(0)
    rows = summarize(config.runs)
    click.echo(table(rows))
    if rtt_sweep:
        config.extras["rtt_sweep"] = section = rtt_sweep_section(config.runs, rtt_sweep)
        click.echo(sweep_table(section))
    payload = {
        "started": started, "finished": time.time(), "version": __version__,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor()},
        "config": {"scale": scale, "repeat": repeat, "rtt_ms": rtt_ms, "threads": threads,
                   "processes": processes if processes is not None else "engine default",
                   "sample": sample, "scenarios": list(chosen),
                   "baselines": sorted(only) if only is not None else "all available",
                   **({"rtt_sweep_ms": list(rtt_sweep),
                       "rtt_sweep_seed_sample": min(sample, SWEEP_SEED_SAMPLE)} if rtt_sweep else {}),
                   "target": str(env_file) if env_file else "embedded (subprocess)"},
        "baselines": baselines.DESCRIPTIONS, "runs": runs_as_dicts(config.runs), "summary": rows,
        **config.extras,
    }
    write_json(out / "results.json", payload)
    images = plot(rows, out)
    click.echo(f"wrote {out / 'results.json'}" + "".join(f", {image}" for image in images))


def _parse_baselines(value: str | None) -> frozenset[str] | None:
    """``seed_upload,prc`` -> those names, checked against the known baselines; None: all."""
    if value is None:
        return None
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(names - baselines.DESCRIPTIONS.keys())
    if unknown:
        raise click.BadParameter(f"unknown baseline(s) {', '.join(unknown)}; choose from "
                                 f"{', '.join(baselines.DESCRIPTIONS)}", param_hint="--baselines")
    return names


def _parse_rtts(value: str | None) -> tuple[float, ...]:
    """``0,2,5`` -> (0.0, 2.0, 5.0), sorted and without duplicates so the curve reads left to right."""
    if not value:
        return ()
    try:
        rtts = sorted({float(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected milliseconds like 0,2,5,10",
                                 param_hint="--rtt-sweep") from None
    if not rtts or rtts[0] < 0:
        raise click.BadParameter(f"{value!r}: expected one or more RTTs >= 0 ms",
                                 param_hint="--rtt-sweep")
    return tuple(rtts)


def _run_link(runner: Bench, chosen: tuple[str, ...], link: str, first: bool) -> None:
    for scenario in chosen:
        if scenario in LINK_SENSITIVE:
            dataset = scenario.split("_")[0]
            if scenario.endswith("upload"):
                runner.upload_scenario(scenario, dataset, link)
            else:
                runner.download_scenario(scenario, dataset, link)
        elif first and scenario == "limits":
            for dataset in _limit_datasets(chosen):
                runner.limits(dataset)
        elif first and scenario == "noop_resync":
            runner.noop_resync(link)
        elif first and scenario == "verify":
            runner.verify_cost(link)
        elif scenario == "threads":
            runner.threads_sweep(link)
        elif scenario == "processes":
            runner.processes_sweep(link)
        elif first and scenario == "walk":
            runner.walk(link, _registrar(runner))
        elif first and scenario == "soak":
            runner.soak(link)


def _limit_datasets(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """The datasets whose local limits (cp, loopback socket) are measured: those the chosen
    transfer scenarios move, or all three when only ``limits`` was asked for."""
    moved = {scenario.split("_")[0] for scenario in chosen if scenario in LINK_SENSITIVE}
    return tuple(name for name in ("small", "large", "study") if name in moved or not moved)


def _registrar(runner: Bench) -> Callable[[str, int], None]:
    """Register catalog entries with the server stopped (benchmark fixture), then restart it."""
    from ..server.fixtures import register_tree

    def register(collection: str, entries: int) -> None:
        server = runner.target.embedded
        if server is None:
            raise click.UsageError("the walk scenario needs the embedded server")
        server.stop()
        try:
            register_tree(server.data_dir, collection, entries)
        finally:
            server.start()

    return register
