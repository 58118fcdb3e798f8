"""``mango-transfer login USER ZONE HOST`` end to end: mango-auth's pam_interactive over TLS
against the embedded server, then a transfer with the written environment and no prompt."""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mango_transfer.cli.main import main
from mango_transfer.server import EmbeddedServer
from tests.zones import Zone, real_zone_required, users_of


@pytest.fixture
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path_factory.mktemp("login-zone"), ssl=True) as server:
        yield server


@pytest.fixture
def tls_zone(tls_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    """A rodsuser of the TLS server: who logs in with pam_interactive on ManGO."""
    with users_of(tls_server, tmp_path_factory.mktemp("login-users")) as zone:
        yield zone


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """mango-auth adds a handler to the root logger and sets it to INFO; undo that."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_login_writes_a_working_environment_then_transfers_without_prompt(
    tls_server: EmbeddedServer, tls_zone: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
) -> None:
    server_env = json.loads(tls_server.env_file.read_text())
    env_file = tmp_path / "irods" / "irods_environment.json"
    auth_file = tmp_path / "irods" / ".irodsA"
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
    monkeypatch.setenv("BROWSER", "true")  # nothing may open a real browser
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return tls_zone.user.password

    monkeypatch.setattr(getpass, "getpass", answer)

    runner = CliRunner()
    result = runner.invoke(main, [
        "login", tls_zone.user.name, server_env["irods_zone_name"], server_env["irods_host"],
        "--port", str(server_env["irods_port"]),
        "--ca-file", server_env["irods_ssl_ca_certificate_file"]])
    assert result.exit_code == 0, result.output
    assert f"logged in as {tls_zone.user.name}#" in result.output
    assert prompts, "pam_interactive asked for the password"
    written = json.loads(env_file.read_text())
    assert written["irods_authentication_scheme"] == "pam_interactive"
    assert written["irods_client_server_policy"] == "CS_NEG_REQUIRE"
    assert written["irods_port"] == server_env["irods_port"]  # an int, not the seed's string
    assert auth_file.exists()

    # Same result as mango_auth: a transfer with the written files, and no further prompt.
    monkeypatch.setattr(getpass, "getpass",
                        lambda prompt="": pytest.fail(f"prompted again: {prompt!r}"))
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_bytes(b"after login")
    home = f"{tls_zone.home}/after-login"
    result = runner.invoke(main, ["upload", str(source), home, "--quiet"])
    assert result.exit_code == 0, result.output
    with tls_zone.user.session() as session:
        with session.data_objects.open(f"{home}/sub/a.txt", "r") as handle:
            assert handle.read() == b"after login"


# -- a login never breaks a working setup ----------------------------------------------------
@dataclass(frozen=True)
class LoginCase:
    """Who logs in where: the arguments of ``login`` and the right password."""

    user: str
    zone: str
    host: str
    port: int
    ca_file: str
    password: str

    def args(self, **changes: str) -> list[str]:
        values = {"user": self.user, "zone": self.zone, "host": self.host,
                  "port": str(self.port), "ca_file": self.ca_file, **changes}
        return ["login", values["user"], values["zone"], values["host"],
                "--port", values["port"], "--ca-file", values["ca_file"]]


def _embedded_case(tls_server: EmbeddedServer, tls_zone: Zone) -> LoginCase:
    env = json.loads(tls_server.env_file.read_text())
    return LoginCase(tls_zone.user.name, env["irods_zone_name"], env["irods_host"],
                     int(env["irods_port"]), env["irods_ssl_ca_certificate_file"],
                     tls_zone.user.password)


def _real_pam_case(tmp_path: Path) -> LoginCase:
    """The real zone's pam_interactive + TLS user, from a copy of its client folder (the
    original in /tmp/realzone/pam is never written)."""
    env_name, password_name = "MANGO_TEST_PAM_ENV", "MANGO_TEST_PAM_PASSWORD_FILE"
    env_file, password_file = os.environ.get(env_name), os.environ.get(password_name)
    if not env_file or not password_file:
        reason = f"{env_name} and {password_name} name the real zone's PAM user"
        if real_zone_required():
            pytest.fail(f"MANGO_REQUIRE_REAL_ZONE=1 but unset: {reason}")
        pytest.skip(f"no real PAM zone: {reason}")
    copy = tmp_path / "pam-client"
    shutil.copytree(Path(env_file).parent, copy)
    env = json.loads((copy / Path(env_file).name).read_text())
    ca = env.get("irods_ssl_ca_certificate_file") or str(copy / "ca.pem")
    ca_copy = copy / Path(ca).name
    return LoginCase(env["irods_user_name"], env["irods_zone_name"], env["irods_host"],
                     int(env["irods_port"]), str(ca_copy if ca_copy.exists() else ca),
                     Path(password_file).read_text().strip())


@pytest.fixture(params=["embedded", "real"])
def login_case(request: pytest.FixtureRequest, tmp_path: Path) -> LoginCase:
    if request.param == "real":
        return _real_pam_case(tmp_path)
    return _embedded_case(request.getfixturevalue("tls_server"),
                          request.getfixturevalue("tls_zone"))


@pytest.fixture
def working_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  restore_logging: None) -> tuple[Path, Path]:
    """An environment file and .irodsA that work today (their bytes are what must survive)."""
    folder = tmp_path / "irods"
    folder.mkdir()
    env_file, auth_file = folder / "irods_environment.json", folder / ".irodsA"
    env_file.write_bytes(b'{"irods_host": "working.example.org", "irods_port": 1247}\n')
    auth_file.write_bytes(b"scrambled-working-password")
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
    monkeypatch.setenv("BROWSER", "true")
    return env_file, auth_file


def _answer(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": password)


def _one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_login_keeps_the_previous_files_and_no_plain_password(
    login_case: LoginCase, working_setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    env_file, auth_file = working_setup
    old_env, old_auth = env_file.read_bytes(), auth_file.read_bytes()
    auth_file.with_name(".irodsA.json").write_text('{"password": "left by mango-auth"}')
    _answer(monkeypatch, login_case.password)
    result = CliRunner().invoke(main, login_case.args())
    assert result.exit_code == 0, result.output
    assert json.loads(env_file.read_text())["irods_host"] == login_case.host
    assert auth_file.read_bytes() not in (b"", old_auth)
    assert env_file.with_name(env_file.name + ".bak").read_bytes() == old_env
    assert auth_file.with_name(".irodsA.bak").read_bytes() == old_auth
    assert not auth_file.with_name(".irodsA.json").exists()  # no plain-text password
    leftovers = [p.name for p in env_file.parent.iterdir()]
    assert sorted(leftovers) == [".irodsA", ".irodsA.bak", "irods_environment.json",
                                 "irods_environment.json.bak"]
    checked = CliRunner().invoke(main, ["check"])
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize(("case", "needle"), [
    pytest.param("wrong-password", "the password, then log in again", id="wrong-password"),
    pytest.param("wrong-zone", "the zone name 'noSuchZone'", id="wrong-zone"),
    pytest.param("unknown-host", "check the host name 'no-such-host.invalid' you typed",
                 id="unknown-host"),
    pytest.param("closed-port", "you typed, and your network", id="closed-port"),
    pytest.param("missing-ca", "the CA file does not exist", id="missing-ca"),
    pytest.param("wrong-ca", "TLS certificate was rejected", id="wrong-ca"),
])
def test_a_failed_login_leaves_both_files_byte_identical(
    login_case: LoginCase, working_setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, case: str, needle: str,
) -> None:
    env_file, auth_file = working_setup
    old_env, old_auth = env_file.read_bytes(), auth_file.read_bytes()
    _answer(monkeypatch, login_case.password + "-wrong" if case == "wrong-password"
            else login_case.password)
    changes: dict[str, str] = {}
    if case == "wrong-zone":
        changes["zone"] = "noSuchZone"
    elif case == "unknown-host":
        changes["host"] = "no-such-host.invalid"
    elif case == "closed-port":
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            changes.update(host="127.0.0.1", port=str(probe.getsockname()[1]))
    elif case == "missing-ca":
        changes["ca_file"] = str(tmp_path / "no-such-ca.pem")
    elif case == "wrong-ca":
        other = tmp_path / "other-ca.pem"
        other.write_text(_self_signed_ca(tmp_path))
        changes["ca_file"] = str(other)
    line = _one_line(CliRunner().invoke(main, login_case.args(**changes)))
    assert needle in line, line
    assert "nothing was changed" in line
    assert env_file.read_bytes() == old_env and auth_file.read_bytes() == old_auth
    assert sorted(p.name for p in env_file.parent.iterdir()) == [".irodsA",
                                                                  "irods_environment.json"]


def _self_signed_ca(folder: Path) -> str:
    """A CA certificate that signed nothing the server holds."""
    key, cert = folder / "other.key", folder / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=not-the-server-ca", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_text()


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, EOFError])
def test_an_aborted_login_changes_nothing(
    tls_server: EmbeddedServer, tls_zone: Zone, working_setup: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException],
) -> None:
    """Embedded only: a real server's agent hangs when a client leaves mid-conversation."""
    env_file, auth_file = working_setup
    old_env, old_auth = env_file.read_bytes(), auth_file.read_bytes()

    def abort(prompt: str = "") -> str:
        raise interrupt()

    monkeypatch.setattr(getpass, "getpass", abort)
    line = _one_line(CliRunner().invoke(main, _embedded_case(tls_server, tls_zone).args()))
    assert "the login was aborted; nothing was changed" in line
    assert env_file.read_bytes() == old_env and auth_file.read_bytes() == old_auth


# -- check and every transfer: credentials that cannot work are named in one line ------------
@pytest.mark.parametrize(("stored", "needle"), [
    pytest.param(None, "no iRODS credentials were found", id="missing"),
    pytest.param(b"", "the password file is empty or damaged", id="empty"),
    pytest.param(b"x", "the password file is empty or damaged", id="garbled"),
])
def test_check_without_usable_credentials_is_one_line(
    zone: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: bytes | None,
    needle: str,
) -> None:
    auth_file = tmp_path / ".irodsA"
    if stored is not None:
        auth_file.write_bytes(stored)
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(zone.user.env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
    for args in (["check"], ["ls", zone.user.home]):
        line = _one_line(CliRunner().invoke(main, args, input=""))
        assert needle in line and "mango-transfer login" in line, line
        assert "Aborted" not in line


def test_a_wrong_zone_name_says_to_check_it(
    zone: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = json.loads(zone.user.env_file.read_text())
    settings["irods_zone_name"] = "noSuchZone"
    env_file = tmp_path / "irods_environment.json"
    env_file.write_text(json.dumps(settings))
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(zone.user.auth_file))
    line = _one_line(CliRunner().invoke(main, ["check"]))
    assert "irods_zone_name" in line, line
