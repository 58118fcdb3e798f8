"""TLS with CS_NEG_REQUIRE, and the PAM schemes ManGO uses (temporary password, then native)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.exception import CAT_INVALID_AUTHENTICATION, NetworkException
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    script = [
        {"kind": "poll", "prompt": "Waiting for device authorization", "count": 2},
        {"kind": "password", "prompt": "Password:"},
    ]
    with EmbeddedServer(tmp_path_factory.mktemp("tls-zone"), ssl=True, pam_script=script) as server:
        yield server


def _env_with(server: EmbeddedServer, directory: Path, **changes: object) -> Path:
    env = json.loads(server.env_file.read_text())
    env.update(changes)
    path = directory / "irods_environment.json"
    path.write_text(json.dumps(env))
    return path


def test_tls_required_and_used(tls_server: EmbeddedServer) -> None:
    env = json.loads(tls_server.env_file.read_text())
    assert env["irods_client_server_policy"] == "CS_NEG_REQUIRE"
    with iRODSSession(irods_env_file=str(tls_server.env_file),
                      irods_authentication_file=str(tls_server.auth_file)) as session:
        assert session.collections.get(tls_server.home).name == "rods"
        with session.pool.get_connection() as connection:
            assert connection.socket.version() is not None  # an SSLSocket: TLS is in use


def test_client_refusing_tls_is_rejected(tls_server: EmbeddedServer, tmp_path: Path) -> None:
    env_file = _env_with(tls_server, tmp_path, irods_client_server_policy="CS_NEG_REFUSE")
    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(tls_server.auth_file)) as session:
        with pytest.raises(NetworkException):
            session.collections.get(tls_server.home)


def test_wrong_ca_fails(tls_server: EmbeddedServer, tmp_path: Path) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    env_file = _env_with(tls_server, tmp_path, irods_ssl_ca_certificate_file=str(other_ca))
    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(tls_server.auth_file)) as session:
        with pytest.raises((NetworkException, OSError)):
            session.collections.get(tls_server.home)


def test_pam_interactive_login_then_token(tls_server: EmbeddedServer, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = _env_with(tls_server, tmp_path, irods_authentication_scheme="pam_interactive")
    auth_file = tmp_path / ".irodsA"
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
    prompts: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": prompts.append(prompt) or "rods")
    from irods.auth.pam_interactive import __name__ as _module  # noqa: F401 - the client flow under test

    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(auth_file)) as session:
        session.set_auth_option_for_scheme("pam_interactive", "force_password_prompt", True)
        assert session.collections.get(tls_server.home).name == "rods"
    assert prompts, "the scripted conversation asked for the password"
    assert auth_file.exists(), "PRC stored the temporary password"
    # The next session authenticates with the stored token and no prompt.
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail("prompted again"))
    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(auth_file)) as session:
        assert session.collections.exists(tls_server.home)


def test_pam_interactive_wrong_password(tls_server: EmbeddedServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = _env_with(tls_server, tmp_path, irods_authentication_scheme="pam_interactive")
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "wrong")
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(tmp_path / ".irodsA"))
    from irods.auth import ClientAuthError

    with iRODSSession(irods_env_file=str(env_file), irods_authentication_file=str(tmp_path / ".irodsA")) as session:
        session.set_auth_option_for_scheme("pam_interactive", "force_password_prompt", True)
        with pytest.raises(ClientAuthError):
            session.collections.get(tls_server.home)


def test_pam_password(tls_server: EmbeddedServer, tmp_path: Path) -> None:
    env = json.loads(tls_server.env_file.read_text())
    with iRODSSession(host="127.0.0.1", port=tls_server.port, user="rods", zone="tempZone",
                      password="rods", authentication_scheme="pam_password",
                      client_server_negotiation="request_server_negotiation",
                      client_server_policy="CS_NEG_REQUIRE",
                      ssl_ca_certificate_file=env["irods_ssl_ca_certificate_file"],
                      ssl_verify_server="cert", encryption_algorithm="AES-256-CBC",
                      encryption_key_size=32, encryption_num_hash_rounds=16,
                      encryption_salt_size=8) as session:
        assert session.collections.exists(tls_server.home)


def test_pam_refused_without_tls(irods_server: EmbeddedServer) -> None:
    from irods.exception import SYS_NOT_ALLOWED, iRODSException

    with iRODSSession(host="127.0.0.1", port=irods_server.port, user="rods", zone="tempZone",
                      password="rods", authentication_scheme="pam_password") as session:
        session.set_auth_option_for_scheme("pam_password", "ensure_ssl_is_active", False)
        with pytest.raises((SYS_NOT_ALLOWED, iRODSException)):
            session.collections.get(irods_server.home)
    assert CAT_INVALID_AUTHENTICATION  # the native failure class is covered in test_protocol_basics
