"""A baseline that crashes is shown as failed, with its reason, and the bench goes on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mango_transfer.cli.main import main


@pytest.fixture
def crashing_icommands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``iput``/``iget`` that die of a segmentation fault, first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("iput", "iget"):
        script = bin_dir / name
        script.write_text("#!/bin/sh\necho 'about to crash' >&2\nkill -SEGV $$\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_crashing_baseline_is_reported_and_the_rest_runs(tmp_path: Path, crashing_icommands: None) -> None:
    out = tmp_path / "results"
    result = CliRunner().invoke(main, [
        "bench", "--scale", "0.001", "--repeat", "2", "--rtt-ms", "0", "--sample", "5",
        "--scenarios", "small_upload,study_download", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    summary = {(row["scenario"], row["link"], row["tool"]): row for row in payload["summary"]}
    for scenario, program in (("small_upload", "iput"), ("study_download", "iget")):
        failed = summary[(scenario, "loopback", "icommands")]
        assert failed["failed"] == f"{program} died with SIGSEGV: about to crash"
        assert failed["files"] == 0 and failed["files_per_s"] == 0
        engine = summary[(scenario, "loopback", "engine")]
        assert engine["files"] > 0 and "icommands" not in engine.get("ratios", {})
    assert summary[("small_upload", "loopback", "seed_upload")]["files_per_s"] > 0
    # one failed attempt per cell (scenario, link, tool), not one per repeat
    failures = [run for run in payload["runs"] if run["error"]]
    assert len(failures) == len({(r["scenario"], r["link"], r["tool"]) for r in failures})
    assert "FAILED: iput died with SIGSEGV: about to crash" in result.output
