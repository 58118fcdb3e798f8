"""``mango-transfer login``: a ManGO login (pam_interactive over TLS) that never breaks a
working setup.

mango-auth's ``iinit`` writes the environment file and deletes ``.irodsA`` before it even
connects, and leaves the typed PAM password in plain text in ``.irodsA.json``. So the login
here takes mango-auth's environment template but runs the conversation against a private
temporary folder: the new environment file and the ``.irodsA`` python-irodsclient writes
there are moved into place only after the server accepted the credentials, each atomically
(``localfs.atomic``), the previous files kept as ``*.bak``. Any failure (a wrong password, an
unknown or unreachable host, a TLS failure or missing CA file, an aborted conversation) leaves
both files byte for byte as they were. No password is stored in plain text: the temporary
folder is removed, and a ``.irodsA.json`` left beside the ``.irodsA`` by mango-auth is removed.

A server prompt that names a URL to visit (a device-code flow) is shown on stderr and opened
in the browser, as mango-auth does; nothing else is printed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import ssl
import sys
import tempfile
import webbrowser
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irods.session import iRODSSession

from mango_transfer.errors import AuthError, ConfigError, ConnectionFailed, MangoError
from mango_transfer.irods.errors import to_mango_error
from mango_transfer.localfs.atomic import write_atomically

__all__ = ["LoginTarget", "pam_login"]

_URL = re.compile(r"Please authenticate at (https?://\S+)", re.IGNORECASE)
_PROMPTS = "irods.auth.pam_interactive"  # the logger python-irodsclient shows prompts on


@dataclass(frozen=True)
class LoginTarget:
    """Where the login's two files go (what the rest of mango-transfer will read)."""

    env_file: Path
    auth_file: Path

    @property
    def plain_text(self) -> Path:
        """mango-auth's ``.irodsA.json``: the PAM conversation's state, password included."""
        return self.auth_file.with_name(self.auth_file.name + ".json")


class _Prompts(logging.Handler):
    """Show the server's prompts of a conversation (not its errors); open a URL it names."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(lambda record: record.levelno == logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        sys.stderr.write(message + "\n")
        if match := _URL.search(message):
            webbrowser.open(match.group(1))


@contextlib.contextmanager
def _variable(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` for the block: python-irodsclient writes the ``.irodsA``
    where ``$IRODS_AUTHENTICATION_FILE`` says, whatever the session was given."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@contextlib.contextmanager
def _showing_prompts() -> Iterator[None]:
    logger = logging.getLogger(_PROMPTS)
    handler, level = _Prompts(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _converse(env_file: Path, auth_file: Path, ttl: int) -> None:
    """Run the pam_interactive conversation with the files in ``env_file``'s folder; the
    server's token ends up in ``auth_file``. Raises what python-irodsclient raises."""
    with _variable("IRODS_AUTHENTICATION_FILE", os.fspath(auth_file)), _showing_prompts():
        session = iRODSSession(irods_env_file=os.fspath(env_file),
                               irods_authentication_file=os.fspath(auth_file))
        try:
            session.set_auth_option_for_scheme("pam_interactive", "a_ttl", str(ttl))
            session.pool.get_connection().release()
        finally:
            session.cleanup()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """``exc`` or an exception in its chain of causes is a ``kind``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _hint(exc: BaseException, mango: MangoError, login: Mapping[str, Any]) -> str:
    """What to check, in the terms of the command line the user typed."""
    if isinstance(mango, ConnectionFailed):
        if _caused_by(exc, ssl.SSLCertVerificationError):
            return "check the CA file given with --ca-file"
        if _caused_by(exc, socket.gaierror):
            return f"check the host name {login['irods_host']!r} you typed"
        if _caused_by(exc, OSError):
            return (f"check the host {login['irods_host']!r} and port {login['irods_port']} you "
                    f"typed, and your network")
        return mango.hint
    if isinstance(mango, AuthError):
        return (f"check the user name {login['irods_user_name']!r}, the zone name "
                f"{login['irods_zone_name']!r} and the password, then log in again")
    return mango.hint


def _failure(exc: BaseException, login: Mapping[str, Any]) -> MangoError:
    """One line for a failed login, naming what the user typed where it is the cause."""
    if isinstance(exc, (KeyboardInterrupt, EOFError)):
        return AuthError("the login was aborted; nothing was changed",
                         hint="run `mango-transfer login` again and answer the prompts")
    mango = to_mango_error(exc) or AuthError(f"the login stopped ({type(exc).__name__}: {exc})")
    mango.hint = _hint(exc, mango, login)
    mango.detail = f"login failed: {mango.detail}; nothing was changed"
    return mango


def _keep_previous(path: Path) -> None:
    """Copy ``path`` (when it exists) to ``path.bak``, atomically, keeping its mode."""
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        return
    write_atomically(path.with_name(path.name + ".bak"), old, mode=path.stat().st_mode & 0o777)


def _install(staged_env: Path, staged_auth: Path, target: LoginTarget) -> None:
    """Move the accepted login's files into place: previous ones to ``*.bak`` first."""
    token = staged_auth.read_text(encoding="ascii") if staged_auth.exists() else ""
    if not token.strip():
        raise AuthError("the server accepted the login but sent no credentials to keep; "
                        "nothing was changed", hint="log in again")
    for path in (target.env_file, target.auth_file):
        path.parent.mkdir(parents=True, exist_ok=True)
        _keep_previous(path)
    write_atomically(target.env_file, staged_env.read_text(encoding="utf-8"), mode=0o644)
    write_atomically(target.auth_file, token)
    target.plain_text.unlink(missing_ok=True)


def pam_login(user: str, zone: str, host: str, target: LoginTarget, *, ttl: int,
              overrides: Mapping[str, Any]) -> None:
    """Log in as the module docstring says; raise one MangoError when it fails."""
    import mango_auth  # the ManGO environment template

    config = mango_auth.get_config(user, zone, host, **overrides)
    ca_file = config.get("irods_ssl_ca_certificate_file")
    if ca_file and not os.path.isfile(ca_file):
        raise ConfigError("the CA file does not exist; nothing was changed", path=ca_file,
                          hint="give the CA certificate of your iRODS server with --ca-file")
    with tempfile.TemporaryDirectory(prefix="mango-login-") as folder:
        staged_env = Path(folder) / "irods_environment.json"
        staged_auth = Path(folder) / ".irodsA"
        staged_env.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
        try:
            _converse(staged_env, staged_auth, ttl)
        except (Exception, KeyboardInterrupt) as exc:
            raise _failure(exc, config) from exc
        _install(staged_env, staged_auth, target)
