"""Environment file loading, one-line problems, and check --fix."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from irods.password_obfuscation import encode

from mango_transfer.errors import AuthError, ConfigError
from mango_transfer.irods.environment import (
    auth_file_path,
    environment_path,
    environment_problems,
    fix_environment,
    load_environment,
    open_session,
)

GOOD: dict[str, Any] = {
    "irods_host": "ias.example.org",
    "irods_port": 1247,
    "irods_user_name": "alice",
    "irods_zone_name": "tempZone",
    "irods_authentication_scheme": "pam_interactive",
}


def write_env(tmp_path: Path, data: object, name: str = "irods_environment.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=4))
    return path


def problem(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_environment(path, environ={})
    message = info.value.user_message()
    assert "\n" not in message and str(path) in message
    return info.value


def test_load_good(tmp_path: Path) -> None:
    env = load_environment(write_env(tmp_path, GOOD), environ={})
    assert (env.host, env.port, env.zone, env.user) == ("ias.example.org", 1247, "tempZone",
                                                        "alice")
    assert env.scheme == "pam_interactive"
    assert env.home == "/tempZone/home/alice"
    assert env.default_resource is None
    assert env.auth_file == Path("~/.irods/.irodsA").expanduser()
    with pytest.raises(TypeError):
        env.settings["irods_port"] = 1  # type: ignore[index]


def test_paths_from_environment_variables(tmp_path: Path) -> None:
    environ = {"IRODS_ENVIRONMENT_FILE": str(tmp_path / "e.json"),
               "IRODS_AUTHENTICATION_FILE": str(tmp_path / "a")}
    assert environment_path(environ) == tmp_path / "e.json"
    assert environment_path({}) == Path("~/.irods/irods_environment.json").expanduser()
    assert auth_file_path({}, environ) == tmp_path / "a"
    # The env file's own setting wins, as in PRC.
    assert auth_file_path({"irods_authentication_file": "/x/y"}, environ) == Path("/x/y")
    write_env(tmp_path, GOOD, "e.json")
    assert load_environment(environ=environ).auth_file == tmp_path / "a"


def test_missing_file(tmp_path: Path) -> None:
    error = problem(tmp_path / "nope.json")
    assert "not found" in error.user_message() and "mango-transfer login" in error.user_message()


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write_env(tmp_path, '{\n  "irods_host": "h",\n  "irods_port": 1247\n  "x": 1\n}')
    assert "line 4, column 3" in problem(path).user_message()


def test_not_an_object(tmp_path: Path) -> None:
    assert "JSON object" in problem(write_env(tmp_path, "[1]")).user_message()


def test_bom_is_reported_and_fixable(tmp_path: Path) -> None:
    path = tmp_path / "irods_environment.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert problem(path).fixable
    fix_environment(path)
    assert load_environment(path, environ={}).port == 1247


@pytest.mark.parametrize("key", ["irods_host", "irods_port", "irods_user_name",
                                 "irods_zone_name"])
def test_missing_key(tmp_path: Path, key: str) -> None:
    data = {k: v for k, v in GOOD.items() if k != key}
    error = problem(write_env(tmp_path, data))
    assert error.field == key and "missing" in error.user_message()


@pytest.mark.parametrize(
    ("key", "value"),
    [("irods_port", "1247"), ("irods_authentication_uid", "1000"),
     ("irods_encryption_key_size", " 32 ")],
)
def test_number_as_string_names_field_value_and_fix(tmp_path: Path, key: str,
                                                    value: str) -> None:
    error = problem(write_env(tmp_path, {**GOOD, key: value}))
    message = error.user_message()
    assert error.field == key and error.fixable
    assert f'"{key}"' in message and json.dumps(value) in message
    assert "mango-transfer check --fix" in message


@pytest.mark.parametrize(
    ("key", "value", "fixable"),
    [("irods_port", "twelve", False), ("irods_port", True, False), ("irods_port", 70000, False),
     ("irods_host", 12, False), ("irods_zone_name", None, False)],
)
def test_other_wrong_values(tmp_path: Path, key: str, value: object, fixable: bool) -> None:
    error = problem(write_env(tmp_path, {**GOOD, key: value}))
    assert error.field == key and error.fixable is fixable


def test_all_problems_listed_in_order(tmp_path: Path) -> None:
    data = {"irods_port": "1247", "irods_authentication_uid": "1000", "irods_host": 3}
    path = tmp_path / "e.json"
    fields = [p.field for p in environment_problems(data, path)]
    assert fields == ["irods_user_name", "irods_zone_name", "irods_port",
                      "irods_authentication_uid", "irods_host"]


def test_fix_environment(tmp_path: Path) -> None:
    path = write_env(tmp_path, {**GOOD, "irods_port": "1247", "irods_authentication_uid": "1000"})
    if sys.platform != "win32":
        path.chmod(0o640)
    original = path.read_bytes()
    result = fix_environment(path)
    assert result.backup == tmp_path / "irods_environment.json.bak"
    assert result.backup.read_bytes() == original
    assert dict(result.changes) == {"irods_port": ("1247", 1247),
                                    "irods_authentication_uid": ("1000", 1000)}
    fixed = json.loads(path.read_text())
    assert fixed == {**GOOD, "irods_authentication_uid": 1000}
    assert list(fixed) == [*GOOD, "irods_authentication_uid"]  # key order kept
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o640
    assert load_environment(path, environ={}).port == 1247


def test_fix_keeps_earlier_backup(tmp_path: Path) -> None:
    path = write_env(tmp_path, {**GOOD, "irods_port": "1247"})
    (tmp_path / "irods_environment.json.bak").write_text("older backup")
    result = fix_environment(path)
    assert result.backup is not None and result.backup.name != "irods_environment.json.bak"
    assert (tmp_path / "irods_environment.json.bak").read_text() == "older backup"


def test_fix_without_problems_writes_nothing(tmp_path: Path) -> None:
    path = write_env(tmp_path, GOOD)
    result = fix_environment(path)
    assert result.backup is None and not result.changes
    assert sorted(os.listdir(tmp_path)) == ["irods_environment.json"]


def test_fix_cannot_fix_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        fix_environment(write_env(tmp_path, "{"))


def test_open_session_without_password_is_auth_error(tmp_path: Path) -> None:
    path = write_env(tmp_path, {**GOOD, "irods_authentication_scheme": "native"})
    env = load_environment(path, environ={"IRODS_AUTHENTICATION_FILE": str(tmp_path / "none")})
    with pytest.raises(AuthError) as info:
        open_session(env)  # before PRC, which would prompt for a password
    assert "no iRODS credentials were found" in info.value.user_message()
    assert "mango-transfer login" in info.value.user_message()


@pytest.mark.parametrize("stored", ["", "\n", "x", "\u00e9t\u00e9"])
def test_open_session_with_an_empty_or_damaged_password_file(tmp_path: Path, stored: str) -> None:
    path = write_env(tmp_path, {**GOOD, "irods_authentication_scheme": "native"})
    auth = tmp_path / ".irodsA"
    auth.write_text(stored, encoding="utf-8")
    env = load_environment(path, environ={"IRODS_AUTHENTICATION_FILE": str(auth)})
    with pytest.raises(AuthError) as info:
        open_session(env)
    assert "is empty or damaged" in info.value.user_message()


def test_open_session_is_lazy(tmp_path: Path) -> None:
    """PRC does not connect until first use: nothing listens on this port, yet no error."""
    path = write_env(tmp_path, {**GOOD, "irods_authentication_scheme": "native",
                                "irods_host": "127.0.0.1", "irods_port": 9})
    auth = tmp_path / ".irodsA"
    auth.write_text(encode("secret"))
    env = load_environment(path, environ={"IRODS_AUTHENTICATION_FILE": str(auth)})
    session = open_session(env)
    try:
        assert session.zone == "tempZone"
        assert session.pool.account.password == "secret"
    finally:
        session.cleanup()
