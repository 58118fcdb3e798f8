"""Running the embedded server: an async ``serve`` for task groups, and ``EmbeddedServer``
(in-process, on its own event-loop thread) or ``ServerProcess`` (a subprocess) for tests,
benchmarks and the demo.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import SocketStream, TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal

from .bootstrap import initialize_zone
from .catalog import Catalog
from .client_env import environment, write_client_files
from .connection import ClientSession
from .faults import Faults
from .state import ServerConfig, ServerState, Vault

log = logging.getLogger("mango_transfer.server")


@dataclass
class Endpoint:
    host: str
    port: int
    env_file: Path | None
    auth_file: Path | None
    ca_file: Path | None


def _tls_context(config: ServerConfig) -> tuple[ssl.SSLContext, Path | None]:
    """Use the given certificate, or mint a throw-away CA and certificate in the data dir."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if config.certfile is not None:
        context.load_cert_chain(config.certfile, config.keyfile)
        return context, None
    import trustme

    tls_dir = config.data_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert(config.host, "localhost", "127.0.0.1")
    ca_file = tls_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = tls_dir / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    context.load_cert_chain(str(chain))
    return context, ca_file


class Server:
    """Owns the catalog, vault, listener and live connections of one zone."""

    def __init__(self, config: ServerConfig) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        catalog = Catalog(config.data_dir / "catalog.sqlite")
        initialize_zone(catalog, config)
        self.state = ServerState(config, catalog, Vault(config.data_dir / "vault"),
                                 Faults.parse(config.faults))
        self.ssl_context: ssl.SSLContext | None = None
        self.ca_file: Path | None = None
        if config.ssl:
            self.ssl_context, self.ca_file = _tls_context(config)
        self._connections: set[anyio.CancelScope] = set()
        self._restart = anyio.Event()
        self._restart_pause = 0.0

    async def serve(self, *, task_status: TaskStatus[Endpoint] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled; ``task_status.started`` hands back where we listen."""
        port = self.config.port
        started = False
        try:
            while True:
                listener = await anyio.create_tcp_listener(
                    local_host=self.config.host, local_port=port, reuse_port=False)
                port = listener.extra(anyio.abc.SocketAttribute.local_port)
                if not started:
                    endpoint = self._publish(port)
                    log.info("listening on %s:%d (zone %s)", self.config.host, port, self.config.zone)
                    task_status.started(endpoint)
                    started = True
                await self._accept_until_restart(listener)
                await anyio.sleep(self._restart_pause)
                log.info("restarted (fault injection)")
        finally:
            self.state.catalog.close()

    async def _accept_until_restart(self, listener: anyio.abc.Listener[SocketStream]) -> None:
        self._restart = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, self._handle, group)
            await self._restart.wait()
            for scope in list(self._connections):
                scope.cancel()
            group.cancel_scope.cancel()
        await listener.aclose()

    def request_restart(self) -> None:
        self._restart_pause = self.state.faults.restart_pause_ms / 1000
        self._restart.set()

    async def _handle(self, stream: SocketStream) -> None:
        try:
            address = stream.extra(anyio.abc.SocketAttribute.remote_address)
            peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        except (OSError, TypeError, ValueError):
            peer = "unknown"
        with anyio.CancelScope() as scope:
            self._connections.add(scope)
            try:
                await ClientSession(self.state, stream, peer, self.ssl_context,
                                    self.request_restart).run()
            finally:
                self._connections.discard(scope)

    def _publish(self, port: int) -> Endpoint:
        config = self.config
        env_file = auth_file = None
        if config.client_env_dir is not None:
            env = environment(config.host, port, config.zone, config.user, config.resource,
                              "CS_NEG_REQUIRE" if config.ssl else "CS_NEG_REFUSE", self.ca_file)
            env_file, auth_file = write_client_files(config.client_env_dir, env, config.password)
        return Endpoint(config.host, port, env_file, auth_file, self.ca_file)


async def run_until_signal(config: ServerConfig) -> None:
    """The ``serve`` command: run until SIGINT/SIGTERM, then close every connection cleanly."""
    server = Server(config)
    async with anyio.create_task_group() as group:
        await group.start(server.serve)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info("stopping on signal %d", signum)
                group.cancel_scope.cancel()
                break


class EmbeddedServer(AbstractContextManager["EmbeddedServer"]):
    """The server on a private event-loop thread: the fixture for synchronous tests."""

    def __init__(self, data_dir: Path, *, client_env_dir: Path | None = None, **options: Any) -> None:
        data_dir = Path(data_dir)
        self.config = ServerConfig(data_dir=data_dir, port=options.pop("port", 0),
                                   client_env_dir=client_env_dir or data_dir / "client", **options)
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._server: Server | None = None
        self.endpoint: Endpoint | None = None
        self._task: Any = None

    def start(self) -> EmbeddedServer:
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._server = Server(self.config)
        self._task, self.endpoint = self._portal.start_task(self._server.serve)
        return self

    def stop(self) -> None:
        if self._portal is not None and self._task is not None:
            self._task.cancel()
            try:
                self._task.result(timeout=10)
            except BaseException:  # noqa: BLE001 - cancellation of the serve task is expected
                pass
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
        self._portal = self._portal_cm = self._task = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- conveniences for tests ----------------------------------------------------------
    @property
    def port(self) -> int:
        assert self.endpoint is not None, "server not started"
        return self.endpoint.port

    @property
    def env_file(self) -> Path:
        assert self.endpoint is not None and self.endpoint.env_file is not None
        return self.endpoint.env_file

    @property
    def auth_file(self) -> Path:
        assert self.endpoint is not None and self.endpoint.auth_file is not None
        return self.endpoint.auth_file

    @property
    def home(self) -> str:
        return f"/{self.config.zone}/home/{self.config.user}"

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(state, *args)`` on the server's loop thread (catalog is single-threaded)."""
        assert self._portal is not None and self._server is not None
        state = self._server.state
        return self._portal.call(lambda: function(state, *args))

    def set_faults(self, spec: str) -> None:
        self.call(lambda state: state.faults.configure(spec))

    def restart_now(self) -> None:
        assert self._portal is not None and self._server is not None
        self._portal.call(self._server.request_restart)


class ServerProcess(AbstractContextManager["ServerProcess"]):
    """``mango-transfer serve`` as a subprocess, for tests that kill or restart it for real."""

    def __init__(self, data_dir: Path, client_env_dir: Path, *, port: int = 0,
                 extra_args: list[str] | None = None) -> None:
        self.data_dir, self.client_env_dir = Path(data_dir), Path(client_env_dir)
        self.port, self.extra_args = port, extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env_file(self) -> Path:
        return self.client_env_dir / "irods_environment.json"

    @property
    def auth_file(self) -> Path:
        return self.client_env_dir / ".irodsA"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.env_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "mango_transfer", "serve", "--data-dir", str(self.data_dir),
                   "--port", str(self.port), "--client-env", str(self.client_env_dir), *self.extra_args]
        log_file = open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        deadline = time.monotonic() + timeout
        while not self.env_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded server did not start (exit {self.process.poll()})")
            time.sleep(0.05)
        self.port = int(json.loads(self.env_file.read_text())["irods_port"])
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
