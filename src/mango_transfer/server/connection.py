"""One client connection: startup pack, negotiation (optionally TLS), then the API loop.

Every exit path (clean disconnect, dropped socket, framing error, server shutdown) runs the same
cleanup, which leaves any replica the client was writing *stale*, as iRODS 5's agent teardown does.
"""

from __future__ import annotations

import logging
import ssl

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from . import native
from .api import HANDLERS, Reply
from .api.base import COMMITTING_APIS
from .api.data import abandon
from .api.query import close_all
from .api.tree import undo_uncommitted
from .api_table import API_TABLE, refusal
from .codes import (
    SERVER_NEGOTIATION_ERROR,
    SYS_UNMATCHED_API_NUM,
    IrodsError,
    ProtocolViolation,
)
from .state import ConnectionState, ServerState
from .wire import Message, MessageReader, error_struct, send_message
from .xmlpack import Struct, parse

log = logging.getLogger("mango_transfer.server")

SERVER_VERSION = "rods5.0.2"
DATA_APIS = {675, 676}


class ConnectionClosed(Exception):
    """Raised to end a connection on purpose (client disconnect, injected fault)."""


def version_body(status: int = 0) -> bytes:
    return Struct("Version_PI", [
        ("status", status), ("relVersion", SERVER_VERSION), ("apiVersion", "d"),
        ("reconnPort", 0), ("reconnAddr", ""), ("cookie", 400)]).encode()


