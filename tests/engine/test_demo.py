"""``mango-transfer demo`` (what the README promises) runs end to end and exits 0."""

from __future__ import annotations

from click.testing import CliRunner

from mango_transfer.cli.main import main


def test_demo_round_trip_verifies_every_file() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "196/196 files, every SHA-256 matches" in result.output
    upload = next(line for line in result.output.splitlines() if line.startswith("upload"))
    assert upload.split()[1:3] == ["196", "0"]
