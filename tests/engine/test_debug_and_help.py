"""Small things that add up: a bounded, safe ``--debug`` log (before or after the subcommand),
and ``--help`` in sections with sizes written as the flags read them."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mango_transfer.cli.debug_log import RedactSecrets
from mango_transfer.cli.main import main
from tests.zones import Zone

from .conftest import CHUNK


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_logs_per_file_not_per_block_and_blanks_only_the_password(
    tmp_path: Path, remote_dir: str, irods_env: Zone, where: str,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(6 * CHUNK))  # 24 MiB: 6 ranges, 6+ blocks
    (src / "small.txt").write_bytes(b"s" * 1000)
    args = ["upload", str(src), remote_dir, "-q", "--chunk-threshold", str(CHUNK)]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    env = {**os.environ, **irods_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))}
    env.pop("MANGO_DEBUG_WIRE", None)
    done = subprocess.run([sys.executable, "-m", "mango_transfer", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = done.stderr
    assert len(log) < 200_000, f"{len(log):,} characters of log for a 24 MiB upload"
    engine = [line for line in log.splitlines() if " mango_transfer.engine" in line]
    assert len([line for line in engine if "big.bin: transferred" in line]) == 1
    assert len([line for line in engine if "small.txt: transferred" in line]) == 1
    assert "irods.connection" not in log  # the per-message wire log stays off
    assert irods_env.user.password not in log
    assert f"/home/{irods_env.user.name}" in log or irods_env.user.name in log


def test_a_password_equal_to_a_name_does_not_blank_the_name() -> None:
    scrub = RedactSecrets(["rods", "s3cret-pw"], public=["rods", "tempZone"])
    record = logging.LogRecord("irods", logging.DEBUG, __file__, 1,
                               "open /tempZone/home/rods/x %s <a_pw>rods</a_pw> pw=s3cret-pw",
                               ({"password": "rods", "user_name": "rods"},), None)
    scrub.filter(record)
    text = record.getMessage()
    assert text.startswith("open /tempZone/home/rods/x {'password': '***', 'user_name': 'rods'}")
    assert "<a_pw>***</a_pw>" in text and "pw=***" in text and "s3cret" not in text
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "irods5 s3cret-pwx", (), None)
    scrub.filter(record)
    assert record.getMessage() == "irods5 s3cret-pwx"  # only whole words are a password


def test_help_in_sections_with_sizes_as_flags_read_them() -> None:
    runner = CliRunner()
    for command in ("upload", "download", "sync", "diff", "ls", "du", "ingest", "serve",
                    "worker", "bench"):
        text = runner.invoke(main, [command, "--help"]).output
        assert not re.search(r"default: \(?\d{6,}", text), (command, text)
        assert "--debug" in text, command
    upload = runner.invoke(main, ["upload", "--help"]).output
    headings = re.findall(r"^(\S[^:\n]*):$", upload, re.MULTILINE)
    assert headings[:2] == ["Performance", "Skip rules"]
    assert {"Scale-out (Celery)", "Output", "Options"} <= set(headings)
    celery = upload[upload.index("Scale-out (Celery):"):upload.index("Output:")]
    assert "--celery URL" in celery and "--batch-bytes" in celery and "--threads" not in celery
    assert "default: 32M" in upload and "default: 512M" in upload


def test_size_defaults_still_parse(tmp_path: Path) -> None:
    from mango_transfer.cli.options import options_from_params
    from mango_transfer.engine.options import MIB

    ctx = main.make_context("mango-transfer", ["upload", str(tmp_path), "/x"])
    sub = ctx.command.get_command(ctx, "upload")  # type: ignore[attr-defined]
    params = sub.make_context("upload", [str(tmp_path), "/x"], parent=ctx).params
    assert options_from_params(params).chunk_threshold == 32 * MIB
