"""Shared fixtures: real servers over TCP, reached as a user reaches a zone; no fake sessions.

End-to-end tests take ``zone`` (directly, or through ``irods_env``, ``session`` and
``remote_dir``) and so run twice: against the embedded server and against a real iRODS zone
(``tests/zones.py`` says how one is named). They act as a regular ``rodsuser`` created for the
test session. A test that needs the embedded server's fault injection or internals is marked
``@pytest.mark.embedded_only("why")`` and is skipped on the real zone with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer
from tests.zones import (
    REAL_ENV_VARS,
    Zone,
    admin_of_embedded,
    admin_of_real_zone,
    close_zone,
    make_zone,
    real_zone_requested,
    real_zone_required,
)

ZONE_KINDS = ("embedded", "real")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded_only(reason): needs the embedded server's "
                                       "fault injection or internals; skipped on a real zone")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("embedded_only")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or callspec.params.get("zone") != "real":
            continue
        reason = marker.args[0] if marker.args else "needs the embedded server"
        item.add_marker(pytest.mark.skip(reason=f"embedded server only: {reason}"))


@pytest.fixture(autouse=True)
def _clean_irods_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a developer's own ~/.irods, or the real zone's admin, leak into a test."""
    for name in ("IRODS_ENVIRONMENT_FILE", "IRODS_AUTHENTICATION_FILE", "IRODS_SERVER_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def irods_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """The embedded server itself (admin ``rods``): for fault injection and server tests."""
    with EmbeddedServer(tmp_path_factory.mktemp("zone")) as server:
        yield server


@pytest.fixture(scope="session")
def embedded_zone(irods_server: EmbeddedServer,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    zone = make_zone("embedded", tmp_path_factory.mktemp("embedded-users"),
                     admin_of_embedded(irods_server), "127.0.0.1", irods_server.port,
                     "tempZone", irods_server)
    yield zone
    close_zone(zone)


@pytest.fixture(scope="session")
def real_zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    if not real_zone_requested():
        message = f"no real iRODS zone: set {' and '.join(REAL_ENV_VARS)}"
        if real_zone_required():
            pytest.fail(f"{message} (MANGO_REQUIRE_REAL_ZONE=1 forbids skipping it)")
        pytest.skip(message)
    admin, host, port, zone_name = admin_of_real_zone()
    zone = make_zone("real", tmp_path_factory.mktemp("real-users"), admin, host, port, zone_name)
    yield zone
    close_zone(zone)


@pytest.fixture(scope="session", params=ZONE_KINDS)
def zone(request: pytest.FixtureRequest) -> Zone:
    """Each zone in turn: the embedded server, then the real one."""
    value: Zone = request.getfixturevalue(f"{request.param}_zone")
    return value


@pytest.fixture
def irods_env(zone: Zone, monkeypatch: pytest.MonkeyPatch) -> Zone:
    """The test user's client files in ``IRODS_ENVIRONMENT_FILE``/``IRODS_AUTHENTICATION_FILE``."""
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(zone.user.env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(zone.user.auth_file))
    return zone


def open_session(target: Zone | EmbeddedServer, **options: object) -> iRODSSession:
    """A session of a zone's test user, or of the embedded server's admin."""
    if isinstance(target, Zone):
        return target.user.session(**options)
    return iRODSSession(irods_env_file=str(target.env_file),
                        irods_authentication_file=str(target.auth_file), **options)


@pytest.fixture
def session(zone: Zone) -> Iterator[iRODSSession]:
    with zone.user.session() as sess:
        yield sess


@pytest.fixture
def admin_session(zone: Zone) -> Iterator[iRODSSession]:
    """The zone's admin: only for setting a test up, or for testing an admin feature."""
    with zone.admin.session() as sess:
        yield sess


@pytest.fixture
def remote_dir(zone: Zone, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh collection per test in the test user's home, removed afterwards."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("/", "_")[:80]
    with zone.scratch(name) as path:
        yield path


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