class ClientSession:
    def __init__(self, server: ServerState, stream: ByteStream, peer: str,
                 ssl_context: ssl.SSLContext | None, on_restart: object) -> None:
        self.server = server
        self.stream: ByteStream = stream
        self.reader = MessageReader(stream)
        self.state = ConnectionState(peer=peer)
        self.ssl_context = ssl_context
        self.on_restart = on_restart
        self.native = False  # the client packs API structs natively (irodsProt 0): the C library

    async def run(self) -> None:
        try:
            await self._startup()
            await self._api_loop()
        except (ConnectionClosed, anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError,
                anyio.ClosedResourceError, ConnectionError, ssl.SSLError, OSError) as exc:
            if str(exc):
                log.info("connection %s closed: %s", self.state.peer, exc)
        except ProtocolViolation as exc:
            log.warning("connection %s dropped: protocol violation: %s", self.state.peer, exc)
        except Exception:  # noqa: BLE001 - one broken connection must never stop the server
            log.exception("connection %s failed unexpectedly", self.state.peer)
        finally:
            undo_uncommitted(self.state)
            abandon(self.server, self.state)
            close_all(self.state)
            await self._close_stream()

    async def _close_stream(self) -> None:
        """TLS wants a close_notify exchange; a silent or vanished peer must neither keep us
        waiting nor raise out of the cleanup (that would stop the whole listener)."""
        try:
            with anyio.move_on_after(2, shield=True) as scope:
                await self.stream.aclose()
            if scope.cancelled_caught:
                await anyio.aclose_forcefully(self.stream)
        except Exception as exc:  # noqa: BLE001 - the peer is gone; nothing left to tell it
            log.info("connection %s: unclean close: %s", self.state.peer, exc)
            await anyio.aclose_forcefully(self.stream)

    async def _startup(self) -> None:
        try:
            startup = await self.reader.read()
        except ProtocolViolation as exc:
            # As iRODS 5.0.2: a startup frame it cannot read is named in a Version_PI's status
            # (SYS_HEADER_READ_LEN_ERR, SYS_PACK_INSTRUCT_FORMAT_ERR), then the agent hangs up.
            if exc.code is not None:
                await send_message(self.stream, "RODS_VERSION", version_body(exc.code))
            raise
        if startup.type != "RODS_CONNECT":
            raise ProtocolViolation(f"expected RODS_CONNECT, got {startup.type!r}")
        pack = parse(startup.body)
        state = self.state
        state.proxy_user, state.proxy_zone = pack.get_str("proxyUser"), pack.get_str("proxyRcatZone")
        state.client_user, state.client_zone = pack.get_str("clientUser"), pack.get_str("clientRcatZone")
        self.native = pack.get_int("irodsProt", 1) == 0
        log.info("connection from %s as %s#%s (%s)", state.peer, state.proxy_user,
                 state.proxy_zone, pack.get_str("option"))
        use_tls = await self._negotiate("request_server_negotiation" in pack.get_str("option"))
        await send_message(self.stream, "RODS_VERSION", version_body())
        if use_tls:
            await self._start_tls()

    async def _negotiate(self, requested: bool) -> bool:
        policy = self.server.config.policy
        if not requested:
            if policy == "CS_NEG_REQUIRE":
                await send_message(self.stream, "RODS_VERSION", version_body(),
                                   int_info=SERVER_NEGOTIATION_ERROR)
                raise ConnectionClosed("client did not negotiate but the server requires TLS")
            return False
        offer = Struct("CS_NEG_PI", [("status", 1), ("result", policy)]).encode()
        await send_message(self.stream, "RODS_CS_NEG_T", offer)
        answer = parse((await self.reader.read()).body)
        result = answer.get_str("result")
        if answer.get_int("status") != 1 or "CS_NEG_FAILURE" in result:
            raise ConnectionClosed("client refused the negotiation")
        use_tls = "CS_NEG_USE_SSL" in result
        if use_tls and self.ssl_context is None:
            raise ConnectionClosed("client asked for TLS but the server has no certificate")
        if policy == "CS_NEG_REQUIRE" and not use_tls:
            raise ConnectionClosed("TLS required")
        return use_tls

    async def _start_tls(self) -> None:
        assert self.ssl_context is not None
        self.stream = await TLSStream.wrap(self.stream, server_side=True,
                                           ssl_context=self.ssl_context, standard_compatible=True)
        self.reader = MessageReader(self.stream)
        self.state.tls = True
        # Two header-only messages follow: encryption parameters, then the shared secret.
        await self.reader.read_header()
        secret = await self.reader.read_header()
        await self.reader.read_exactly(secret.msg_len)

    async def _api_loop(self) -> None:
        while True:
            message = await self.reader.read()
            if message.type == "RODS_DISCONNECT":
                raise ConnectionClosed("")
            if message.type != "RODS_API_REQ":
                raise ProtocolViolation(f"unexpected message type {message.type!r}")
            number = message.int_info
            if number not in API_TABLE:
                # iRODS 5.0.2 logs "Unsupported api number" and answers nothing; the agent
                # reads the next request, so a client that sent it waits for its timeout.
                log.warning("api %d from %s is unknown to iRODS: no reply", number, self.state.peer)
                continue
            faults = self.server.faults
            injected, restart = faults.on_call(number)
            if number == 676 and faults.on_bytes(len(message.bs)):
                raise ConnectionClosed("fault injection: dropped during write")
            reply = await self._dispatch(number, message, injected)
            if faults.delay_ms:
                await anyio.sleep(faults.delay_ms / 1000)
            if number == 675 and faults.on_bytes(len(reply.bs)):
                raise ConnectionClosed("fault injection: dropped during read")
            await self._send_reply(reply)
            if restart and callable(self.on_restart):
                self.on_restart()

    async def _dispatch(self, number: int, message: Message, injected: int | None) -> Reply:
        handler = HANDLERS.get(number)
        try:
            if injected is not None:
                raise IrodsError(injected, "fault injection")
            refused = refusal(number, self.state.user, bool(message.body))
            if refused is not None:
                log.info("api %d from %s refused: %d", number, self.state.peer, refused)
                return Reply(int_info=refused)  # as iRODS: no body, no error stack
            if self.native and message.body and handler is not None:
                message.element = native.decode(message.body, self._request_struct(number))
            if handler is None:
                raise IrodsError(SYS_UNMATCHED_API_NUM, f"API {number} is not implemented")
            reply = await handler(self.server, self.state, message)
            if number in COMMITTING_APIS:
                self.state.uncommitted.clear()  # the agent's commit keeps what it held
            return reply
        except IrodsError as error:
            if error.code not in (-808000,):
                log.info("api %d from %s failed: %s", number, self.state.peer, error)
            return Reply(int_info=error.code, error=error_struct(error.code, error.message))

    @staticmethod
    def _request_struct(number: int) -> str:
        name = native.REQUEST_STRUCTS.get(number)
        if name is None:
            raise IrodsError(SYS_UNMATCHED_API_NUM, f"API {number} takes no native body")
        return name

    async def _send_reply(self, reply: Reply) -> None:
        body, error = reply.body, reply.error
        if self.native:
            # The real server sends no error struct to the C client; its messages come from the
            # client's own error table, so an RError here would only add lines to its output.
            body, error = (native.encode_xml(body) if body else b""), b""
        await send_message(self.stream, "RODS_API_REPLY", body, int_info=reply.int_info,
                           error=error, bs=reply.bs)
        if reply.after is not None:
            await reply.after()

