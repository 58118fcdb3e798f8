"""The zones the end-to-end tests run against: the embedded server, and a real iRODS zone.

Every end-to-end test talks TCP to a zone as a regular ``rodsuser`` made for the test session,
because that is who our users are; the zone's admin account only sets that user up (and a
second user for ACL tests) and removes them afterwards.

- ``embedded``: ``mango-transfer serve`` as a child process, its admin ``rods``. Fault injection
  and the server's internals are reachable through :attr:`Zone.server`.
- ``real``: any zone named by two environment variables, ``MANGO_TEST_ENV`` (an
  ``irods_environment.json``) and ``MANGO_TEST_AUTH`` (its ``.irodsA``), of an account that may
  create users (``rodsadmin``). CI points them at the iRODS 5.0.2 zone that
  ``../shared/real-irods/zone.sh start`` runs. Without them the real-zone variants are skipped,
  unless ``MANGO_REQUIRE_REAL_ZONE=1`` (set by ``scripts/test.sh``), which makes a missing zone
  an error instead of a silent skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from irods.password_obfuscation import encode
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer, ServerProcess

__all__ = ["REAL_ENV_VARS", "Account", "Zone", "real_zone_requested", "real_zone_required"]

REAL_ENV_VARS = ("MANGO_TEST_ENV", "MANGO_TEST_AUTH")


def real_zone_requested() -> bool:
    return all(os.environ.get(name) for name in REAL_ENV_VARS)


def real_zone_required() -> bool:
    return os.environ.get("MANGO_REQUIRE_REAL_ZONE", "") == "1"


@dataclass(frozen=True)
class Account:
    """One user's client files: what ``IRODS_ENVIRONMENT_FILE``/``..._AUTHENTICATION_FILE`` name."""

    name: str
    env_file: Path
    auth_file: Path
    home: str
    password: str = ""

    def session(self, **options: object) -> iRODSSession:
        return iRODSSession(irods_env_file=str(self.env_file),
                            irods_authentication_file=str(self.auth_file), **options)

    def environ(self, **extra: str) -> dict[str, str]:
        """The variables a run reads, for ``environ=`` or a subprocess's environment."""
        return {"IRODS_ENVIRONMENT_FILE": str(self.env_file),
                "IRODS_AUTHENTICATION_FILE": str(self.auth_file), **extra}


@dataclass
class Zone:
    """A zone under test: its admin (set-up only), the test user, and a second user."""

    kind: str  # "embedded" or "real"
    zone_name: str
    host: str
    port: int
    admin: Account
    user: Account
    other: Account
    server: EmbeddedServer | None = None  # the embedded server, for faults and internals
    _cleanup: list[str] = field(default_factory=list)

    @property
    def embedded(self) -> bool:
        return self.server is not None

    # The test user's client files and the port: what most tests hand to a run or the CLI.
    @property
    def env_file(self) -> Path:
        return self.user.env_file

    @property
    def auth_file(self) -> Path:
        return self.user.auth_file

    def set_faults(self, spec: str) -> None:
        """Fault injection: the embedded server only (mark the test ``embedded_only``)."""
        if self.server is None:
            raise RuntimeError("fault injection needs the embedded server: mark the test "
                               "@pytest.mark.embedded_only(...)")
        self.server.set_faults(spec)

    @property
    def home(self) -> str:
        return self.user.home

    def environ(self, **extra: str) -> dict[str, str]:
        """The test user's variables for a run or a subprocess (see :meth:`Account.environ`)."""
        return self.user.environ(**extra)

    def scaled(self, embedded: int, real: int) -> int:
        """A count sized for this zone, e.g. of small files in a tree.

        A real iRODS server spends about 25 times more work per small file than the embedded
        one (open, write, close and touch each hit its catalog), so a test whose point does not
        need many files makes fewer there and keeps the CI run short.
        """
        return embedded if self.embedded else real

    @property
    def trash(self) -> str:
        return f"/{self.zone_name}/trash/home/{self.user.name}"

    @contextlib.contextmanager
    def scratch(self, name: str) -> Iterator[str]:
        """A fresh collection in the test user's home, removed (with its trash) afterwards."""
        path = f"{self.home}/{name}-{os.getpid()}-{secrets.token_hex(3)}"
        with self.user.session() as session:
            session.collections.create(path)
            try:
                yield path
            finally:
                with contextlib.suppress(Exception):
                    session.collections.remove(path, recurse=True, force=True)


