"""Running the embedded server: an async ``serve`` for task groups, ``EmbeddedServer`` (a child
process with a control pipe) for tests, benchmarks and the demo, and ``ServerProcess`` (the
``serve`` command as a subprocess) for tests that kill or restart it for real.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import ssl
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import SocketStream, TaskStatus

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
            except Exception:  # noqa: BLE001 - the last line of defence of the accept loop
                log.exception("connection %s: unexpected failure", peer)
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
    """The server in a child process, controlled through a pipe: the fixture for tests, the demo
    and benchmarks.

    A child process rather than a thread: python-irodsclient closes leaked file objects in
    ``__del__`` with a blocking round trip, and the garbage collector may run that finalizer on
    whatever thread allocates next.  Were the server a thread of the client's process, it could
    end up waiting on itself.  A process also gives the server its own core and GIL, as a real
    zone has.
    """

    def __init__(self, data_dir: Path, *, client_env_dir: Path | None = None, **options: Any) -> None:
        data_dir = Path(data_dir)
        self.config = ServerConfig(data_dir=data_dir, port=options.pop("port", 0),
                                   client_env_dir=client_env_dir or data_dir / "client", **options)
        self.endpoint: Endpoint | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._control: Connection | None = None

    def start(self, timeout: float = 60.0) -> EmbeddedServer:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_child_main, args=(self.config, child),
                                        name="mango-transfer-server", daemon=True)
        self._process.start()
        child.close()
        self._control = parent
        if not parent.poll(timeout):
            self.stop()
            raise RuntimeError("embedded server did not start in time")
        try:
            kind, value = parent.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the embedded server's process exited during start-up (a script "
                               "that starts it needs an `if __name__ == '__main__':` guard, "
                               "as multiprocessing requires)") from None
        if kind != "ready":
            self.stop()
            raise RuntimeError(f"embedded server failed to start: {value}")
        self.endpoint = value
        return self

    def _request(self, *command: Any) -> Any:
        assert self._control is not None, "server not started"
        self._control.send(command)
        kind, value = self._control.recv()
        if kind == "error":
            raise RuntimeError(value)
        return value

    def stop(self) -> None:
        if self._control is not None:
            try:
                self._control.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        if self._process is not None:
            self._process.join(timeout=15)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
        if self._control is not None:
            self._control.close()
        self._process = self._control = None

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

    @property
    def pid(self) -> int:
        """The server process, for tests that watch its file descriptors and memory."""
        assert self._process is not None and self._process.pid is not None, "server not started"
        return self._process.pid

    def set_faults(self, spec: str) -> None:
        """Replace the active faults (see ``faults.py``); counters restart from zero."""
        self._request("faults", spec)

    def restart_now(self) -> None:
        """Drop every connection and stop listening for ``restart_pause_ms``."""
        self._request("restart")


def _child_main(config: ServerConfig, control: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    code = 0
    try:
        anyio.run(_child_serve, config, control)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        code = 1
        try:
            control.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    # The control thread may still block in recv(); a server that stopped must not linger
    # half-alive with its port bound, so leave without waiting for it.
    os._exit(code)


async def _child_serve(config: ServerConfig, control: Connection) -> None:
    server = Server(config)
    async with anyio.create_task_group() as group:
        endpoint = await group.start(server.serve)
        control.send(("ready", endpoint))
        while True:
            try:
                command = await anyio.to_thread.run_sync(control.recv, abandon_on_cancel=True)
            except EOFError:  # the parent is gone
                command = ("stop",)
            if command[0] == "stop":
                group.cancel_scope.cancel()
                return
            try:
                if command[0] == "faults":
                    server.state.faults.configure(command[1])
                elif command[0] == "restart":
                    server.request_restart()
                else:
                    raise ValueError(f"unknown command {command[0]!r}")
                control.send(("ok", None))
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                control.send(("error", f"{type(exc).__name__}: {exc}"))


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
