"""``mango-transfer login USER ZONE HOST`` end to end: mango-auth's pam_interactive over TLS
against the embedded server, then a transfer with the written environment and no prompt."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mango_transfer.cli.main import main
from mango_transfer.server import EmbeddedServer
from tests.zones import Zone, users_of


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
