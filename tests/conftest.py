"""Shared fixtures: the real embedded server over TCP, as a user reaches a zone; no fake sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from mango_transfer.server import EmbeddedServer


@pytest.fixture(autouse=True)
def _clean_irods_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a developer's own ~/.irods leak into a test."""
    for name in ("IRODS_ENVIRONMENT_FILE", "IRODS_AUTHENTICATION_FILE", "IRODS_SERVER_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def irods_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path_factory.mktemp("zone")) as server:
        yield server


@pytest.fixture
def irods_env(irods_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> EmbeddedServer:
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(irods_server.env_file))
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(irods_server.auth_file))
    return irods_server


def open_session(server: EmbeddedServer, **options: object) -> iRODSSession:
    return iRODSSession(irods_env_file=str(server.env_file),
                        irods_authentication_file=str(server.auth_file), **options)


@pytest.fixture
def session(irods_server: EmbeddedServer) -> Iterator[iRODSSession]:
    with open_session(irods_server) as sess:
        yield sess


@pytest.fixture
def remote_dir(session: iRODSSession, irods_server: EmbeddedServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh collection per test under the admin's home, removed afterwards."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("/", "_")[:80]
    path = f"{irods_server.home}/{name}-{os.getpid()}"
    session.collections.create(path)
    yield path
    try:
        session.collections.remove(path, recurse=True, force=True)
    except Exception:  # noqa: BLE001 - best-effort cleanup of a test collection
        pass


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
