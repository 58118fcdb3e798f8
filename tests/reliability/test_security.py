"""Secrets never leak, and what holds them is private (0600)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mango_transfer.server import ServerProcess
from tests.zones import Zone, users_of

PASSWORD = "Zq9-unusual-S3cret"


def test_password_never_appears_in_any_output(tmp_path: Path) -> None:
    data, client, state = tmp_path / "zone", tmp_path / "client", tmp_path / "state"
    source = tmp_path / "source"
    (source / "a").mkdir(parents=True)
    (source / "a" / "x.txt").write_text("hello")
    (source / "big.bin").write_bytes(os.urandom(5 << 20))
    # The admin's and the test user's password are the same secret: neither may show up.
    with ServerProcess(data, client, extra_args=["--password", PASSWORD]) as server, \
            users_of(server, tmp_path / "users", password=PASSWORD) as zone:
        environ = {**os.environ, **zone.environ(XDG_STATE_HOME=str(state))}
        outputs = []
        for args in (["upload", str(source), f"{zone.home}/sec", "--chunk-threshold", "1M",
                      "--json-report", str(tmp_path / "up.json")],
                     ["download", f"{zone.home}/sec", str(tmp_path / "back"),
                      "--json-report", str(tmp_path / "down.json")],
                     ["download", f"{zone.home}/missing", str(tmp_path / "nope")],
                     ["check"]):
            result = subprocess.run([sys.executable, "-m", "mango_transfer", "--debug", *args],
                                    env=environ, capture_output=True, text=True, timeout=120)
            outputs.append(result.stdout + result.stderr)
            assert " DEBUG " in result.stderr, "--debug logs the exchange"
        # A wrong password: the error must not echo either password.
        wrong = tmp_path / "wrong.irodsA"
        from irods.password_obfuscation import encode

        wrong.write_text(encode("not-" + PASSWORD))
        result = subprocess.run([sys.executable, "-m", "mango_transfer", "check"],
                                env={**environ, "IRODS_AUTHENTICATION_FILE": str(wrong)},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        outputs.append(result.stdout + result.stderr)
    for text in outputs:
        assert PASSWORD not in text
    produced = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".irodsA"
                and p.suffix not in (".bin", ".txt", ".sqlite", ".pem")]
    assert produced, "expected logs, reports and state files to inspect"
    for path in produced:
        assert PASSWORD.encode() not in path.read_bytes(), f"password found in {path}"


def test_client_files_are_private(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "zone", tmp_path / "client") as server:
        assert stat.S_IMODE(server.auth_file.stat().st_mode) == 0o600
        env = json.loads(server.env_file.read_text())
        assert "password" not in json.dumps(env).lower()


@pytest.mark.embedded_only("slows every reply (delay fault) so the runs are killed mid-file")
def test_resume_state_files_are_private(zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    """Interrupt a chunked upload and a chunked download; their resume state must be 0600."""
    import signal
    import time

    source = tmp_path / "source"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(12 << 20))
    state = tmp_path / "state"
    environ = {**os.environ, **zone.environ(XDG_STATE_HOME=str(state))}
    zone.set_faults("delay_ms=30")
    try:
        for args, where in ((["upload", str(source), remote_dir], state),
                            (["download", remote_dir, str(tmp_path / "back")], tmp_path / "back")):
            if args[0] == "download":
                zone.set_faults("")
                subprocess.run([sys.executable, "-m", "mango_transfer", "upload", str(source),
                                remote_dir, "--quiet"], env=environ, check=True, timeout=120)
                zone.set_faults("delay_ms=30")
            process = subprocess.Popen([sys.executable, "-m", "mango_transfer", *args, "--quiet",
                                        "--chunk-threshold", "1M"], env=environ)
            deadline = time.monotonic() + 30
            found: list[Path] = []
            while not found and time.monotonic() < deadline and process.poll() is None:
                found = [p for p in where.rglob("*") if p.is_file() and p.suffix != ".bin"]
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            assert found, f"no resume state appeared under {where}"
            for path in (p for p in where.rglob("*") if p.is_file()):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is not private"
    finally:
        zone.set_faults("")
    subprocess.run([sys.executable, "-m", "mango_transfer", "download", remote_dir,
                    str(tmp_path / "back"), "--quiet", "--chunk-threshold", "1M"], env=environ,
                   check=True, timeout=120)
    umask = os.umask(0o022)
    os.umask(umask)
    final = tmp_path / "back" / "big.bin"
    assert final.read_bytes() == (source / "big.bin").read_bytes()
    assert stat.S_IMODE(final.stat().st_mode) == 0o666 & ~umask, "a finished file is a normal file"


def test_debug_scrubber_blanks_secret_fields() -> None:
    import logging

    from mango_transfer.cli.debug_log import RedactSecrets

    scrub = RedactSecrets(["hunter22"])
    record = logging.LogRecord("irods", logging.DEBUG, __file__, 1,
                               "auth %s", ({"a_pw": "topsecret", "user_name": "rods",
                                            "request_result": "tok123"},), None)
    scrub.filter(record)
    text = record.getMessage()
    assert "topsecret" not in text and "tok123" not in text and "rods" in text
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "pw=hunter22 done", (), None)
    scrub.filter(record)
    assert record.getMessage() == "pw=*** done"
