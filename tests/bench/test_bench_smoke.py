"""A tiny `bench` run: JSON and PNGs are produced and ratios come from real, timed runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mango_transfer.cli.main import main


def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = CliRunner().invoke(main, [
        "bench", "--scale", "0.001", "--repeat", "1", "--rtt-ms", "5", "--sample", "10",
        "--scenarios", "small_upload,small_download,study_download,large_upload,threads,limits,verify",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    assert {"machine", "config", "runs", "summary", "baselines"} <= payload.keys()
    assert "rtt_sweep" not in payload  # only with --rtt-sweep
    summary = {(row["scenario"], row["link"], row["tool"]): row for row in payload["summary"]}
    for link in ("loopback", "wan"):
        engine = summary[("small_upload", link, "engine")]
        seed = summary[("small_upload", link, "seed_upload")]
        expected = engine["files_per_s"] / seed["files_per_s"]
        assert abs(engine["ratios"]["seed_upload"] - expected) < 1e-9
        assert engine["files"] == 20 and engine["median_s"] > 0
        assert summary[("study_download", link, "engine")]["ratios"]["seed_download"] > 0
        small_down = summary[("small_download", link, "engine")]
        assert small_down["files"] == 20 and small_down["ratios"]["seed_download"] > 0
    wan = [run for run in payload["runs"] if run["link"] == "wan"]
    assert wan and all(run["rtt_ms"] == 5 for run in wan)
    assert "verify_cost_pct" in summary[("verify", "loopback", "engine+verify")]
    for image in ("throughput.png", "threads.png", "rtt.png"):
        assert (out / image).stat().st_size > 1000
    assert "ratios" in result.output or "x seed_upload" in result.output


def test_bench_rtt_sweep(tmp_path: Path) -> None:
    """Two RTT points, tiny: the JSON section, the table and the files/s-vs-RTT plot."""
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, [
        "bench", "--scale", "0.001", "--repeat", "2", "--sample", "5", "--scenarios", "small_upload",
        "--rtt-sweep", "5,0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    sweep = payload["rtt_sweep"]
    assert sweep["rtt_ms"] == [0, 5] and payload["config"]["rtt_sweep_ms"] == [0, 5]
    for tool, files in (("engine", 20), ("seed_upload", 5)):
        assert sweep["tools"][tool].keys() == {"0", "5"}
        for point in sweep["tools"][tool].values():
            rate = point["files_per_s"]
            assert point["runs"] == 2 and point["files"] == files
            assert 0 < rate["min"] <= rate["median"] <= rate["max"]
    assert all(ratio > 0 for ratio in sweep["engine_over_seed"].values())
    links = {(run["link"], run["rtt_ms"]) for run in payload["runs"]}
    assert links == {("rtt=0ms", 0), ("rtt=5ms", 5)}  # the sweep replaces loopback + wan
    assert "RTT sweep" in result.output
    assert (out / "rtt.png").stat().st_size > 1000


def test_bench_soak_scenario(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    result = CliRunner().invoke(main, ["bench", "--scenarios", "soak", "--kills", "3", "--repeat", "1",
                                       "--rtt-ms", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    soak = json.loads((out / "results.json").read_text())["soak"]
    assert soak["ok"] is True and soak["identical"] is True and soak["files"] == 62
    assert soak["moved_by_final_upload"] == soak["missing_before_final_upload"]


def test_bench_rtt_sweep_rejects_bad_values(tmp_path: Path) -> None:
    for value in ("fast", "-1,5", ","):
        result = CliRunner().invoke(main, ["bench", "--rtt-sweep", value, "--out", str(tmp_path)])
        assert result.exit_code == 2 and "--rtt-sweep" in result.output, result.output


def test_bench_runs_only_the_chosen_baselines(tmp_path: Path) -> None:
    """``--baselines`` leaves the others out; ``limits`` measures only the datasets moved."""
    out = tmp_path / "chosen"
    result = CliRunner().invoke(main, [
        "bench", "--scale", "0.001", "--repeat", "1", "--rtt-ms", "0", "--sample", "5",
        "--scenarios", "small_upload,limits", "--baselines", "seed_upload", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    cells = {(row["scenario"], row["tool"]) for row in payload["summary"]}
    assert cells == {("small_upload", "engine"), ("small_upload", "seed_upload"),
                     ("small_limit", "cp"), ("small_limit", "socket")}
    assert payload["config"]["baselines"] == ["seed_upload"]


def test_bench_rejects_an_unknown_baseline(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["bench", "--baselines", "seed_upload,rsync",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown baseline(s) rsync" in result.output, result.output


def test_bench_processes_scenario(tmp_path: Path) -> None:
    """One and two worker processes on the same server in one run, both moving every file."""
    out = tmp_path / "processes"
    result = CliRunner().invoke(main, [
        "bench", "--scale", "0.001", "--repeat", "1", "--rtt-ms", "0", "--scenarios", "processes",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    rows = {row["tool"]: row for row in payload["summary"] if row["scenario"] == "processes"}
    assert rows.keys() == {"engine@p1", "engine@p2"}
    assert all(row["files"] == 20 and row["median_s"] > 0 for row in rows.values())
