"""Load and check the iRODS environment file: the only place that reads it and its env vars.

PRC reads ``irods_environment.json`` itself and fails late and cryptically on common mistakes
(``"irods_port": "1247"`` surfaces as a socket error, a missing file as an empty account). So we
read it first, report every problem as a one-line :class:`ConfigError` naming the file, the
field, the value and the fix, and only then hand the path to PRC.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from irods.password_obfuscation import decode
from irods.session import iRODSSession

from mango_transfer.errors import AuthError, ConfigError
from mango_transfer.irods.errors import translate_irods_errors
from mango_transfer.localfs.atomic import write_atomically

__all__ = [
    "FixResult",
    "IrodsEnvironment",
    "auth_file_path",
    "check_stored_password",
    "environment_path",
    "environment_problems",
    "fix_environment",
    "load_environment",
    "open_session",
]

REQUIRED_KEYS = ("irods_host", "irods_port", "irods_user_name", "irods_zone_name")
# Integers PRC packs into the wire protocol or uses as socket/crypto sizes: a string breaks them.
INT_KEYS = (
    "irods_port",
    "irods_authentication_uid",
    "irods_encryption_key_size",
    "irods_encryption_salt_size",
    "irods_encryption_num_hash_rounds",
    "irods_connection_refresh_time",
    "irods_maximum_size_for_single_buffer_in_megabytes",
    "irods_default_number_of_transfer_threads",
    "irods_transfer_buffer_size_for_parallel_transfer_in_megabytes",
)
STR_KEYS = (
    "irods_host",
    "irods_user_name",
    "irods_zone_name",
    "irods_authentication_scheme",
    "irods_authentication_file",
    "irods_default_resource",
    "irods_home",
    "irods_cwd",
    "irods_client_server_policy",
    "irods_client_server_negotiation",
    "irods_ssl_verify_server",
    "irods_ssl_ca_certificate_file",
    "irods_encryption_algorithm",
)
_FIX = "or run `mango-transfer check --fix`"
_LOGIN = "run `mango-transfer login USER ZONE HOST` to create it, or set IRODS_ENVIRONMENT_FILE"


@dataclass(frozen=True)
class IrodsEnvironment:
    """A validated environment: where it came from and the values the engine needs."""

    path: Path
    auth_file: Path
    settings: Mapping[str, Any] = field(repr=False)
    host: str
    port: int
    zone: str
    user: str
    scheme: str
    default_resource: str | None
    home: str
    cwd: str = ""  # irods_cwd, else home: where a relative iRODS path starts

    @property
    def working_collection(self) -> str:
        return self.cwd or self.home


@dataclass(frozen=True)
class FixResult:
    """What ``fix_environment`` changed: ``{field: (old, new)}`` and the backup it wrote."""

    path: Path
    backup: Path | None
    changes: Mapping[str, tuple[Any, Any]]


def environment_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$IRODS_ENVIRONMENT_FILE`` or ``~/.irods/irods_environment.json``, as iCommands and PRC."""
    env = os.environ if environ is None else environ
    if value := env.get("IRODS_ENVIRONMENT_FILE"):
        return Path(value).expanduser()
    return Path("~/.irods/irods_environment.json").expanduser()


