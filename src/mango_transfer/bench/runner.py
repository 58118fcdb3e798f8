"""Times every (scenario, tool, link) cell and returns raw runs; ``report`` summarizes them.

Rates, not totals, are compared: a sequential baseline at 10 ms RTT would need an hour for
10,000 files, so it runs on a sample (``sample`` files) and its files/s is what counts.  The
engine always moves the whole dataset.
"""

from __future__ import annotations

import functools
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anyio

from ..engine import download, upload
from ..engine.options import TransferOptions
from . import baselines, datasets
from .targets import Target

MIB = 1 << 20
GIB = 1 << 30
SWEEP_SEED_SAMPLE = 100  # seed-loop files per RTT point: ~30 s a run at 30 ms


def sweep_link(rtt_ms: float) -> str:
    """The link name of one RTT-sweep point, e.g. ``rtt=10ms``."""
    return f"rtt={rtt_ms:g}ms"


@dataclass
class Run:
    scenario: str
    tool: str
    link: str
    rtt_ms: float
    seconds: float
    files: int
    bytes: int
    threads: int | None = None
    peak_rss_mb: float | None = None
    note: str = ""
    error: str = ""  # a baseline that failed: its one-line reason (the run counts no files)


def failure_line(exc: BaseException) -> str:
    """One line saying how a baseline failed: its exit status or signal and last error line."""
    if isinstance(exc, subprocess.CalledProcessError):
        program = Path(str(exc.cmd[0] if isinstance(exc.cmd, (list, tuple)) else exc.cmd)).name
        if exc.returncode < 0:
            try:
                how = f"died with {signal.Signals(-exc.returncode).name}"
            except ValueError:
                how = f"died with signal {-exc.returncode}"
        else:
            how = f"exited {exc.returncode}"
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
        return f"{program} {how}" + (f": {last}" if last else "")
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclass
class BenchConfig:
    workdir: Path
    scale: float = 1.0
    repeat: int = 3
    rtt_ms: float = 10.0
    threads: int = 16
    sample: int = 500
    scenarios: tuple[str, ...] = ()
    kills: int = 10
    processes: int | None = None  # engine --processes; None: the engine's own default
    baselines: frozenset[str] | None = None  # None: every baseline available
    progress: Callable[[str], None] = print
    runs: list[Run] = field(default_factory=list)
    extras: dict[str, object] = field(default_factory=dict)

    def n(self, full: int, minimum: int) -> int:
        return max(minimum, int(full * self.scale))


def _engine(target: Target, up: bool, local: Path, remote: str, **options: object) -> int:
    opts = TransferOptions(**options)  # type: ignore[arg-type]
    call = upload if up else download
    args = (str(local), remote) if up else (remote, str(local))
    stats = anyio.run(functools.partial(call, *args, opts, environ=target.environ))
    snap = stats.snapshot()
    if snap.files_failed:
        raise RuntimeError(f"engine run failed for {snap.files_failed} files: "
                           f"{[f.reason for f in stats.failures[:3]]}")
    return snap.files_new + snap.files_changed


