"""What a transfer shows while it runs: a bar on a terminal, plain lines in a log, ``-v`` lines.

Everything is drawn from the engine's :class:`StatsSnapshot` (called about ten times a
second); nothing here counts. The walk runs ahead of the transfers, so until it ends the
totals are what it has found so far and the bar says ``scanning…`` with them; then it shows a
percentage, bytes and files done of the totals, the transfer rate (bytes moved per second),
files per second and an ETA.

- **Rates** are taken over the last :data:`RATE_WINDOW` seconds, so a run that speeds up or
  stalls shows it; the summary gives the averages of the whole run.
- **ETA** is the longer of two estimates: the bytes still to do at the recent byte-progress
  rate, and the files still to do at the recent files-per-second rate. Small files are bound
  by round trips, large ones by bandwidth; the longer estimate is the honest one for a mix.
  None ("ETA -") for the first :data:`_ETA_AFTER` seconds. It is an estimate from the recent
  rates: a tree whose large files come first shows a long ETA until its small files start.
- **Terminal** (stderr is a tty): one tqdm bar on stderr, fitted to the width, kept at the
  end. **No terminal** (stdout is not a tty: cron, SLURM, a pipe): one plain, time-stamped
  line on stdout every ``--stats`` interval (60 s by default, as rclone's flag), so a log
  shows that a long run is alive.
"""

from __future__ import annotations

import collections
import math
import os
import sys
import time
from typing import IO, TYPE_CHECKING, Any

import click

from mango_transfer.cli.display import (
    UNITS_NOTE,
    format_count,
    format_duration,
    format_rate,
    format_size,
    format_span,
)
from mango_transfer.engine import FileResult, StatsSnapshot, Status

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["RATE_WINDOW", "PlainLines", "Rates", "RunView", "TerminalBar", "echo", "summary",
           "verbose_line"]

RATE_WINDOW = 10.0  # seconds of history behind the rates and the ETA
_ETA_AFTER = 2.0  # seconds of history before an ETA is given at all
_MIN_BAR = 10  # columns the bar itself keeps; the text drops details before going below


class Rates:
    """Recent rates from successive snapshots (a sliding window over their elapsed time)."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.samples: collections.deque[tuple[float, int, int, int]] = collections.deque()

    def update(self, snap: StatsSnapshot) -> None:
        self.samples.append((snap.elapsed, snap.bytes, snap.bytes_done, snap.files_done))
        while len(self.samples) > 2 and snap.elapsed - self.samples[1][0] >= self.window:
            self.samples.popleft()

    def _delta(self, index: int, snap: StatsSnapshot) -> float:
        """Per second over the window; the run's average while the window is under 1 s."""
        first, last = self.samples[0], self.samples[-1]
        span = last[0] - first[0]
        if span >= 1.0:
            return (last[index] - first[index]) / span
        if snap.elapsed <= 0:
            return 0.0
        return last[index] / snap.elapsed

    def wire(self, snap: StatsSnapshot) -> float:
        """Bytes moved per second."""
        return self._delta(1, snap) if self.samples else 0.0

    def files(self, snap: StatsSnapshot) -> float:
        """Files reaching an outcome per second."""
        return self._delta(3, snap) if self.samples else 0.0

    def eta(self, snap: StatsSnapshot) -> float | None:
        """Seconds still to go (see the module docstring); None while scanning or unknown."""
        if snap.scanning or not self.samples:
            return None
        if self.samples[-1][0] - self.samples[0][0] < _ETA_AFTER and snap.elapsed < _ETA_AFTER:
            return None  # a guess from the first moments of a run would mislead
        estimates = []
        bytes_left = snap.bytes_found - snap.bytes_done
        files_left = snap.files_found - snap.files_done
        if bytes_left > 0:
            rate = self._delta(2, snap)
            estimates.append(bytes_left / rate if rate > 0 else math.inf)
        if files_left > 0:
            rate = self._delta(3, snap)
            estimates.append(files_left / rate if rate > 0 else math.inf)
        if not estimates:
            return 0.0
        longest = max(estimates)
        return None if math.isinf(longest) else longest


def _files_rate(per_second: float) -> str:
    return f"{per_second:.1f} files/s" if per_second < 10 else f"{per_second:,.0f} files/s"


