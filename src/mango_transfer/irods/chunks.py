"""Parallel byte ranges of one large data object over several connections, both directions.

The protocol is python-irodsclient's ``parallel.py`` (irods-protocol.md §5), run in an anyio
task group instead of an executor:

1. The **primary** handle opens the object with the real mode (``w`` for a fresh upload, ``r+``
   to resume one without truncating, ``r`` for a download) and reads the replica token and
   resource hierarchy (``replica_access_info()``, API 20000).
2. Each **secondary** handle, on its own session, opens the same path with ``replicaToken`` and
   ``resc_hier`` so it joins that replica instead of creating another.
3. Every handle copies its share of the ranges in 4 MiB blocks; finished bytes are reported
   (``on_done``) so the caller can record them in its resume state, every 64 MiB or 2 s per
   connection and at the end of each range (a record costs an fsync and a state-file rewrite).
4. When *all* shares are done, the secondaries close with REPLICA_CLOSE, and only then does the
   primary close, in a shielded scope: that close finalizes size, status and checksum. (PRC
   closes a secondary as soon as its own share is done; we wait for all, because a secondary
   that closes normally while a sibling has failed would release the replica as if all were
   well.)

On any failure nothing is closed: every session of the transfer is discarded (disconnected), so
the server releases the replica and marks it stale, never "good" with missing bytes. The caller
keeps its resume state and retries or resumes later.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

import anyio
import anyio.from_thread
from irods.session import iRODSSession

from mango_transfer.byteranges import Range
from mango_transfer.errors import VerificationFailed
from mango_transfer.groups import single_errors
from mango_transfer.irods.pool import SessionPool
from mango_transfer.irods.remote import RemoteHandle, RemoteSide
from mango_transfer.localfs.errors import translate_os_errors

__all__ = [
    "BLOCK_SIZE",
    "copy_down",
    "copy_up",
    "cut_ranges",
    "get_ranges",
    "open_primary",
    "open_secondary",
    "put_ranges",
    "split_ranges",
]

BLOCK_SIZE = 4 * 1024 * 1024
RECORD_BYTES = 64 * 1024 * 1024  # resume state is written at most this often (bytes) ...
RECORD_SECONDS = 2.0  # ... or this often (seconds) per connection


def split_ranges(ranges: Sequence[Range], parts: int, *, minimum: int = BLOCK_SIZE) -> list[list[Range]]:
    """Share ``ranges`` among at most ``parts`` workers in nearly equal byte counts.

    Shares are contiguous in file order and no smaller than ``minimum`` (except the last), so a
    small remainder does not cost a connection of its own.
    """
    total = sum(end - start for start, end in ranges)
    if total == 0:
        return []
    parts = max(1, min(parts, -(-total // minimum)))
    return cut_ranges(ranges, -(-total // parts))


def cut_ranges(ranges: Sequence[Range], size: int) -> list[list[Range]]:
    """Consecutive pieces of ``size`` bytes (the last may be smaller); a piece may span gaps."""
    result: list[list[Range]] = [[]]
    room = size
    for start, end in ranges:
        while start < end:
            if room == 0:
                result.append([])
                room = size
            step = min(room, end - start)
            result[-1].append((start, start + step))
            start += step
            room -= step
    return [piece for piece in result if piece]


class _Progress:
    """Finished bytes of one contiguous range, reported to ``report`` in coarse steps.

    Recording a block costs the caller a state-file rewrite (and, for downloads, an fsync of
    the data first), so it happens every ``RECORD_BYTES`` or ``RECORD_SECONDS``, whichever
    comes first, and at the end of every range; an interruption loses at most that much.
    """

    def __init__(self, report: Callable[[int, int], None], start: int) -> None:
        self._report = report
        self._start = self._end = start
        self._since = time.monotonic()

    def add(self, end: int) -> None:
        self._end = end
        if (end - self._start >= RECORD_BYTES
                or time.monotonic() - self._since >= RECORD_SECONDS):
            self.flush()

    def flush(self) -> None:
        if self._end > self._start:
            self._report(self._start, self._end)
        self._start = self._end
        self._since = time.monotonic()

    @contextlib.contextmanager
    def saving(self) -> Iterator[_Progress]:
        """Record at the end, also when the copy stops early (its connection failed, or a
        sibling's failure cancelled it): the blocks already confirmed need not move again."""
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):  # the first failure is the one to report
                self.flush()
            raise
        self.flush()


