"""The parallel-transfer portal of DATA_OBJ_PUT/GET (606/608) for large files.

The server answers the request with a ``PortalOprOut`` naming a listening port, a cookie and a
thread count, then (before reading the client's next request) serves that many client
connections: each sends the cookie as a 4-byte big-endian int, gets one contiguous share of the
file and moves it in pieces, each announced by a 24-byte transfer header (operation, flags,
offset, length: ``>iiqq``); a ``DONE`` header ends the share.  On a put the client sends each
piece's bytes after its header, on a get the server does.  The client then sends OPR_COMPLETE
(626) on the main connection, which closes the replica.

How many threads: the zone's default policy (``acSetNumThreads`` with the stock
``msiSetNumThreads("default", "default", "default")``): one thread per started 4 MiB, at most the
client's ``-N`` and at most 4; a single thread to a local resource means no portal at all (the
client then moves the bytes with 675/676 on its main connection).
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from anyio.abc import SocketListener, SocketStream

PUT_OPR, GET_OPR, DONE_OPR = 1, 2, 9999
NO_THREADING = -1
HEADER = struct.Struct(">iiqq")
MIN_SIZE_FOR_PARALLEL = 1 << 20
SIZE_PER_THREAD = 4 << 20        # transfer_buffer_size_for_parallel_transfer_in_megabytes
DEFAULT_MAX_THREADS = 4          # default_number_of_transfer_threads
CHUNK = 40 << 20                 # transfer_chunk_size_for_parallel_transfer_in_megabytes
PIECE = 4 << 20
ACCEPT_TIMEOUT = 60.0
SYS_PORT_COOKIE_ERR = -6000
SYS_COPY_LEN_ERR = -27000


def thread_count(size: int, requested: int) -> int:
    """iRODS' getNumThreads under the stock rule; 0 means: no portal."""
    if requested == NO_THREADING or size < 0:
        return 0
    if size <= MIN_SIZE_FOR_PARALLEL:
        if requested <= 0:
            return 0
        requested = 1
    threads = size // SIZE_PER_THREAD + 1
    if requested > 0:
        threads = min(threads, requested)
    threads = min(threads, DEFAULT_MAX_THREADS)
    return 0 if threads == 1 else threads


def shares(size: int, threads: int) -> list[tuple[int, int]]:
    """(offset, length) of each thread: equal shares, the last one takes the remainder."""
    each = size // threads
    out = [(index * each, each) for index in range(threads - 1)]
    out.append(((threads - 1) * each, size - each * (threads - 1)))
    return out


class PortalError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Portal:
    listener: SocketListener
    host: str
    port: int
    cookie: int

    async def _accept(self) -> SocketStream:
        with anyio.fail_after(ACCEPT_TIMEOUT):
            stream = await self.listener.accept()
            raw = await _receive_exactly(stream, 4)
        if struct.unpack(">i", raw)[0] != self.cookie:
            await stream.aclose()
            raise PortalError(SYS_PORT_COOKIE_ERR, "portal cookie mismatch")
        return stream

    async def serve(self, threads: int, size: int, move: Callable[[SocketStream, int, int], Awaitable[None]]
                    ) -> None:
        """Accept ``threads`` clients, give each its share, wait for all; then close the port."""
        try:
            streams = [await self._accept() for _ in range(threads)]
            async with anyio.create_task_group() as group:
                for stream, (offset, length) in zip(streams, shares(size, threads), strict=True):
                    group.start_soon(_run_share, stream, offset, length, move)
        finally:
            await self.listener.aclose()


async def _run_share(stream: SocketStream, offset: int, length: int,
                     move: Callable[[SocketStream, int, int], Awaitable[None]]) -> None:
    async with stream:
        await move(stream, offset, length)


async def open_portal(host: str) -> Portal:
    listener = (await anyio.create_tcp_listener(local_host=host, local_port=0)).listeners[0]
    assert isinstance(listener, SocketListener)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    return Portal(listener, host, port, secrets.randbelow(1 << 31))


async def _receive_exactly(stream: SocketStream, count: int) -> bytes:
    parts, have = [], 0
    while have < count:
        chunk = await stream.receive(min(count - have, 1 << 20))
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


def receiver(os_fd: int) -> Callable[[SocketStream, int, int], Awaitable[None]]:
    """A put share: ask for each piece, write what arrives at its offset."""
    async def move(stream: SocketStream, offset: int, length: int) -> None:
        end = offset + length
        while offset < end:
            piece = min(CHUNK, end - offset)
            await stream.send(HEADER.pack(PUT_OPR, 0, offset, piece))
            left = piece
            while left > 0:
                data = await _receive_exactly(stream, min(PIECE, left))
                os.pwrite(os_fd, data, offset)
                offset += len(data)
                left -= len(data)
        await stream.send(HEADER.pack(DONE_OPR, 0, 0, 0))
    return move


def sender(os_fd: int) -> Callable[[SocketStream, int, int], Awaitable[None]]:
    """A get share: announce each piece, then send its bytes."""
    async def move(stream: SocketStream, offset: int, length: int) -> None:
        end = offset + length
        while offset < end:
            piece = min(CHUNK, end - offset)
            await stream.send(HEADER.pack(GET_OPR, 0, offset, piece))
            left = piece
            while left > 0:
                data = os.pread(os_fd, min(PIECE, left), offset)
                if not data:
                    raise PortalError(SYS_COPY_LEN_ERR, "replica shorter than its catalog size")
                await stream.send(data)
                offset += len(data)
                left -= len(data)
        await stream.send(HEADER.pack(DONE_OPR, 0, 0, 0))
    return move
