"""The progress display's arithmetic: units, durations, rates and the ETA, from snapshots."""

from __future__ import annotations

import io

import pytest

from mango_transfer.cli.display import (
    format_count,
    format_duration,
    format_rate,
    format_size,
    format_span,
    parse_duration,
)
from mango_transfer.cli.progress import PlainLines, Rates, TerminalBar, summary, verbose_line
from mango_transfer.engine import FileResult, StatsSnapshot, Status
from mango_transfer.engine.stats import Stats
from mango_transfer.errors import UsageError


def snap(elapsed: float, *, moved: int = 0, done: int = 0, files: int = 0, found: int = 100,
         bytes_found: int = 1000, scanning: bool = False, failed: int = 0) -> StatsSnapshot:
    return StatsSnapshot(bytes=moved, files_new=files, files_changed=0, files_skipped=0,
                         files_failed=failed, files_deleted=0, files_planned=0,
                         bytes_planned=0, errors=0, retries=0, queue_depth=0, seen=files,
                         elapsed=elapsed, files_found=found, bytes_found=bytes_found,
                         scanning=scanning, files_done=files, bytes_done=done)


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (32 << 20, "32.0 MiB"),
    (int(48.2 * (1 << 30)), "48.2 GiB"), (3 << 40, "3.0 TiB")])
def test_sizes_are_binary_and_labelled(count: int, text: str) -> None:
    assert format_size(count) == text


def test_spans_rates_counts_and_durations() -> None:
    assert format_span(int(21.7 * (1 << 30)), int(48.2 * (1 << 30))) == "21.7/48.2 GiB"
    assert format_span(512 << 20, 2 << 30) == "512.0 MiB/2.0 GiB"
    assert format_rate(412) == "412 B/s" and format_rate(110 << 20) == "110.0 MiB/s"
    assert format_count(12345) == "12,345"
    assert [format_duration(s) for s in (0, 12.4, 241, 3720, 3 * 86400 + 4 * 3600)] == [
        "0s", "12s", "4m01s", "1h02m", "3d04h"]


@pytest.mark.parametrize(("text", "seconds"), [
    ("60", 60.0), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("500ms", 0.5),
    ("0", 0.0), ("1.5s", 1.5)])
def test_durations_parse_as_rclone_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "1m5", "-3s"])
def test_a_bad_duration_is_one_clear_error(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)


def test_eta_is_the_longer_of_the_byte_and_file_estimates() -> None:
    rates = Rates(window=20)
    rates.update(snap(0.0))
    # After 10 s: 500 of 1000 bytes, but only 10 of 100 files: the files decide (90 s left).
    rates.update(snap(10.0, moved=500, done=500, files=10))
    eta = rates.eta(snap(10.0, moved=500, done=500, files=10))
    assert eta == pytest.approx(90.0)
    assert rates.wire(snap(10.0)) == pytest.approx(50.0)
    assert rates.files(snap(10.0)) == pytest.approx(1.0)
    assert rates.eta(snap(10.0, scanning=True)) is None  # totals not known yet


def test_rates_follow_the_recent_window() -> None:
    rates = Rates(window=5)
    for second in range(11):  # 100 B/s for 5 s, then stalled
        moved = min(second, 5) * 100
        rates.update(snap(float(second), moved=moved, done=moved))
    assert rates.wire(snap(10.0)) == pytest.approx(0.0)
    assert rates.eta(snap(10.0, moved=500, done=500)) is None  # stalled: no honest ETA


def test_progress_counts_skipped_files_as_done() -> None:
    stats = Stats()
    stats.discovered(600)
    stats.discovered(400)
    stats.add_bytes(150)  # a transfer in flight
    assert stats.snapshot().scanning and stats.snapshot().fraction is None
    stats.walk_finished()
    stats.add_result(FileResult("a", Status.SKIPPED, "same", "skip", 600))
    now = stats.snapshot()
    assert (now.files_done, now.bytes_done, now.fraction) == (1, 750, 0.75)
    stats.add_bytes(250)
    stats.add_result(FileResult("b", Status.TRANSFERRED, "new", "new", 400, bytes_moved=400))
    now = stats.snapshot()
    assert (now.files_done, now.bytes_done, now.fraction) == (2, 1000, 1.0)


def test_the_bar_fits_its_width_and_shows_the_totals() -> None:
    out = io.StringIO()
    bar = TerminalBar("upload", file=out)  # no terminal: 100 columns
    bar(snap(1.0, moved=10, done=10, files=1, found=12345, bytes_found=48 << 30,
             scanning=True))
    assert bar.bar.bar_format.startswith("upload: scanning… 12,345 files, 48.0 GiB found")
    bar(snap(2.0, moved=24 << 30, done=24 << 30, files=6000, found=12345,
             bytes_found=48 << 30, failed=3))
    text = bar.bar.format_meter(**bar.bar.format_dict)
    assert text.startswith("upload  50%|")
    assert "24.0/48.0 GiB, 6,000/12,345 files, 3 failed" in text and len(text) <= 99
    bar.close()


def test_plain_lines_come_every_interval() -> None:
    out = io.StringIO()
    lines = PlainLines("download", 5.0, file=out)
    for second in range(12):
        lines(snap(float(second), moved=second * 10, done=second * 10, files=second))
    printed = out.getvalue().splitlines()
    assert len(printed) == 2
    assert "download: " in printed[0] and " of 100 files" in printed[0]


def test_verbose_lines_and_summary() -> None:
    resumed = FileResult("big.bin", Status.TRANSFERRED, "sizes differ", "changed", 40 << 20,
                         bytes_moved=28 << 20, resumed_from=12 << 20, seconds=1.25)
    assert verbose_line(resumed) == ("resumed: big.bin (from 12.0 MiB of 40.0 MiB, changed, "
                                     "1.2 s)")
    skipped = FileResult("x", Status.SKIPPED, "sizes match (--size-only)", "skip", 3)
    assert verbose_line(skipped) == "skipped: x (sizes match (--size-only))"
    failed = FileResult("y", Status.FAILED, "permission denied", "new")
    assert verbose_line(failed) == "failed: y: permission denied"
    final = snap(4.0, moved=8 << 20, done=8 << 20, files=3)
    assert summary(final, dry_run=False).splitlines() == [
        "3 new, 0 changed, 0 skipped, 0 failed; 0 resumed, 0 verified",
        "8.0 MiB moved in 4.0 s: 2.0 MiB/s, 0.8 files/s (sizes in binary units, "
        "1 MiB = 1,048,576 bytes)"]
