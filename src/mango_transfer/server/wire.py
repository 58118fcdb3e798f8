"""Framing of iRODS messages: a 4-byte header length, an XML header, then body, error and bytes.

The byte stream of a read or write (up to 8 MiB per message from PRC) is passed through as
``bytes`` without touching the XML layer, so bulk data costs one copy on the way in and none on the
way out beyond the socket write.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from anyio.abc import ByteReceiveStream, ByteSendStream

from .codes import SYS_HEADER_READ_LEN_ERR, SYS_PACK_INSTRUCT_FORMAT_ERR, ProtocolViolation
from .xmlpack import Element, Struct, escape

MAX_HEADER = 1 << 16
MAX_BODY = 64 << 20
MAX_STREAM = 256 << 20
MAX_RECEIVE = 4 << 20

_HEADER_FIELD = re.compile(r"<(type|msgLen|errorLen|bsLen|intInfo)>([^<]*)</\1>")


@dataclass
class Message:
    type: str
    body: bytes = b""
    error: bytes = b""
    bs: bytes = b""
    int_info: int = 0
    element: Element | None = None  # the body already decoded (native packing), else None


@dataclass
class Header:
    type: str
    msg_len: int
    err_len: int
    bs_len: int
    int_info: int


class MessageReader:
    """Reads whole messages; any framing error becomes ProtocolViolation (drop the peer).

    Bulk writes arrive as 4-8 MiB byte streams: we ask the transport for large pieces and join
    them once, instead of growing a buffer 64 KiB per event-loop turn.
    """

    def __init__(self, stream: ByteReceiveStream) -> None:
        self._stream = stream
        self._pending = b""

    async def read_exactly(self, count: int) -> bytes:
        if count <= len(self._pending):
            data, self._pending = self._pending[:count], self._pending[count:]
            return data
        chunks = [self._pending] if self._pending else []
        have = len(self._pending)
        while have < count:
            chunk = await self._stream.receive(min(max(count - have, 65536), MAX_RECEIVE))
            chunks.append(chunk)
            have += len(chunk)
        excess = have - count
        if excess:
            last = chunks[-1]
            chunks[-1], self._pending = last[: len(last) - excess], last[len(last) - excess :]
        else:
            self._pending = b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def read(self) -> Message:
        header = await self.read_header()
        body = await self.read_exactly(header.msg_len)
        error = await self.read_exactly(header.err_len)
        bs = await self.read_exactly(header.bs_len)
        return Message(header.type, body, error, bs, header.int_info)

    async def read_header(self) -> Header:
        (header_length,) = struct.unpack(">i", await self.read_exactly(4))
        if not 0 < header_length <= MAX_HEADER:
            raise ProtocolViolation(f"header length {header_length} out of range",
                                    SYS_HEADER_READ_LEN_ERR)
        header = (await self.read_exactly(header_length)).decode("utf-8", errors="replace")
        fields = dict(_HEADER_FIELD.findall(header))
        if "type" not in fields:
            raise ProtocolViolation("header without <type>", SYS_PACK_INSTRUCT_FORMAT_ERR)
        try:
            msg_len, err_len, bs_len, int_info = (
                int(fields.get(name, "0") or 0) for name in ("msgLen", "errorLen", "bsLen", "intInfo")
            )
        except ValueError as exc:
            raise ProtocolViolation("non-numeric header field", SYS_PACK_INSTRUCT_FORMAT_ERR) from exc
        if not (0 <= msg_len <= MAX_BODY and 0 <= err_len <= MAX_BODY and 0 <= bs_len <= MAX_STREAM):
            raise ProtocolViolation("message lengths out of range")
        return Header(fields["type"].strip(), msg_len, err_len, bs_len, int_info)


def encode_header(msg_type: str, msg_len: int, err_len: int, bs_len: int, int_info: int) -> bytes:
    header = (
        f"<MsgHeader_PI><type>{escape(msg_type)}</type><msgLen>{msg_len}</msgLen>"
        f"<errorLen>{err_len}</errorLen><bsLen>{bs_len}</bsLen><intInfo>{int_info}</intInfo>"
        "</MsgHeader_PI>"
    ).encode()
    return struct.pack(">i", len(header)) + header


def error_struct(code: int, message: str) -> bytes:
    """RError_PI with one entry: PRC raises IndexError on an empty error list."""
    entry = Struct("RErrMsg_PI", [("status", code), ("msg", message)])
    return Struct("RError_PI", [("count", 1), ("RErrMsg_PI", entry)]).encode()


async def send_message(
    stream: ByteSendStream,
    msg_type: str,
    body: bytes = b"",
    *,
    int_info: int = 0,
    error: bytes = b"",
    bs: bytes | memoryview = b"",
) -> None:
    head = encode_header(msg_type, len(body), len(error), len(bs), int_info) + body + error
    if bs and len(bs) > 65536:
        await stream.send(head)
        await stream.send(bytes(bs) if isinstance(bs, memoryview) else bs)
    else:
        await stream.send(head + bytes(bs))
