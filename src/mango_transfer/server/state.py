"""Server-wide and per-connection state shared by the API handlers."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, User
from .faults import Faults


@dataclass
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 1247
    zone: str = "tempZone"
    user: str = "rods"
    password: str = "rods"
    client_env_dir: Path | None = None
    ssl: bool = False
    negotiation_policy: str | None = None  # None: REQUIRE with --ssl, REFUSE without
    certfile: Path | None = None
    keyfile: Path | None = None
    resource: str = "demoResc"
    # pam_interactive conversation: list of steps, see auth.py
    pam_script: list[dict[str, object]] | None = None
    pam_ttl_seconds: int = 3600
    pam_allow_insecure: bool = False
    faults: str = ""

    @property
    def policy(self) -> str:
        if self.negotiation_policy:
            return self.negotiation_policy
        return "CS_NEG_REQUIRE" if self.ssl else "CS_NEG_REFUSE"


class Vault:
    """Replica bytes on disk, named by data id, never by logical path (renames are free)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, data_id: int) -> Path:
        return self.root / f"{data_id % 256:02x}" / str(data_id)

    def create(self, data_id: int) -> Path:
        path = self.path_for(data_id)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except FileNotFoundError:  # first object in this shard
            path.parent.mkdir(exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return path

    def remove(self, data_id: int) -> None:
        try:
            self.path_for(data_id).unlink()
        except FileNotFoundError:
            pass

    def size(self, data_id: int) -> int:
        try:
            return self.path_for(data_id).stat().st_size
        except FileNotFoundError:
            return 0

    def sha256(self, data_id: int) -> bytes:
        """Runs in a worker thread: hashlib releases the GIL on large buffers."""
        digest = hashlib.sha256()
        with open(self.path_for(data_id), "rb") as handle:
            while chunk := handle.read(4 << 20):
                digest.update(chunk)
        return digest.digest()


@dataclass
class Descriptor:
    """An open replica handle (iRODS' L1 descriptor) belonging to one connection."""

    fd: int
    data_id: int
    path: str
    flags: int
    os_fd: int
    token: str
    primary: bool
    kvp: dict[str, str]
    declared_size: int
    created: bool
    previous_status: int
    position: int = 0
    bytes_written: int = 0

    @property
    def writable(self) -> bool:
        return self.flags & 3 != 0


@dataclass
class OpenReplica:
    """A replica open for write: the token that lets other handles join it."""

    token: str
    data_id: int
    handles: int = 0
    abandoned: bool = False  # a writer vanished: a joined secondary's close publishes nothing


@dataclass
class Cursor:
    """A GenQuery continuation; ``cursor`` is None when nothing is left behind a full page."""

    cursor: sqlite3.Cursor | None
    columns: list[int]


@dataclass
class ConnectionState:
    peer: str
    proxy_user: str = ""
    proxy_zone: str = ""
    client_user: str = ""
    client_zone: str = ""
    user: User | None = None
    challenge: bytes = b""
    signature: str = ""  # hex of the challenge's first 16 bytes: keys admin password scrambling
    tls: bool = False
    descriptors: dict[int, Descriptor] = field(default_factory=dict)
    next_fd: int = 3
    cursors: dict[int, Cursor] = field(default_factory=dict)
    pam_state: dict[str, object] = field(default_factory=dict)
    # Undo actions for catalog changes a real agent would still hold in an open transaction
    # (see ``api/tree.py``): run when the connection ends, dropped by its next committing call.
    uncommitted: list[Callable[[], None]] = field(default_factory=list)

    def allocate_fd(self) -> int:
        fd = self.next_fd
        self.next_fd += 1
        return fd


@dataclass
class ServerState:
    config: ServerConfig
    catalog: Catalog
    vault: Vault
    faults: Faults
    open_replicas: dict[int, OpenReplica] = field(default_factory=dict)  # by data id
    next_cursor: int = 1

    def close_os_fd(self, descriptor: Descriptor) -> None:
        try:
            os.close(descriptor.os_fd)
        except OSError:
            pass
