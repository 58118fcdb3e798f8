"""Moving one file, in each direction. The runner (``runner.py``) decides *whether*; this moves,
and answers with what happened (:class:`Moved`).

**Small files** (below ``--single-buffer`` and ``--chunk-threshold``, 32 MiB by default) are
read whole into memory, then cross the wire in one request or in three (``engine.small``
chooses per zone): DATA_OBJ_PUT/GET with the bytes inside (606/608), or open, one write (read)
per 4 MiB, close (602, 676/675, 673). Files between the two thresholds stream in 4 MiB
blocks. **Large files** go through ``irods.chunks`` over several sessions at once, resumable.
``tests/engine/test_request_count.py`` counts every request on the wire.

**Verification** (``--verify``): the local SHA-256 is computed from the very bytes that move.
A small upload sends it with the put (``verifyChksum``): the server computes its own of what
it stored, compares and registers it in the same request, and a mismatch leaves the replica
stale. A small download compares it with the server's, which the 608 reply carries (or the
listed one, the catalog's). Parallel ranges cannot feed one running SHA-256, so for a *chunked
upload* a separate sequential reader hashes the local file concurrently with the range senders
(a second read, mostly from the page cache), and for a *chunked download* the completed partial
file is hashed before the rename; either is compared with the server's checksum (API 629:
computed from the replica and registered). A mismatch raises :class:`VerificationFailed`; an
upload that fails verification is left stale so no later run takes it for complete, and a
download that fails keeps nothing under the final name. ``--checksum`` registers the checksum
the same way (the next run compares without asking the server to compute it).

**Mtime**: downloads set the local mtime to the object's. A large upload sets the object's
modify time to the local mtime (the touch API, which any user with write access may call). A
small upload does not: on iRODS 5 that call costs about a third of the upload's server work, so
the object keeps the server's write time, and the next run's size-and-mtime rule counts a
destination written after the source's last change (mtime or ctime) as unchanged (``decide``).
Only a file that changed within the modify window before its upload gets the touch, since for
it that rule might not hold.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from irods.session import iRODSSession

from mango_transfer.byteranges import Range, RemoteIdentity
from mango_transfer.engine.context import RunContext
from mango_transfer.engine.moved import ByteCounter, Moved, compare, refuse_changed
from mango_transfer.engine.resume import UploadProgress
from mango_transfer.engine.whole import get_whole, needs_mtime, put_whole
from mango_transfer.errors import DiskFull, TransferFailed, VerificationFailed
from mango_transfer.fileinfo import FileInfo
from mango_transfer.groups import single_errors
from mango_transfer.irods.chunks import BLOCK_SIZE
from mango_transfer.irods.remote import RemoteSide
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.hashing import Sha256, file_checksum
from mango_transfer.localfs.partial import PartialDownload, create_private, partial_path, publish

__all__ = ["Moved", "download_file", "upload_file"]

log = logging.getLogger(__name__)

SMALL_BUFFER = 4 * 1024 * 1024  # a file held whole in memory up to this size needs no slot


def _put_small(session: iRODSSession, remote: RemoteSide, local: Path, path: str, src: FileInfo,
               verify: bool, register: bool, window: int, counter: ByteCounter) -> Moved:
    """Worker thread: one file above the single buffer streamed up on one session: 602, 676
    per 4 MiB, 673, then the checksum (``--verify``/``--checksum``) and, when needed, the
    mtime."""
    digest = Sha256()
    sent = 0
    sent_at = time.time()
    with translate_os_errors(local), open(local, "rb") as source:
        handle = remote.open(session, path, "w", size=src.size)
        try:
            while block := source.read(BLOCK_SIZE):
                anyio.from_thread.check_cancelled()
                if verify:
                    digest.update(block)
                handle.write(block)
                sent += len(block)
                counter(len(block))
            if sent != src.size:
                raise TransferFailed(f"the local file changed size during the upload "
                                     f"({src.size} → {sent} bytes)", path=local, retryable=True)
            status = os.fstat(source.fileno())
            refuse_changed(local, status, src.size, src.mtime * 1_000_000_000,
                           whole_seconds=True)
            handle.close()
        except BaseException:
            handle.abort()  # the server marks the unfinished replica stale
            raise
    checksum = digest.irods_checksum() if verify else None
    _after_put(remote, session, path, src, checksum, register=register,
               touch=needs_mtime(status, sent_at, window))
    return Moved(sent, checksum)


def _after_put(remote: RemoteSide, session: iRODSSession, path: str, src: FileInfo,
               local_checksum: str | None, *, register: bool = False, touch: bool = True) -> None:
    """After a streamed put: compare (``--verify``) or register (``--checksum``) the server's
    SHA-256, then set the modify time (``touch``)."""
    if local_checksum is not None:
        server = remote.checksum(session, path)
        if server != local_checksum:
            remote.mark_stale(session, path)
            compare(path, local_checksum, server)
    elif register:
        remote.checksum(session, path)
    if touch:
        remote.set_mtime(session, path, src.mtime)


@asynccontextmanager
async def _memory(ctx: RunContext, size: int) -> AsyncIterator[None]:
    """A slot for a file held whole in memory: beyond SMALL_BUFFER only a few at a time, so
    --threads files of up to 32 MiB never all sit in memory at once."""
    if size <= SMALL_BUFFER:
        yield
        return
    async with ctx.buffers:
        yield


def _whole(ctx: RunContext, size: int) -> bool:
    return size < min(ctx.options.single_buffer, ctx.options.chunk_threshold)


async def upload_file(ctx: RunContext, local: Path, path: str, src: FileInfo) -> Moved:
    """Upload ``local`` to ``path``; raises MangoError (``retryable`` says whether to retry)."""
    options = ctx.options
    if _whole(ctx, src.size):
        async with _memory(ctx, src.size):
            return await ctx.remote_call(put_whole, ctx.remote, ctx.small, local, path, src,
                                         options.verify or options.checksum,
                                         options.modify_window, ctx.stats.add_bytes)
    if src.size < options.chunk_threshold:
        return await ctx.remote_call(_put_small, ctx.remote, local, path, src, options.verify,
                                     options.checksum, options.modify_window,
                                     ctx.stats.add_bytes)
    return await _put_large(ctx, local, path, src)


async def _put_large(ctx: RunContext, local: Path, path: str, src: FileInfo) -> Moved:
    with translate_os_errors(local):
        before = await ctx.call(os.stat, local)
    mtime_ns = before.st_mtime_ns
    refuse_changed(local, before, src.size, src.mtime * 1_000_000_000, whole_seconds=True)
    identity = RemoteIdentity(path=path, size=src.size, mtime=mtime_ns)
    progress = await ctx.call(UploadProgress.load, ctx.state_dir, path, identity)
    fresh = True
    if progress.state.ranges:
        current = await ctx.remote_call(ctx.remote.stat, path)  # the listing may be outdated
        recorded_end = progress.state.ranges[-1][1]
        if current is not None and not current.good and current.info.size >= recorded_end:
            fresh = False
    if fresh:
        progress.restart()
    else:
        log.info("resuming the upload of %s: %d of %d bytes are already on the server", path,
                 progress.state.done_bytes, src.size)
    missing = progress.state.missing()
    if not missing and not fresh:
        # Every byte is there but the replica was never finalized (the last close was lost). A
        # write handle that writes nothing restores the replica's old (stale) status on close,
        # so send the final block again: that close then finalizes it as good.
        missing = ((max(0, src.size - BLOCK_SIZE), src.size),)
    local_checksum: str | None = None

    async def hash_local() -> None:
        nonlocal local_checksum
        local_checksum = await ctx.call(file_checksum, local)

    with single_errors():
        async with anyio.create_task_group() as group:
            if ctx.options.verify:
                group.start_soon(hash_local)
            await ctx.ranges.put(ctx, local, path, src.size, missing, fresh=fresh,
                                 on_done=progress.record,
                                 before_close=functools.partial(_check_unchanged, local,
                                                                src.size, mtime_ns))
    await ctx.remote_call(_check_put_large, ctx.remote, path, src, local_checksum,
                          ctx.options.checksum)
    await ctx.call(progress.remove)
    return Moved(_bytes(missing), local_checksum, resumed=not fresh)


def _bytes(ranges: Sequence[Range]) -> int:
    return sum(end - start for start, end in ranges)


def _check_unchanged(local: Path, size: int, mtime_ns: int) -> None:
    """Worker thread, before the primary finalizes: the file still is the one we sent."""
    with translate_os_errors(local):
        now = os.stat(local)
    refuse_changed(local, now, size, mtime_ns)


def _check_put_large(session: iRODSSession, remote: RemoteSide, path: str, src: FileInfo,
                     local_checksum: str | None, register: bool) -> None:
    after = remote.stat(session, path)
    if after is None or after.info.size != src.size:
        if after is not None:
            remote.mark_stale(session, path)
        raise VerificationFailed("the uploaded object has the wrong size", path=path,
                                 expected=str(src.size),
                                 actual=str(after.info.size) if after else "missing")
    if not after.good:
        raise VerificationFailed("the uploaded replica was not finalized as good", path=path,
                                 expected="good", actual="stale")
    _after_put(remote, session, path, src, local_checksum, register=register)


# -- download --------------------------------------------------------------------------------
def _get_small(session: iRODSSession, remote: RemoteSide, path: str, target: Path,
               src: FileInfo, verify: bool, counter: ByteCounter) -> Moved:
    """Worker thread: one small object down, to a partial name, renamed when complete."""
    temporary = partial_path(target)
    try:  # a small file never resumes: its partial bytes go, whatever stopped it
        received, checksum = _get_small_into(session, remote, path, target, temporary, src,
                                             verify, counter)
        if received != src.size:
            raise VerificationFailed("the data object changed size during the download",
                                     path=path, expected=str(src.size), actual=str(received))
        if checksum is not None:
            compare(path, checksum, remote.checksum(session, path))
        with translate_os_errors(target):
            publish(temporary, target, src.mtime)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return Moved(received, checksum)


def _get_small_into(session: iRODSSession, remote: RemoteSide, path: str, target: Path,
                    temporary: Path, src: FileInfo, verify: bool,
                    counter: ByteCounter) -> tuple[int, str | None]:
    """Worker thread: the object's bytes into ``temporary``; how many, and their SHA-256
    with ``verify``."""
    digest = Sha256()
    received = 0
    with translate_os_errors(target), create_private(temporary) as out:
        if src.size > 0:
            # 602, 675 until the listed size (no read of the end), 673: three requests.
            handle = remote.open(session, path, "r")
            try:
                buffer = memoryview(bytearray(min(BLOCK_SIZE, src.size)))
                while received < src.size:
                    anyio.from_thread.check_cancelled()
                    got = handle.readinto(buffer[: min(len(buffer), src.size - received)])
                    if got <= 0:
                        break
                    out.write(buffer[:got])
                    if verify:
                        digest.update(buffer[:got])
                    received += got
                    counter(got)
                handle.close()
            except BaseException:
                handle.abort()
                raise
    return received, digest.irods_checksum() if verify else None


async def download_file(ctx: RunContext, path: str, target: Path, src: FileInfo) -> Moved:
    """Download ``path`` to ``target`` (never a partial file under the final name)."""
    if _whole(ctx, src.size):
        async with _memory(ctx, src.size):
            return await ctx.remote_call(get_whole, ctx.remote, ctx.small, path, target, src,
                                         ctx.options.verify, ctx.stats.add_bytes)
    if src.size < ctx.options.chunk_threshold:
        return await ctx.remote_call(_get_small, ctx.remote, path, target, src,
                                     ctx.options.verify, ctx.stats.add_bytes)
    identity = RemoteIdentity(path=path, size=src.size, mtime=src.mtime, checksum=src.checksum)
    partial = await ctx.call(PartialDownload.open, target, identity)
    missing = partial.state.missing()
    resumed = len(missing) != 1 or missing[0] != (0, src.size)
    if resumed:
        log.info("resuming the download of %s: %d of %d bytes are already here", path,
                 src.size - _bytes(missing), src.size)
    try:
        await ctx.ranges.get(ctx, path, src.size, missing, partial=partial.partial,
                             open_writer=partial.open_writer, on_done=partial.record)
    except DiskFull as exc:  # name the local file, and the partial only when it holds data
        if await ctx.call(partial.save_for_resume):
            raise DiskFull(exc.detail, path=target, partial=partial.partial) from exc
        raise DiskFull(exc.detail, path=target) from exc  # nothing a resume could use
    local_checksum: str | None = None
    if ctx.options.verify:
        local_checksum = await ctx.call(file_checksum, partial.partial)
        server = await ctx.remote_call(ctx.remote.checksum, path)
        if local_checksum != server:
            await ctx.call(partial.discard)
            compare(path, local_checksum, server)
    await ctx.call(partial.finish, src.mtime)
    return Moved(_bytes(missing), local_checksum, resumed)
