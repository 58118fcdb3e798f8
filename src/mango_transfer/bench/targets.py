"""Where a benchmark runs: the embedded server (a subprocess on its own core, with an emulated
round-trip time), or any zone named by an environment file, in a scratch collection that is
removed afterwards even on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from irods.session import iRODSSession

from ..server import ServerProcess


@dataclass
class Target:
    env_file: Path
    auth_file: Path
    scratch: str
    embedded: ServerProcess | None = None
    rtt_ms: float = 0.0

    @property
    def environ(self) -> dict[str, str]:
        return {"IRODS_ENVIRONMENT_FILE": str(self.env_file),
                "IRODS_AUTHENTICATION_FILE": str(self.auth_file)}

    def session(self) -> iRODSSession:
        return iRODSSession(irods_env_file=str(self.env_file),
                            irods_authentication_file=str(self.auth_file))

    def set_rtt(self, rtt_ms: float) -> None:
        """Restart the embedded server with every reply delayed by ``rtt_ms`` (state is kept)."""
        if self.embedded is None:
            if rtt_ms:
                raise ValueError("--rtt-ms needs the embedded server; a real zone has its own RTT")
            return
        if rtt_ms == self.rtt_ms and self.embedded.process is not None:
            return
        self.embedded.stop()
        self.embedded.extra_args = ["--faults", f"delay_ms={rtt_ms:g}"] if rtt_ms else []
        self.embedded.start()
        self.rtt_ms = rtt_ms

    def fresh_collection(self, name: str) -> str:
        path = f"{self.scratch}/{name}-{uuid.uuid4().hex[:6]}"
        with self.session() as session:
            session.collections.create(path)
        return path

    def remove(self, path: str) -> None:
        with self.session() as session, contextlib.suppress(Exception):
            session.collections.remove(path, recurse=True, force=True)


@contextlib.contextmanager
def embedded_target(workdir: Path) -> Iterator[Target]:
    server = ServerProcess(workdir / "zone", workdir / "client").start()
    try:
        home = json.loads(server.env_file.read_text())["irods_home"]
        target = Target(server.env_file, server.auth_file, f"{home}/bench", server)
        with target.session() as session:
            session.collections.create(target.scratch)
        yield target
    finally:
        server.stop()


@contextlib.contextmanager
def zone_target(env_file: Path, collection: str | None) -> Iterator[Target]:
    """A scratch collection on any zone; removed at the end, whatever happens.

    The password file is found as the iCommands find it: ``$IRODS_AUTHENTICATION_FILE``, else
    the environment file's ``irods_authentication_file``, else ``~/.irods/.irodsA``.
    """
    env = json.loads(env_file.read_text())
    auth = Path(os.environ.get("IRODS_AUTHENTICATION_FILE")
                or env.get("irods_authentication_file")
                or Path.home() / ".irods" / ".irodsA")
    base = collection or env.get("irods_home") or f"/{env['irods_zone_name']}/home/{env['irods_user_name']}"
    target = Target(env_file, auth, f"{base}/mango-transfer-bench-{uuid.uuid4().hex[:8]}")
    with target.session() as session:
        session.collections.create(target.scratch)
    try:
        yield target
    finally:
        target.remove(target.scratch)