def _copy_share(handle: RemoteHandle, local: BinaryIO, share: list[Range],
                record: Callable[[int, int], None], on_bytes: Callable[[int], None],
                block: Callable[[int], int]) -> None:
    """Worker thread: the one copy loop of both directions. For each range of ``share``,
    both sides are positioned at its start, then ``block(most)`` moves up to ``most`` bytes
    and answers how many; finished bytes go to ``record`` in coarse steps (``_Progress``)."""
    for start, end in share:
        handle.seek(start)
        local.seek(start)
        position = start
        with _Progress(record, start).saving() as progress:
            while position < end:
                anyio.from_thread.check_cancelled()
                moved = block(min(BLOCK_SIZE, end - position))
                on_bytes(moved)
                position += moved
                progress.add(position)


def copy_up(handle: RemoteHandle, local: str, share: list[Range],
            on_done: Callable[[int, int], None], on_bytes: Callable[[int], None]) -> None:
    """Worker thread: local bytes of ``share`` → the remote handle, block by block."""
    with translate_os_errors(local), open(local, "rb") as source:

        def send(most: int) -> int:
            data = source.read(most)
            if not data:
                raise VerificationFailed("the local file shrank during the upload", path=local)
            handle.write(data)  # returns once the server has the bytes
            return len(data)

        _copy_share(handle, source, share, on_done, on_bytes, send)


def copy_down(handle: RemoteHandle, writer_factory: Callable[[], BinaryIO], share: list[Range],
              on_done: Callable[[BinaryIO, int, int], None], on_bytes: Callable[[int], None],
              name: str) -> None:
    """Worker thread: remote bytes of ``share`` → our own handle on the partial file."""
    view = memoryview(bytearray(BLOCK_SIZE))
    writer = writer_factory()

    def receive(most: int) -> int:
        got = handle.readinto(view[:most])
        if got <= 0:
            raise VerificationFailed("the data object is shorter than listed; it changed "
                                     "during the download", path=name)
        with translate_os_errors(name):
            writer.write(view[:got])
        return got

    try:
        _copy_share(handle, writer, share, lambda start, end: on_done(writer, start, end),
                    on_bytes, receive)
    finally:
        with translate_os_errors(name):  # a full disk may only show when the buffer flushes
            writer.close()


async def _run_parallel(
    pool: SessionPool,
    remote: RemoteSide,
    path: str,
    mode: str,
    size: int,
    shares: list[list[Range]],
    work: Callable[[RemoteHandle, list[Range]], None],
    *,
    create: bool,
    before_close: Callable[[], None] | None = None,
) -> None:
    """Open primary + secondaries, run ``work`` per share, close in order; see module doc.

    ``before_close`` runs (in a thread) after every share succeeded and before any close; if
    it raises, nothing is closed, as after any other failure.
    """
    sessions = await pool.checkout_many(len(shares))
    shares = _regroup(shares, len(sessions))
    limiter = pool.limiter
    ok = False
    try:
        with single_errors():
            primary = await anyio.to_thread.run_sync(
                open_primary, remote, sessions[0], path, mode, size, len(shares), create,
                limiter=limiter)
            token, hierarchy = await anyio.to_thread.run_sync(primary.access_info, limiter=limiter)
            handles: list[RemoteHandle] = [primary] + [None] * (len(shares) - 1)  # type: ignore[list-item]

            async def join(index: int) -> None:
                secondary_mode = "a" if mode in ("w", "r+") else "r"
                handles[index] = await anyio.to_thread.run_sync(
                    open_secondary, remote, sessions[index], path, secondary_mode, size,
                    len(shares), token, hierarchy, limiter=limiter)

            async with anyio.create_task_group() as group:
                for index in range(1, len(shares)):
                    group.start_soon(join, index)
            async with anyio.create_task_group() as group:
                for handle, share in zip(handles, shares, strict=True):
                    group.start_soon(_run_in_thread, work, handle, share, limiter)
            if before_close is not None:
                await anyio.to_thread.run_sync(before_close, limiter=limiter)
            # Only when every share succeeded: secondaries close (REPLICA_CLOSE), then the
            # primary finalizes. After a failure nobody closes (see the module docstring).
            async with anyio.create_task_group() as group:
                for handle in handles[1:]:
                    group.start_soon(_close_in_thread, handle, limiter)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(primary.close, limiter=limiter)
        ok = True
    finally:
        for session in sessions:
            await pool.checkin(session, discard=not ok)