def auth_file_path(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    """Where the scrambled password (``.irodsA``) lives.

    Precedence follows PRC: the env file's ``irods_authentication_file`` wins over
    ``$IRODS_AUTHENTICATION_FILE`` (PRC merges keyword arguments only for keys the file lacks),
    which wins over ``~/.irods/.irodsA``.
    """
    env = os.environ if environ is None else environ
    value = settings.get("irods_authentication_file") or env.get("IRODS_AUTHENTICATION_FILE")
    return Path(value or "~/.irods/.irodsA").expanduser()


def _read_settings(path: Path) -> dict[str, Any]:
    """Read and parse the file; every failure becomes a one-line ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("environment file not found", path=path, hint=_LOGIN) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the environment file ({exc.strerror})", path=path,
                          hint="check its permissions") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError("the file starts with a UTF-8 byte-order mark, which PRC cannot read",
                          path=path, hint=f"save it as UTF-8 without BOM, {_FIX}", fixable=True)
    return _parse_json(raw, path)


def _parse_json(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path,
                          hint="save the file as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})",
                          path=path, hint="correct the file in a text editor") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"expected a JSON object {{...}}, found {type(data).__name__}",
                          path=path, hint="correct the file in a text editor")
    return data


def _int_problem(path: Path, key: str, value: Any) -> ConfigError | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return ConfigError(f"is the string {json.dumps(value)} but must be a number", path=path,
                           field=key, fixable=True,
                           hint=f"write {value.strip()} without quotes, {_FIX}")
    return ConfigError(f"must be a whole number, found {json.dumps(value)}", path=path,
                       field=key, hint="correct the value in a text editor")


def _str_problem(path: Path, key: str, value: Any) -> ConfigError | None:
    if isinstance(value, str):
        return None
    return ConfigError(f"must be a string in quotes, found {json.dumps(value)}", path=path,
                       field=key, hint=f'write "{value}" with quotes')


def environment_problems(settings: Mapping[str, Any], path: Path) -> list[ConfigError]:
    """Every problem in parsed settings, in a stable order (for ``mango-transfer check``)."""
    problems = [
        ConfigError("required field is missing", path=path, field=key,
                    hint=f'add "{key}" to the file, or run `mango-transfer login USER ZONE HOST`')
        for key in REQUIRED_KEYS if key not in settings
    ]
    for key in INT_KEYS:
        if key in settings and (problem := _int_problem(path, key, settings[key])):
            problems.append(problem)
    for key in STR_KEYS:
        if key in settings and (problem := _str_problem(path, key, settings[key])):
            problems.append(problem)
    port = settings.get("irods_port")
    if type(port) is int and not 0 < port < 65536:
        problems.append(ConfigError(f"port {port} is out of range", path=path, field="irods_port",
                                    hint="use the server's port, usually 1247"))
    return problems


def load_environment(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> IrodsEnvironment:
    """Read and validate the environment; raise the first ConfigError found.

    ``environ`` replaces ``os.environ`` so tests and the CLI pass variables explicitly.
    """
    env_path = Path(path) if path is not None else environment_path(environ)
    settings = _read_settings(env_path)
    if problems := environment_problems(settings, env_path):
        raise problems[0]
    zone, user = settings["irods_zone_name"], settings["irods_user_name"]
    return IrodsEnvironment(
        path=env_path,
        auth_file=auth_file_path(settings, environ),
        settings=MappingProxyType(dict(settings)),
        host=settings["irods_host"],
        port=settings["irods_port"],
        zone=zone,
        user=user,
        scheme=settings.get("irods_authentication_scheme", "native"),
        default_resource=settings.get("irods_default_resource") or None,
        home=settings.get("irods_home") or f"/{zone}/home/{user}",
        cwd=settings.get("irods_cwd") or settings.get("irods_home") or f"/{zone}/home/{user}",
    )


def _backup_path(path: Path) -> Path:
    """``<file>.bak``, or a timestamped name so an earlier backup is never overwritten."""
    plain = path.with_name(path.name + ".bak")
    if not plain.exists():
        return plain
    return path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")


def fix_environment(path: str | os.PathLike[str]) -> FixResult:
    """Rewrite the file with numeric strings as numbers (and no BOM), after a backup.

    Only unambiguous fixes are made; anything else still needs a human and is left alone
    (``environment_problems`` reports it). Returns no backup when nothing needed fixing.
    """
    env_path = Path(path)
    try:
        raw = env_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("environment file not found", path=env_path, hint=_LOGIN) from None
    had_bom = raw.startswith(b"\xef\xbb\xbf")
    settings = _parse_json(raw[3:] if had_bom else raw, env_path)
    changes: dict[str, tuple[Any, Any]] = {}
    for key in INT_KEYS:
        problem = _int_problem(env_path, key, settings.get(key, 0))
        if problem is not None and problem.fixable:
            changes[key] = (settings[key], int(settings[key].strip()))
            settings[key] = changes[key][1]
    if not changes and not had_bom:
        return FixResult(path=env_path, backup=None, changes={})
    backup = _backup_path(env_path)
    shutil.copy2(env_path, backup)
    write_atomically(env_path, json.dumps(settings, indent=4, ensure_ascii=False) + "\n",
                     mode=env_path.stat().st_mode & 0o777)  # keep its mode
    return FixResult(path=env_path, backup=backup, changes=MappingProxyType(changes))


def check_stored_password(auth_file: Path) -> None:
    """Raise one AuthError when ``auth_file`` (``.irodsA``) is missing, empty or damaged."""
    login = "log in with `mango-transfer login USER ZONE HOST`"
    try:
        text = auth_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise AuthError("no iRODS credentials were found (no password file)", path=auth_file,
                        hint=f"{login}, or set IRODS_AUTHENTICATION_FILE") from None
    except OSError as exc:
        raise AuthError(f"the password file cannot be read ({exc.strerror})", path=auth_file,
                        hint="check its permissions") from exc
    except UnicodeDecodeError:
        text = ""  # PRC writes ASCII only
    try:
        # The uid only salts the letters: any one tells whether anything is stored, and 0
        # needs no platform call (PRC's default asks os.getuid or os.getlogin).
        password = decode(text, uid=0) if text else ""
    except Exception:  # noqa: BLE001 - PRC's decoder raises IndexError and others
        password = ""
    if not password:
        raise AuthError("the password file is empty or damaged", path=auth_file,
                        hint="run `mango-transfer login` again")


def open_session(env: IrodsEnvironment, **overrides: Any) -> iRODSSession:
    """Open a PRC session from a validated environment.

    PRC reads the file itself (TLS, encryption, scheme settings); we pass the authentication
    file we resolved so ``$IRODS_AUTHENTICATION_FILE`` is honoured. ``overrides`` reach PRC only
    for keys absent from the file (PRC's own merge rule). PRC connects lazily, so this fails
    only on local problems (e.g. no stored password); connection errors come at first use.
    Without a password among ``overrides`` the stored one must be usable first
    (:func:`check_stored_password`): PRC would prompt for one, or fail with an IndexError.
    """
    if "password" not in overrides:
        check_stored_password(env.auth_file)
    with translate_irods_errors():
        return iRODSSession(
            irods_env_file=os.fspath(env.path),
            irods_authentication_file=os.fspath(env.auth_file),
            **overrides,
        )
