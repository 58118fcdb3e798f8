"""The handler signature and registry shared by every API module."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..catalog import User
from ..codes import SYS_INVALID_INPUT_PARAM, IrodsError
from ..state import ConnectionState, ServerState
from ..wire import Message
from ..xmlpack import Element, Struct, parse


@dataclass
class Reply:
    int_info: int = 0
    body: bytes = b""
    bs: bytes = b""
    error: bytes = b""
    # Runs after the reply went out, before the next request is read: a parallel transfer's
    # portal, which the client joins once it has the reply.
    after: Callable[[], Awaitable[None]] | None = None


Handler = Callable[[ServerState, ConnectionState, Message], Awaitable[Reply]]
HANDLERS: dict[int, Handler] = {}
# Calls that may write the catalog: a real agent commits its open transaction with them.
COMMITTING_APIS = frozenset({601, 602, 606, 615, 622, 627, 629, 673, 679, 681, 689, 696, 701,
                             706, 707, 714, 20002, 20004, 20005, 20007})


def api(number: int) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[number] = handler
        return handler

    return register


def body(message: Message) -> Element:
    """The request struct; a native-packed body arrives already decoded."""
    return message.element if message.element is not None else parse(message.body)


def json_request(message: Message) -> dict[str, object]:
    """BinBytesBuf_PI carrying base64 JSON (PRC puts the string length in buflen: ignore it)."""
    try:
        raw = base64.b64decode(body(message).get_str("buf"))
        value = json.loads(raw.rstrip(b"\x00").decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "bad JSON input") from exc
    if not isinstance(value, dict):
        raise IrodsError(SYS_INVALID_INPUT_PARAM, "JSON input is not an object")
    return value


def json_reply(value: object, int_info: int = 0) -> Reply:
    """JSON and its NUL, as the real server sends it (the C client parses it as a C string)."""
    text = json.dumps(value).encode() + b"\0"
    packed = Struct("BinBytesBuf_PI", [("buflen", len(text)), ("buf", base64.b64encode(text).decode())])
    return Reply(int_info=int_info, body=packed.encode())


def str_reply(text: str, int_info: int = 0) -> Reply:
    return Reply(int_info=int_info, body=Struct("STR_PI", [("myStr", text)]).encode())


def user_of(connection: ConnectionState) -> User:
    assert connection.user is not None, "dispatcher guarantees authentication"
    return connection.user
