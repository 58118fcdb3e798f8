"""Every bad input of the issue: one line naming the field/path and what to do, exit ≠ 0, no
traceback. Runs the real CLI (click's CliRunner) against the embedded server."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mango_transfer.cli.main import main
from mango_transfer.server.client_env import write_client_files
from tests.zones import Zone


def _invoke(env_file: Path, auth_file: Path, *args: str) -> Result:
    env = {"IRODS_ENVIRONMENT_FILE": str(env_file), "IRODS_AUTHENTICATION_FILE": str(auth_file),
           "XDG_STATE_HOME": str(env_file.parent / "state")}
    return CliRunner().invoke(main, [*args], env=env)


def _one_line_error(result: Result, *fragments: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("mango-transfer:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def client(tmp_path: Path, zone: Zone) -> tuple[Path, Path, dict[str, object]]:
    """A private copy of the test user's client files, for the test to break."""
    settings = json.loads(zone.user.env_file.read_text())
    env_file, auth_file = write_client_files(tmp_path / "client", settings, zone.user.password)
    return env_file, auth_file, settings


def _write(env_file: Path, settings: dict[str, object]) -> None:
    env_file.write_text(json.dumps(settings))


def test_environment_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "irods_environment.json"
    result = _invoke(missing, tmp_path / ".irodsA", "upload", str(tmp_path), "/tempZone/x",
                     "-q")
    _one_line_error(result, str(missing), "environment file not found", "mango-transfer login")


def test_invalid_json(client: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    env_file, auth_file, _ = client
    env_file.write_text('{"irods_host": "x",}')
    result = _invoke(env_file, auth_file, "download", "/tempZone/home", str(tmp_path / "o"),
                     "-q")
    _one_line_error(result, str(env_file), "invalid JSON at line 1")


@pytest.mark.parametrize("key", ["irods_port", "irods_authentication_uid"])
def test_number_as_string_named_and_fixable(
    client: tuple[Path, Path, dict[str, object]], tmp_path: Path, key: str,
) -> None:
    env_file, auth_file, settings = client
    value = str(settings.get(key, os.getuid()))  # the uid .irodsA was scrambled with
    _write(env_file, {**settings, key: value})
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), "/tempZone/x", "-q")
    _one_line_error(result, f'field "{key}"', f'"{value}"', "check --fix")

    fixed = _invoke(env_file, auth_file, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "backup written" in fixed.output and "OK; connected" in fixed.output
    assert json.loads(env_file.read_text())[key] == int(value)
    assert json.loads(env_file.with_name(env_file.name + ".bak").read_text())[key] == value


def test_missing_keys(client: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    env_file, auth_file, settings = client
    _write(env_file, {k: v for k, v in settings.items() if k != "irods_host"})
    result = _invoke(env_file, auth_file, "check")
    _one_line_error(result, 'field "irods_host"', "required field is missing")


def test_wrong_password(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                        zone: Zone) -> None:
    env_file, _, settings = client
    env_file, auth_file = write_client_files(env_file.parent, settings, "not-the-password")
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), f"{zone.home}/x", "-q")
    _one_line_error(result, "refused the login", "mango-transfer login")


def test_server_unreachable(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                            zone: Zone) -> None:
    env_file, auth_file, settings = client
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _write(env_file, {**settings, "irods_port": port})
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), f"{zone.home}/x",
                     "-q", "--retries", "0")
    _one_line_error(result, "connection to the iRODS server failed", "irods_port")


def test_local_source_missing(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                              zone: Zone) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "upload", str(tmp_path / "gone"), f"{zone.home}/x",
                     "-q")
    _one_line_error(result, str(tmp_path / "gone"), "local source does not exist")


def test_remote_source_missing(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                               zone: Zone) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "download", f"{zone.home}/gone", str(tmp_path / "o"),
                     "-q")
    _one_line_error(result, f"{zone.home}/gone", "remote source does not exist")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_no_permission_on_destination(zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    """The second user uploads into the test user's collection, which it was never given."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    result = _invoke(zone.other.env_file, zone.other.auth_file, "upload", str(src), remote_dir,
                     "-q")
    _one_line_error(result, remote_dir, "cannot create or see the destination collection",
                    "ask the owner for access")


def test_sync_needs_one_remote_side(client: tuple[Path, Path, dict[str, object]],
                                    tmp_path: Path) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "sync", str(tmp_path), str(tmp_path / "b"), "-q")
    _one_line_error(result, "exactly one iRODS side")


@pytest.mark.parametrize("size", [pytest.param(5, id="single-buffer"),
                                  pytest.param(40 << 20, id="chunked")])
def test_upload_onto_an_object_the_user_may_only_read(zone: Zone, remote_dir: str,
                                                      tmp_path: Path, size: int) -> None:
    """The second user may create in the collection but only read the object it would replace:
    the file fails by name with a permission message, not an iRODS error number."""
    from irods.access import iRODSAccess

    with zone.user.session() as owner:
        with owner.data_objects.open(f"{remote_dir}/a.bin", "w") as handle:
            handle.write(b"orig")
        owner.acls.set(iRODSAccess("write", remote_dir, zone.other.name))
        owner.acls.set(iRODSAccess("read", f"{remote_dir}/a.bin", zone.other.name))
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(size))
    result = _invoke(zone.other.env_file, zone.other.auth_file, "upload", str(src), remote_dir,
                     "-q", "--chunk-threshold", "32M")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: a.bin:")]
    assert len(failed) == 1, result.stderr
    assert "the data object exists and this user may not write it" in failed[0]
    assert "ask its owner for write access" in failed[0]
    with zone.user.session() as owner, owner.data_objects.open(f"{remote_dir}/a.bin", "r") as handle:
        assert handle.read() == b"orig"
