"""Issue 7's bad-input table, beyond the engine's own CLI tests: each case gets one clear line,
a non-zero exit, no traceback, and nothing lost."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer
from tests.zones import Zone, users_of


def _cli(env_file: Path, auth_file: Path, *args: str, extra: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "IRODS_ENVIRONMENT_FILE": str(env_file),
               "IRODS_AUTHENTICATION_FILE": str(auth_file), **(extra or {})}
    return subprocess.run([sys.executable, "-m", "mango_transfer", *args], env=environ,
                          capture_output=True, text=True, timeout=timeout)


def _one_clean_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_absent_irodsa(zone: Zone, tmp_path: Path) -> None:
    result = _cli(zone.user.env_file, tmp_path / "no-such.irodsA", "upload", str(tmp_path),
                  zone.home + "/x")
    _one_clean_line(result, "no-such.irodsA")


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A TLS zone whose PAM logins expire after two seconds."""
    with EmbeddedServer(tmp_path_factory.mktemp("short"), ssl=True, pam_ttl_seconds=2) as server:
        yield server


@pytest.fixture(scope="module")
def short_lived_zone(short_lived: EmbeddedServer,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    with users_of(short_lived, tmp_path_factory.mktemp("short-users")) as zone:
        yield zone


def test_expired_login(short_lived_zone: Zone, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    user = short_lived_zone.user
    env = json.loads(user.env_file.read_text())
    env["irods_authentication_scheme"] = "pam_interactive"
    env_file = tmp_path / "irods_environment.json"
    env_file.write_text(json.dumps(env))
    auth_file = tmp_path / ".irodsA"
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": user.password)
    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(auth_file)) as session:
        session.set_auth_option_for_scheme("pam_interactive", "force_password_prompt", True)
        assert session.collections.exists(user.home)
    assert auth_file.exists()
    ok = _cli(env_file, auth_file, "check")
    assert ok.returncode == 0, ok.stderr
    time.sleep(2.5)
    expired = _cli(env_file, auth_file, "upload", str(tmp_path), user.home + "/x")
    _one_clean_line(expired, "expired")


def test_tls_required_but_unavailable(embedded_zone: Zone, short_lived_zone: Zone,
                                      tmp_path: Path) -> None:
    """Negotiation of the embedded servers' own TLS set-ups (a real zone's is its admin's)."""
    # The client insists on TLS; this server offers none.
    plain, tls = embedded_zone.user, short_lived_zone.user
    env = json.loads(plain.env_file.read_text())
    env["irods_client_server_policy"] = "CS_NEG_REQUIRE"
    env_file = tmp_path / "require.json"
    env_file.write_text(json.dumps(env))
    _one_clean_line(_cli(env_file, plain.auth_file, "check"))
    # The server insists on TLS; the client refuses it.
    env = json.loads(tls.env_file.read_text())
    env["irods_client_server_policy"] = "CS_NEG_REFUSE"
    env_file = tmp_path / "refuse.json"
    env_file.write_text(json.dumps(env))
    _one_clean_line(_cli(env_file, tls.auth_file, "check"))
    # The server's certificate is not signed by the configured CA.
    import trustme

    env = json.loads(tls.env_file.read_text())
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    env["irods_ssl_ca_certificate_file"] = str(other)
    env_file = tmp_path / "wrong-ca.json"
    env_file.write_text(json.dumps(env))
    _one_clean_line(_cli(env_file, tls.auth_file, "check"))


def test_odd_names_round_trip(irods_env: Zone, remote_dir: str, tmp_path: Path) -> None:
    names = ["line\nbreak.txt", "ünïcødé ✓ 数据.json", "tab\there.tsv", "x" * 200 + ".nii",
             "quote'and\"double.txt", "semi;colon&amp.txt", "per%cent_und_er.txt"]
    source, back = tmp_path / "source", tmp_path / "back"
    source.mkdir()
    for index, name in enumerate(names):
        (source / name).write_bytes(os.urandom(100 + index))
    up = _cli(irods_env.env_file, irods_env.auth_file, "upload", str(source), remote_dir, "--quiet")
    assert up.returncode == 0, up.stderr
    down = _cli(irods_env.env_file, irods_env.auth_file, "download", remote_dir, str(back), "--quiet")
    assert down.returncode == 0, down.stderr
    for name in names:
        assert (back / name).read_bytes() == (source / name).read_bytes(), repr(name)
    again = _cli(irods_env.env_file, irods_env.auth_file, "upload", str(source), remote_dir,
                 "--quiet", "--json-report", str(tmp_path / "r.json"))
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["transferred"] == 0


def test_path_too_long_for_irods(irods_env: Zone, remote_dir: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    deep = source
    for _ in range(6):
        deep = deep / ("d" * 200)
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("deep")
    (source / "short.txt").write_text("fine")
    result = _cli(irods_env.env_file, irods_env.auth_file, "upload", str(source), remote_dir, "--quiet",
                  "--json-report", str(tmp_path / "r.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    statuses = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in report["files"]
                if not f["path"].endswith("/")}
    assert statuses == {"short.txt": "transferred", "f.txt": "failed"}
    # The first folder iRODS refused is named once, with the reason; nothing below is tried.
    (folder,) = [f for f in report["files"] if f["path"].endswith("/")]
    assert folder["status"] == "failed" and folder["path"].count("/") in (5, 6)


@pytest.mark.parametrize("change", ["truncate", "grow"])
@pytest.mark.embedded_only("slows every reply (delay fault) so the file changes mid-upload")
def test_file_changing_during_upload_is_not_stored_torn(irods_env: Zone, remote_dir: str,
                                                         tmp_path: Path, change: str) -> None:
    """A recording still being written must never land as a torn 'good' copy."""
    source = tmp_path / "source"
    source.mkdir()
    victim = source / "recording.edf"
    victim.write_bytes(os.urandom(12 << 20))
    irods_env.set_faults("delay_ms=25")
    stop = threading.Event()

    def mutate() -> None:
        time.sleep(0.6)
        with open(victim, "r+b") as handle:
            if change == "truncate":
                handle.truncate(1 << 20)
            else:
                while not stop.is_set():
                    handle.seek(0, 2)
                    handle.write(os.urandom(1 << 16))
                    handle.flush()
                    time.sleep(0.05)

    thread = threading.Thread(target=mutate)
    thread.start()
    try:
        result = _cli(irods_env.env_file, irods_env.auth_file, "upload", str(source), remote_dir,
                      "--quiet", "--chunk-threshold", "1M", "--retries", "1", "--retry-backoff", "0.1",
                      "--json-report", str(tmp_path / "r.json"))
    finally:
        stop.set()
        thread.join()
        irods_env.set_faults("")
    report = json.loads((tmp_path / "r.json").read_text())
    status = report["files"][0]["status"]
    with irods_env.user.session() as session:
        path = f"{remote_dir}/recording.edf"
        if session.data_objects.exists(path):
            obj = session.data_objects.get(path)
            good = obj.replicas[0].status == "1"
            if good:  # only acceptable if what is stored equals the file as it is now
                with session.data_objects.open(path, "r") as handle:
                    assert handle.read() == victim.read_bytes(), "a torn copy was published as good"
    if status == "failed":
        assert result.returncode == 1 and "recording.edf" in result.stderr
        assert "Traceback" not in result.stderr