def _parts(snap: StatsSnapshot, rates: Rates, *, long: bool) -> list[str]:
    """The facts of one progress line, most important first."""
    wire, files = rates.wire(snap), rates.files(snap)
    if snap.scanning:
        found = (f"scanning… {format_count(snap.files_found)} files, "
                 f"{format_size(snap.bytes_found)} found")
        done = f"{format_count(snap.files_done)} files, {format_size(snap.bytes_done)} done"
        parts = [found, done, format_rate(wire), _files_rate(files)]
    else:
        eta = rates.eta(snap)
        of = " of " if long else "/"
        span = (f"{format_size(snap.bytes_done)} of {format_size(snap.bytes_found)}" if long
                else format_span(snap.bytes_done, snap.bytes_found))
        parts = [span, f"{format_count(snap.files_done)}{of}{format_count(snap.files_found)} "
                       "files", format_rate(wire), _files_rate(files)]
        if eta == 0.0 and snap.files_done >= snap.files_found:
            parts.append(f"{_elapsed(snap.elapsed)} elapsed")
        else:
            parts.append(f"ETA {format_duration(eta)}" if eta is not None else "ETA -")
    if snap.files_failed:
        parts.insert(2, f"{format_count(snap.files_failed)} failed")
    return parts


class TerminalBar:
    """One tqdm bar on a terminal, fitted to its width (details dropped before the bar)."""

    def __init__(self, label: str, file: IO[str] | None = None) -> None:
        self.label = label
        self.file = file if file is not None else sys.stderr
        self.rates = Rates()
        from tqdm import tqdm  # only a terminal run draws a bar; --help need not load it

        self.bar: tqdm[Any] = tqdm(total=1000, file=self.file, dynamic_ncols=True, leave=True,
                                   bar_format=f"{label}: starting", disable=False)
        self.drawn = False  # a run that stopped before its first snapshot leaves no bar

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.file.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 100

    def __call__(self, snap: StatsSnapshot) -> None:
        self.rates.update(snap)
        self.drawn = True
        width = self._width() - 1  # the last column would wrap on some terminals
        parts = _parts(snap, self.rates, long=False)
        fraction = snap.fraction
        if fraction is None:
            while len(parts) > 1 and len(f"{self.label}: " + ", ".join(parts)) > width:
                parts.pop()
            self.bar.bar_format = _escape(f"{self.label}: " + ", ".join(parts))
        else:
            left = f"{self.label} {math.floor(fraction * 100):3d}%|"
            while len(parts) > 1 and len(left) + 2 + len(", ".join(parts)) + _MIN_BAR > width:
                parts.pop()
            self.bar.bar_format = _escape(left) + "{bar}" + _escape("| " + ", ".join(parts))
            self.bar.n = math.floor(fraction * 1000)
        self.bar.refresh()

    def write(self, line: str) -> None:
        """A line above the bar (``-v``), on stdout, without tearing the bar."""
        try:
            self.bar.write(line, file=sys.stdout)
        except BrokenPipeError:
            _silence(sys.stdout)

    def close(self) -> None:
        self.bar.leave = self.drawn
        self.bar.close()


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class PlainLines:
    """A time-stamped progress line on stdout every ``interval`` seconds (0: never)."""

    def __init__(self, label: str, interval: float, file: IO[str] | None = None) -> None:
        self.label = label
        self.interval = interval
        self.file = file
        self.rates = Rates()
        self.last = 0.0

    def __call__(self, snap: StatsSnapshot) -> None:
        self.rates.update(snap)
        if self.interval <= 0 or snap.elapsed - self.last < self.interval:
            return
        self.last = snap.elapsed
        echo(self.line(snap), file=self.file)

    def line(self, snap: StatsSnapshot) -> str:
        # the line ends with the elapsed time itself: not twice when the run is complete
        parts = [part for part in _parts(snap, self.rates, long=True)
                 if not part.endswith(" elapsed")]
        fraction = snap.fraction
        head = f"{math.floor(fraction * 100)}%, " if fraction is not None else ""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        return (f"{stamp} {self.label}: {head}{', '.join(parts)}, "
                f"{format_duration(snap.elapsed)} elapsed")

    def write(self, line: str) -> None:
        echo(line, file=self.file)

    def close(self) -> None:
        return None