async def _close_in_thread(handle: RemoteHandle, limiter: anyio.CapacityLimiter) -> None:
    await anyio.to_thread.run_sync(handle.close, limiter=limiter)


def _regroup(shares: list[list[Range]], count: int) -> list[list[Range]]:
    """Fold shares onto ``count`` handles when the pool gave fewer sessions than asked."""
    if len(shares) <= count:
        return shares
    folded: list[list[Range]] = [[] for _ in range(count)]
    for index, share in enumerate(shares):
        folded[index % count].extend(share)
    return [sorted(share) for share in folded]


async def _run_in_thread(work: Callable[[RemoteHandle, list[Range]], None], handle: RemoteHandle,
                         share: list[Range], limiter: anyio.CapacityLimiter) -> None:
    await anyio.to_thread.run_sync(work, handle, share, limiter=limiter)


def open_primary(remote: RemoteSide, session: iRODSSession, path: str, mode: str, size: int,
                  threads: int, create: bool) -> RemoteHandle:
    return remote.open(session, path, mode, size=size if mode != "r" else -1, threads=threads,
                       create=create)


def open_secondary(remote: RemoteSide, session: iRODSSession, path: str, mode: str, size: int,
                    threads: int, token: str, hierarchy: str) -> RemoteHandle:
    return remote.open(session, path, mode, size=size, threads=threads, token=token,
                       hierarchy=hierarchy, create=False)


async def put_ranges(
    pool: SessionPool,
    remote: RemoteSide,
    local: str | os.PathLike[str],
    path: str,
    size: int,
    ranges: Sequence[Range],
    *,
    fresh: bool,
    connections: int,
    on_done: Callable[[int, int], None],
    on_bytes: Callable[[int], None],
    before_close: Callable[[], None] | None = None,
) -> None:
    """Upload ``ranges`` of ``local`` into ``path`` (``size`` bytes in all) in parallel.

    ``fresh`` creates/truncates the object; otherwise it is reopened without truncation and
    only ``ranges`` are written (resume). ``on_done(start, end)`` runs in worker threads after
    the server acknowledged those bytes. ``before_close`` may refuse to finalize (raise), e.g.
    when the local file changed meanwhile: the replica is then left stale, never good.
    """
    local_name = os.fspath(local)
    shares = split_ranges(ranges, connections) or [[]]

    def work(handle: RemoteHandle, share: list[Range]) -> None:
        copy_up(handle, local_name, share, on_done, on_bytes)

    await _run_parallel(pool, remote, path, "w" if fresh else "r+", size, shares, work,
                        create=fresh, before_close=before_close)


async def get_ranges(
    pool: SessionPool,
    remote: RemoteSide,
    path: str,
    size: int,
    ranges: Sequence[Range],
    *,
    connections: int,
    open_writer: Callable[[], BinaryIO],
    on_done: Callable[[BinaryIO, int, int], None],
    on_bytes: Callable[[int], None],
) -> None:
    """Download ``ranges`` of ``path`` in parallel, each worker writing through its own
    ``open_writer()`` handle; ``on_done(writer, start, end)`` records finished blocks."""
    shares = split_ranges(ranges, connections)
    if not shares:
        return

    def work(handle: RemoteHandle, share: list[Range]) -> None:
        copy_down(handle, open_writer, share, on_done, on_bytes, path)

    await _run_parallel(pool, remote, path, "r", size, shares, work, create=False)
