"""The iCommands against two zones: ``serve`` (the embedded server, over TCP) and the real iRODS
5.0.2 zone named by ``MANGO_TEST_ENV`` / ``MANGO_TEST_AUTH`` (an admin's environment file and
``.irodsA``).  Every test runs once per zone, as a rodsuser made for the session, and asserts the
same effects on both; ``both_zones`` tests compare the printed output directly.

Without the iCommands on PATH, or without a real zone, those cases are skipped, unless
``MANGO_REQUIRE_REAL_ZONE=1`` (CI): then they fail, so a missing install never passes silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from irods.password_obfuscation import encode
from irods.session import iRODSSession

from mango_transfer.server.app import ServerProcess

PASSWORD = "ic-test-pw"
TIMEOUT = 120


def _required() -> bool:
    return os.environ.get("MANGO_REQUIRE_REAL_ZONE") == "1"


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(f"{reason} (MANGO_REQUIRE_REAL_ZONE=1)")
    pytest.skip(reason)


@dataclass
class Zone:
    """One zone as a rodsuser sees it with the iCommands, plus an admin PRC session to inspect it."""

    name: str
    zone: str
    user: str
    env_file: Path
    auth_file: Path
    admin_env: Path
    admin_auth: Path
    workdir: Path

    @property
    def home(self) -> str:
        return f"/{self.zone}/home/{self.user}"

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, "IRODS_ENVIRONMENT_FILE": str(self.env_file),
                "IRODS_AUTHENTICATION_FILE": str(self.auth_file), "HOME": str(self.workdir)}

    def run(self, *args: str, input: str | None = None, check: bool = True,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), env=self.environ, cwd=cwd or self.workdir, input=input or "",
                                capture_output=True, text=True, timeout=TIMEOUT)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def admin_session(self) -> iRODSSession:
        return iRODSSession(irods_env_file=str(self.admin_env),
                            irods_authentication_file=str(self.admin_auth))

    def user_session(self) -> iRODSSession:
        return iRODSSession(irods_env_file=str(self.env_file), irods_authentication_file=str(self.auth_file))

    def normalize(self, text: str) -> str:
        """Output with what legitimately differs between zones blanked: times, vault paths,
        ports and the session's unique names."""
        text = text.replace(self.home, "HOME")
        text = re.sub(r"\d{4}-\d{2}-\d{2}\.\d{2}:\d{2}", "TIME", text)
        text = re.sub(r"(generic|[A-Za-z-]+)\s{4}/\S+", r"\1    PHYS", text)
        # The order of one object's ACL entries is the catalog's (PostgreSQL's DISTINCT), unsorted
        # by iRODS: compare them as a set.
        return re.sub(r"(ACL - )(.*)", lambda m: m.group(1) + "   ".join(sorted(m.group(2).split())), text)


def _user_env(admin_env: Path, user: str, zone: str, folder: Path) -> tuple[Path, Path]:
    env = json.loads(admin_env.read_text())
    home = f"/{zone}/home/{user}"
    auth = folder / ".irodsA"
    env.update(irods_user_name=user, irods_home=home, irods_cwd=home,
               irods_authentication_file=str(auth))
    env_file = folder / "irods_environment.json"
    env_file.write_text(json.dumps(env, indent=2))
    auth.write_text(encode(PASSWORD))
    auth.chmod(0o600)
    return env_file, auth


def _make_zone(name: str, admin_env: Path, admin_auth: Path, base: Path, user: str) -> Zone:
    folder = base / name
    (folder / "client").mkdir(parents=True)
    (folder / "work").mkdir()
    with iRODSSession(irods_env_file=str(admin_env), irods_authentication_file=str(admin_auth)) as admin:
        zone_name = admin.zone
        admin.users.create_with_password(user, PASSWORD)
    env_file, auth = _user_env(admin_env, user, zone_name, folder / "client")
    return Zone(name, zone_name, user, env_file, auth, admin_env, admin_auth, folder / "work")


def _drop_zone_user(zone: Zone) -> None:
    """Empty the user's home and trash, then remove the user."""
    try:
        with zone.user_session() as user:
            home = user.collections.get(zone.home)
            for sub in home.subcollections:
                sub.remove(recurse=True, force=True)
            for obj in home.data_objects:
                obj.unlink(force=True)
        zone.run("irmtrash", check=False)
        with zone.admin_session() as admin:
            admin.users.remove(zone.user)
    except Exception:  # noqa: BLE001 - best-effort cleanup of a throw-away user
        pass


@pytest.fixture(scope="session")
def session_user() -> str:
    return f"ictest{os.getpid()}"


@pytest.fixture(scope="session")
def serve_zone(tmp_path_factory: pytest.TempPathFactory, session_user: str) -> Iterator[Zone]:
    base = tmp_path_factory.mktemp("icommands-serve")
    with ServerProcess(base / "data", base / "admin") as server:
        zone = _make_zone("serve", server.env_file, server.auth_file, base, session_user)
        yield zone


@pytest.fixture(scope="session")
def real_zone(tmp_path_factory: pytest.TempPathFactory, session_user: str) -> Iterator[Zone | None]:
    env, auth = os.environ.get("MANGO_TEST_ENV"), os.environ.get("MANGO_TEST_AUTH")
    if not env or not auth:
        yield None
        return
    zone = _make_zone("real", Path(env), Path(auth), tmp_path_factory.mktemp("icommands-real"), session_user)
    yield zone
    _drop_zone_user(zone)


@pytest.fixture(params=["serve", "real"])
def zone(request: pytest.FixtureRequest) -> Zone:
    if shutil.which("ils") is None:
        _unavailable("the iCommands are not installed")
    if request.param == "real":
        found: Zone | None = request.getfixturevalue("real_zone")
        if found is None:
            _unavailable("no real zone: MANGO_TEST_ENV / MANGO_TEST_AUTH are not set")
        assert found is not None
        return found
    serve: Zone = request.getfixturevalue("serve_zone")
    return serve


@pytest.fixture
def both_zones(request: pytest.FixtureRequest) -> tuple[Zone, Zone]:
    if shutil.which("ils") is None:
        _unavailable("the iCommands are not installed")
    real: Zone | None = request.getfixturevalue("real_zone")
    if real is None:
        _unavailable("no real zone: MANGO_TEST_ENV / MANGO_TEST_AUTH are not set")
    assert real is not None
    return request.getfixturevalue("serve_zone"), real


@pytest.fixture
def coll(zone: Zone, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh collection of the test user's, removed afterwards (without the trash)."""
    path = f"{zone.home}/{request.node.originalname}"
    zone.run("imkdir", "-p", path)
    yield path
    zone.run("irm", "-rf", path, check=False)
    zone.run("irmtrash", check=False)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_tree(root: Path) -> dict[str, bytes]:
    files = {"a.txt": b"alpha\n", "b.bin": bytes(range(256)) * 3, "sub/c.txt": b"gamma\n",
             "sub/deeper/d.txt": b"", "sub/deeper/e.txt": b"epsilon " * 100}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files