class Bench:
    def __init__(self, config: BenchConfig, target: Target) -> None:
        self.config, self.target = config, target
        self.data = config.workdir / "data"
        self.scratch = config.workdir / "scratch"

    # -- helpers --------------------------------------------------------------------------
    def _options(self, **overrides: object) -> dict[str, object]:
        """The engine options of every run: ``--threads``, and ``--processes`` when given."""
        options: dict[str, object] = {"threads": self.config.threads}
        if self.config.processes is not None:
            options["processes"] = self.config.processes
        return {**options, **overrides}

    def _time(self, scenario: str, tool: str, link: str, action: Callable[[], int],
              size_per_file: float, **extra: object) -> None:
        """Repeat one cell.  A baseline that fails is recorded as failed, with its reason, and
        the bench goes on; the engine failing (or the bench's own tools) stops it.  A baseline
        left out by ``--baselines`` is not run at all."""
        survivable = not tool.startswith("engine") and tool != "cp"
        chosen = self.config.baselines
        if chosen is not None and tool in baselines.DESCRIPTIONS and tool not in chosen:
            return
        for attempt in range(self.config.repeat):
            started = time.perf_counter()
            try:
                files = action()
            except Exception as exc:  # noqa: BLE001 - any baseline failure is reported, not fatal
                if not survivable:
                    raise
                reason = failure_line(exc)
                self.config.runs.append(Run(scenario, tool, link, self.target.rtt_ms,
                                            time.perf_counter() - started, 0, 0, error=reason))
                self.config.progress(f"  {scenario:16} {link:9} {tool:14} FAILED: {reason}")
                return
            seconds = time.perf_counter() - started
            run = Run(scenario, tool, link, self.target.rtt_ms, seconds, files,
                      int(files * size_per_file), **extra)  # type: ignore[arg-type]
            self.config.runs.append(run)
            self.config.progress(f"  {scenario:16} {link:9} {tool:14} run {attempt + 1}: "
                                 f"{seconds:7.2f} s  {files} files")

    def _local_out(self) -> Path:
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        return self.scratch

    def dataset(self, name: str) -> datasets.Dataset:
        root = self.data / name
        config = self.config
        if root.exists():
            files, size = datasets.tree_size(root)
            return datasets.Dataset(name, root, files, size)
        if name == "small":
            return datasets.small_files(root, config.n(10_000, 20))
        if name == "large":
            return datasets.large_file(root, config.n(2 * GIB, 8 * MIB))
        if name == "study":
            return datasets.bids_study(root, config.n(3000, 30), 8, config.n(256 * MIB, MIB))
        if name == "noop":
            return datasets.small_files(root, config.n(100_000, 50), size=64)
        raise ValueError(name)

    # -- upload and download of a dataset by every tool -----------------------------------
    def upload_scenario(self, scenario: str, name: str, link: str, sample: int | None = None,
                        others: bool = True) -> None:
        """Engine, then the seed loop (many files) or PRC (one file), then iBridges/iCommands.

        ``sample`` overrides ``--sample`` for the seed loop; ``others=False`` leaves out the
        optional tools (the RTT sweep: iBridges moves the whole dataset, an hour at 30 ms).
        """
        data = self.dataset(name)
        per_file = data.bytes / max(data.files, 1)
        target = self.target
        sample = self.config.sample if sample is None else sample

        def engine() -> int:
            return _engine(target, True, data.root, target.fresh_collection(scenario),
                           **self._options())

        def seed() -> int:
            with target.session() as session:
                return baselines.seed_upload(session, data.root, target.fresh_collection(scenario),
                                             limit=sample)

        def prc() -> int:
            with target.session() as session:
                return baselines.prc_put(session, data.root, target.fresh_collection(scenario))

        def parallel() -> int:
            return baselines.prc_parallel_put(target.env_file, target.auth_file, data.root,
                                              target.fresh_collection(scenario))

        self._time(scenario, "engine", link, engine, per_file, threads=self.config.threads)
        if data.files > 1:
            self._time(scenario, "seed_upload", link, seed, per_file)
            if others and scenario == "small_upload":
                self._time(scenario, "prc_4proc", link, parallel, per_file)
        else:
            self._time(scenario, "prc", link, prc, per_file)
        if others:
            self._optional_tools(scenario, link, data, per_file, upload=True)

    def rtt_sweep(self, rtts: Sequence[float]) -> None:
        """Small-files upload by the engine and the seed loop at every RTT: files/s vs RTT.

        The seed loop pays its round trips per file one after the other (about 0.3 s a file at
        30 ms), so it moves at most ``SWEEP_SEED_SAMPLE`` files per point; rates are compared.
        """
        sample = min(self.config.sample, SWEEP_SEED_SAMPLE)
        for rtt in rtts:
            self.target.set_rtt(rtt)
            self.upload_scenario("small_upload", "small", sweep_link(rtt), sample=sample,
                                 others=False)

    def download_scenario(self, scenario: str, name: str, link: str) -> None:
        data = self.dataset(name)
        per_file = data.bytes / max(data.files, 1)
        target, sample = self.target, self.config.sample
        source = f"{target.scratch}/{scenario}-source"
        with target.session() as session:
            exists = session.collections.exists(source)
        if not exists:
            _engine(target, True, data.root, source, **self._options())

        def engine() -> int:
            return _engine(target, False, self._local_out(), source, **self._options())

        def seed() -> int:
            with target.session() as session:
                return baselines.seed_download(session, source, self._local_out(), limit=sample)

        def prc() -> int:
            with target.session() as session:
                return baselines.prc_get(session, source, self._local_out())

        self._time(scenario, "engine", link, engine, per_file, threads=self.config.threads)
        self._time(scenario, "seed_download" if data.files > 1 else "prc", link,
                   seed if data.files > 1 else prc, per_file)
        self._optional_tools(scenario, link, data, per_file, upload=False, source=source)

    def _optional_tools(self, scenario: str, link: str, data: datasets.Dataset, per_file: float,
                        upload: bool, source: str = "") -> None:
        """iBridges and iCommands, when installed: the same run, only the tool differs."""
        target = self.target
        tools: list[tuple[str, Callable[[Path, str], None]]] = []
        if baselines.ibridges_available():
            tools.append(("ibridges", lambda local, remote: baselines.ibridges_transfer(
                target.env_file, local, remote, upload)))
        if baselines.icommands_available():
            for variant, commands in baselines.ICOMMANDS.items():
                if commands[0 if upload else 1] is None or (variant != "icommands"
                                                            and data.files == 1):
                    continue  # bulk has no download; the tree variants need a tree
                tools.append((variant, functools.partial(
                    _icommands, target.environ, upload=upload, variant=variant)))
        for name, transfer in tools:
            def run(transfer: Callable[[Path, str], None] = transfer) -> int:
                remote = target.fresh_collection(scenario) if upload else source
                transfer(data.root if upload else self._local_out(), remote)
                return data.files

            self._time(scenario, name, link, run, per_file)

    # -- the physical limits -------------------------------------------------------------
    def limits(self, name: str) -> None:
        data = self.dataset(name)
        per_file = data.bytes / max(data.files, 1)

        def copy() -> int:
            out = self._local_out() / "copy"
            subprocess.run(["cp", "-r", str(data.root), str(out)], check=True)
            return data.files

        self._time(f"{name}_limit", "cp", "local", copy, per_file)
        self._time(f"{name}_limit", "socket", "loopback",
                   lambda: loopback_copy(data.root, data.bytes) and data.files, per_file)

    # -- special scenarios -----------------------------------------------------------------
    def noop_resync(self, link: str) -> None:
        data = self.dataset("noop")
        remote = f"{self.target.scratch}/noop-tree"
        with self.target.session() as session:
            present = session.collections.exists(remote)
        if not present:
            _engine(self.target, True, data.root, remote, **self._options())

        def again() -> int:
            _engine(self.target, True, data.root, remote, **self._options())
            return data.files

        self._time("noop_resync", "engine", link, again, 0, threads=self.config.threads)

    def verify_cost(self, link: str) -> None:
        data = self.dataset("study")
        per_file = data.bytes / data.files
        for verify in (False, True):
            tool = "engine+verify" if verify else "engine"

            def run(verify: bool = verify) -> int:
                return _engine(self.target, True, data.root, self.target.fresh_collection("verify"),
                               **self._options(), verify=verify)

            self._time("verify", tool, link, run, per_file, threads=self.config.threads)

    def threads_sweep(self, link: str) -> None:
        data = self.dataset("small")
        per_file = data.bytes / data.files
        for threads in (1, 4, 8, 16, 32):
            def run(threads: int = threads) -> int:
                return _engine(self.target, True, data.root,
                               self.target.fresh_collection("threads"),
                               **self._options(threads=threads))

            self._time("threads", f"engine@{threads}", link, run, per_file, threads=threads)

    def processes_sweep(self, link: str) -> None:
        """Small-files upload by the engine with one and with two worker processes, same run."""
        data = self.dataset("small")
        per_file = data.bytes / data.files
        for processes in (1, 2):
            def run(processes: int = processes) -> int:
                return _engine(self.target, True, data.root,
                               self.target.fresh_collection("processes"),
                               **self._options(processes=processes))

            self._time("processes", f"engine@p{processes}", link, run, per_file,
                       threads=self.config.threads)

    def walk(self, link: str, register: Callable[[str, int], None]) -> None:
        """Peak RSS of a dry-run download (a full remote walk) in a child process (POSIX's
        getrusage: imported here, so the bench loads on Windows too)."""
        import resource
        entries = self.config.n(1_000_000, 2000)
        collection = f"{self.target.scratch}/walk-{entries}"
        register(collection, entries)
        command = [sys.executable, "-m", "mango_transfer", "download", "--dry-run", "--quiet",
                   collection, str(self._local_out())]
        for attempt in range(self.config.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.perf_counter()
            subprocess.run(command, check=True, env={**_environ(), **self.target.environ},
                           stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            run = Run("walk", "engine", link, self.target.rtt_ms, seconds, entries, 0,
                      peak_rss_mb=max(peak, before) / 1024)
            self.config.runs.append(run)
            self.config.progress(f"  walk             {link:9} engine         run {attempt + 1}: "
                                 f"{seconds:7.2f} s  {entries} entries, peak RSS {run.peak_rss_mb:.0f} MB")


    def soak(self, link: str) -> None:
        """The kill soak (see ``soak.py``); its verdict goes into results.json under "soak"."""
        from .soak import soak

        started = time.perf_counter()
        result = soak(self.target.environ, self.config.workdir / "soak",
                      self.target.fresh_collection("soak") + "/tree", self.config.kills)
        seconds = time.perf_counter() - started
        self.config.extras["soak"] = result.as_dict()
        self.config.runs.append(Run("soak", "engine", link, self.target.rtt_ms, seconds,
                                    result.files, 0, note="ok" if result.ok else "FAILED"))
        self.config.progress(f"  soak             {link:9} engine         "
                             f"{result.kills_upload}+{result.kills_download} kills survived: "
                             f"{'ok' if result.ok else 'FAILED'} ({seconds:.0f} s)")
        if not result.ok:
            raise RuntimeError(f"soak found lost or inconsistent data: {result.as_dict()}")


def _icommands(env: dict[str, str], local: Path, remote: str, *, upload: bool,
               variant: str) -> None:
    baselines.icommands_transfer(env, local, remote, upload, variant)


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def loopback_copy(root: Path, total: int) -> bool:
    """Send ``total`` bytes over a loopback TCP socket: what the NIC-free link could carry."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = [0]

    def sink() -> None:
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(4 * MIB):
                received[0] += len(chunk)

    thread = threading.Thread(target=sink)
    thread.start()
    block = b"\0" * (4 * MIB)
    with socket.create_connection(("127.0.0.1", port)) as client:
        remaining = total
        while remaining > 0:
            client.sendall(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))
    thread.join()
    server.close()
    return received[0] == total


def runs_as_dicts(runs: list[Run]) -> list[dict[str, object]]:
    return [asdict(run) for run in runs]