def _client_files(folder: Path, template: dict[str, object], user: str, zone_name: str,
                  password: str) -> Account:
    folder.mkdir(parents=True, exist_ok=True)
    home = f"/{zone_name}/home/{user}"
    env = dict(template)
    env.update(irods_user_name=user, irods_home=home, irods_cwd=home)
    # Named by IRODS_AUTHENTICATION_FILE only: in the env file it would override the variable
    # (PRC), and a test that points a run at another .irodsA would silently log in anyway.
    env.pop("irods_authentication_file", None)
    env_file = folder / "irods_environment.json"
    env_file.write_text(json.dumps(env, indent=2), encoding="utf-8")
    auth_file = folder / ".irodsA"
    auth_file.write_text(encode(password), encoding="utf-8")
    auth_file.chmod(0o600)
    return Account(user, env_file, auth_file, home, password)


def _create_user(admin: Account, name: str, password: str) -> None:
    with admin.session() as session:
        session.users.create(name, "rodsuser")
        session.users.modify(name, "password", password)


def _remove_user(admin: Account, account: Account, zone_name: str) -> None:
    """Remove what the user left (home and trash, as the user), then the user (as admin)."""
    with contextlib.suppress(Exception), account.session() as session:
        for path in (account.home, f"/{zone_name}/trash/home/{account.name}"):
            with contextlib.suppress(Exception):
                coll = session.collections.get(path)
                for child in coll.subcollections:
                    session.collections.remove(child.path, recurse=True, force=True)
                for obj in coll.data_objects:
                    session.data_objects.unlink(obj.path, force=True)
    with contextlib.suppress(Exception), admin.session() as session:
        session.users.remove(account.name)


def make_zone(kind: str, folder: Path, admin: Account, host: str, port: int, zone_name: str,
              server: EmbeddedServer | None = None, password: str | None = None) -> Zone:
    """Create the session's test users in the zone and write their client files.

    ``password`` is the test user's, for a test that looks for it in outputs; by default both
    users get random ones. Names carry the pid and a random tag, so parallel runs never meet.
    """
    template = json.loads(admin.env_file.read_text(encoding="utf-8"))
    tag = f"{os.getpid()}{secrets.token_hex(2)}"
    accounts = []
    for role in ("user", "other"):
        name = f"mt{role}{tag}"
        chosen = password if role == "user" and password else secrets.token_urlsafe(12)
        _create_user(admin, name, chosen)
        accounts.append(_client_files(folder / name, template, name, zone_name, chosen))
    return Zone(kind, zone_name, host, port, admin, accounts[0], accounts[1], server)


def close_zone(zone: Zone) -> None:
    for account in (zone.user, zone.other):
        _remove_user(zone.admin, account, zone.zone_name)


def admin_of_real_zone() -> tuple[Account, str, int, str]:
    env_file, auth_file = (Path(os.environ[name]) for name in REAL_ENV_VARS)
    env = json.loads(env_file.read_text(encoding="utf-8"))
    zone_name = str(env["irods_zone_name"])
    user = str(env["irods_user_name"])
    account = Account(user, env_file, auth_file, str(env.get("irods_home")
                                                          or f"/{zone_name}/home/{user}"))
    return account, str(env["irods_host"]), int(env["irods_port"]), zone_name


def admin_of_embedded(server: EmbeddedServer | ServerProcess) -> Account:
    env = json.loads(server.env_file.read_text(encoding="utf-8"))
    return Account(str(env["irods_user_name"]), server.env_file, server.auth_file,
                   str(env["irods_home"]))


@contextlib.contextmanager
def users_of(server: EmbeddedServer | ServerProcess, folder: Path,
             password: str | None = None) -> Iterator[Zone]:
    """Test users on an embedded server a test started itself (TLS, short PAM logins, its own
    admin password): they act as its rodsusers, as on the session's zone."""
    zone = make_zone("embedded", folder, admin_of_embedded(server), "127.0.0.1", server.port,
                     "tempZone", server if isinstance(server, EmbeddedServer) else None,
                     password)
    try:
        yield zone
    finally:
        close_zone(zone)