def echo(line: str, *, err: bool = False, file: IO[str] | None = None) -> None:
    """``click.echo`` for a run's output: a reader that went away (``| head``) silences the
    rest of that stream instead of stopping the transfer with a traceback."""
    try:
        click.echo(line, err=err, file=file)
    except BrokenPipeError:
        _silence(file or (sys.stderr if err else sys.stdout))


def _silence(stream: IO[str]) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class RunView:
    """The run's progress callback: a bar, plain lines or nothing, and the ``-v`` lines."""

    def __init__(self, label: str, *, quiet: bool, verbose: bool, stats_interval: float) -> None:
        self.output: TerminalBar | PlainLines | None = None
        if not quiet:
            if is_terminal(sys.stderr):
                self.output = TerminalBar(label)
            elif not is_terminal(sys.stdout):
                self.output = PlainLines(label, stats_interval)
        self.verbose = verbose and not quiet
        self.notices = not quiet

    def write_err(self, line: str) -> None:
        if isinstance(self.output, TerminalBar):
            from tqdm import tqdm

            try:
                tqdm.write(line, file=sys.stderr)
            except BrokenPipeError:
                _silence(sys.stderr)
        else:
            echo(line, err=True)

    def __call__(self, snap: StatsSnapshot) -> None:
        if self.output is not None:
            self.output(snap)

    def result(self, result: FileResult) -> None:
        """``-v``: one line per file as its outcome is recorded. A symbolic link left out is
        named even without ``-v`` (on stderr), as rclone notes each one."""
        if not self.verbose:
            if result.action == "link" and result.status is Status.SKIPPED and self.notices:
                self.write_err(f"skipped: {result.path}: {result.reason}")
            return
        line = verbose_line(result)
        if self.output is not None:
            self.output.write(line)
        else:
            echo(line)

    def close(self) -> None:
        if self.output is not None:
            self.output.close()


def verbose_line(result: FileResult) -> str:
    """``new: a/b.txt (1.2 MiB)``, ``resumed: big.bin (from 12.0 MiB of 40.0 MiB, ...)``,
    ``skipped: x (sizes and modification times match)``, ``failed: x: why``."""
    size = format_size(result.size)
    status = result.status
    if status is Status.FAILED:
        return f"failed: {result.path}: {result.reason}"
    if status is Status.TRANSFERRED:
        details = [size, result.reason] if result.action == "changed" else [size]
        what = result.action
        if result.resumed_from is not None:
            what = "resumed"
            details = [f"from {format_size(result.resumed_from)} of {size}", result.action]
        if result.verified:
            details.append(f"verified {result.checksum}")
        if result.seconds is not None:
            details.append(f"{result.seconds:.1f} s")
        return f"{what}: {result.path} ({', '.join(details)})"
    if status is Status.PLANNED:
        verb = "delete" if result.action == "delete" else "transfer"
        return f"would {verb}: {result.path} ({result.reason})"
    if status in (Status.MISSING_ON_DESTINATION, Status.MISSING_ON_SOURCE):
        return f"{status.value.replace('_', ' ')}: {result.path}"
    return f"{status.value}: {result.path} ({result.reason})"


def _elapsed(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else format_duration(seconds)


def summary(snap: StatsSnapshot, dry_run: bool) -> str:
    """The last line of a run: what happened to how many files, and how fast."""
    if dry_run:
        moving = snap.files_planned - snap.planned_deletions
        deleting = (f"{format_count(snap.planned_deletions)} to delete, "
                    if snap.planned_deletions else "")
        return (f"dry run: {format_count(moving)} to transfer "
                f"({format_size(snap.bytes_planned)}), {deleting}"
                f"{format_count(snap.files_skipped)} unchanged; {UNITS_NOTE}")
    text = (f"{snap.files_new} new, {snap.files_changed} changed, {snap.files_skipped} skipped, "
            f"{snap.files_failed} failed")
    if snap.files_deleted:
        text += f", {snap.files_deleted} deleted"
    if snap.not_deleted:
        text += f", {snap.not_deleted} not deleted"
    if snap.files_filtered:
        text += f", {snap.files_filtered} filtered"
    text += f"; {snap.files_resumed} resumed, {snap.files_verified} verified"
    return (f"{text}\n{format_size(snap.bytes)} moved in {_elapsed(snap.elapsed)}: "
            f"{format_rate(snap.rate)}, {_files_rate(snap.file_rate)} ({UNITS_NOTE})")
