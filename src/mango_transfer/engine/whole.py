"""Small files moved whole, from and into memory: one read of the local file, then one request
(SINGLE) or open/write-or-read/close (OPEN), as ``engine.small`` chose for the zone.

Both functions run in a worker thread with a session checked out for them (``file_transfer``
dispatches, and bounds the memory the buffers take).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from irods.session import iRODSSession

from mango_transfer.engine.moved import ByteCounter, Moved, compare, refuse_changed
from mango_transfer.engine.small import Method, SmallFiles
from mango_transfer.errors import TransferFailed, VerificationFailed
from mango_transfer.fileinfo import FileInfo
from mango_transfer.irods.chunks import BLOCK_SIZE
from mango_transfer.irods.remote import NotIncluded, RemoteSide
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.hashing import irods_sha256
from mango_transfer.localfs.partial import create_private, partial_path, publish

__all__ = ["get_whole", "needs_mtime", "put_whole"]


# -- upload --------------------------------------------------------------------------------
def _read_whole(local: Path, src: FileInfo) -> tuple[bytes, os.stat_result]:
    """Worker thread: the whole file in one read, and its status while it was open; refused
    (retryable) when it is not the file the walk listed."""
    with translate_os_errors(local), open(local, "rb") as source:
        data = source.read(src.size + 1)  # one byte more shows a file that grew
        status = os.fstat(source.fileno())
    if len(data) != src.size:
        raise TransferFailed(f"the local file changed size during the upload "
                             f"({src.size} → {len(data)} bytes)", path=local, retryable=True)
    refuse_changed(local, status, src.size, src.mtime * 1_000_000_000, whole_seconds=True)
    return data, status


def _changed_since(local: Path, before: os.stat_result) -> bool:
    with translate_os_errors(local):
        now = os.stat(local)
    return (now.st_size, now.st_mtime_ns, now.st_ctime_ns) != (
        before.st_size, before.st_mtime_ns, before.st_ctime_ns)


def needs_mtime(status: os.stat_result, sent_at: float, window: int) -> bool:
    """Whether the object needs the local mtime set explicitly, i.e. the next run's rule "the
    destination was written more than the window after the source last changed"
    (``decide``) might not hold: the server stamps whole seconds, no earlier than
    ``sent_at``, so it holds when ``sent_at`` is more than ``window`` + 1 s after the change.
    Only files written moments before their upload (or dated in the future) pay the touch."""
    changed = max(status.st_mtime_ns, status.st_ctime_ns) // 1_000_000_000
    return sent_at <= changed + window + 1


def _write_whole(remote: RemoteSide, session: iRODSSession, path: str, data: bytes,
                 checksum: str | None) -> None:
    """OPEN: 602, 676 per 4 MiB, 673; with ``checksum``, the close verifies and registers it."""
    handle = remote.open(session, path, "w", size=len(data), checksum=checksum)
    try:
        view = memoryview(data)
        for offset in range(0, len(data), BLOCK_SIZE):
            handle.write(view[offset:offset + BLOCK_SIZE])
        handle.close()
    except BaseException:
        handle.abort()  # the server marks the unfinished replica stale
        raise


def put_whole(session: iRODSSession, remote: RemoteSide, small: SmallFiles, local: Path,
               path: str, src: FileInfo, hashed: bool, window: int,
               counter: ByteCounter) -> Moved:
    """Worker thread: one small file up from memory, in one request (SINGLE) or three (OPEN).

    With ``hashed`` (``--verify`` or ``--checksum``) the SHA-256 of the buffer goes with the
    put: the server computes its own of what it stored, compares and registers it, so one
    request both verifies and leaves a checksum the next run (and any tool) can rely on; a
    mismatch leaves the replica stale. The modify time is set only when the next run could not
    tell the file unchanged without it (:func:`needs_mtime`). A file that changed while it
    was being sent is marked stale and retried: its bytes on the server may be the old ones.
    """
    data, status = _read_whole(local, src)
    checksum = irods_sha256(data) if hashed else None
    method = small.method("upload")
    sent_at = time.time()
    started = time.perf_counter()
    try:
        if method is Method.SINGLE:
            remote.put_bytes(session, path, data, checksum=checksum)
        else:
            _write_whole(remote, session, path, data, checksum)
    except VerificationFailed as exc:
        raise VerificationFailed("the server's checksum of the stored bytes differs from the "
                                 "local file's; the replica is left stale", path=path,
                                 expected=checksum, actual="a different one") from exc
    small.record("upload", method, time.perf_counter() - started)
    counter(len(data))
    if _changed_since(local, status):
        remote.mark_stale(session, path)
        raise TransferFailed("the local file changed during the upload (is it still being "
                             "written?); it was not stored as complete", path=local,
                             retryable=True, hint="upload it again once it is complete")
    if needs_mtime(status, sent_at, window):
        remote.set_mtime(session, path, src.mtime)
    return Moved(len(data), checksum)



# -- download --------------------------------------------------------------------------------
def _read_remote(remote: RemoteSide, session: iRODSSession, path: str, size: int) -> bytes:
    """OPEN: 602, 675 until ``size`` bytes (no read of the end), 673."""
    handle = remote.open(session, path, "r")
    try:
        buffer = bytearray(size)
        view = memoryview(buffer)
        received = 0
        while received < size:
            got = handle.readinto(view[received:received + BLOCK_SIZE])
            if got <= 0:
                break
            received += got
        handle.close()
    except BaseException:
        handle.abort()
        raise
    return bytes(view[:received])


def _fetch_whole(session: iRODSSession, remote: RemoteSide, small: SmallFiles, path: str,
                 src: FileInfo, verify: bool) -> tuple[bytes, str]:
    """The object's bytes, in one request (SINGLE: the reply carries them, and with
    ``verify`` the server's checksum too) or three (OPEN); and that checksum, or ""."""
    if src.size == 0:
        return b"", ""  # nothing to read: no request at all
    method = small.method("download")
    started = time.perf_counter()
    if method is Method.SINGLE:
        try:
            data, checksum = remote.get_bytes(session, path, verify=verify)
        except NotIncluded:  # the zone's single buffer is smaller than ours
            return _read_remote(remote, session, path, src.size), ""
    else:
        data, checksum = _read_remote(remote, session, path, src.size), ""
    small.record("download", method, time.perf_counter() - started)
    return data, checksum


def get_whole(session: iRODSSession, remote: RemoteSide, small: SmallFiles, path: str,
               target: Path, src: FileInfo, verify: bool, counter: ByteCounter) -> Moved:
    """Worker thread: one small object down into memory, checked, then written under a
    partial name and renamed. ``--verify`` compares the SHA-256 of the received bytes with
    the server's: the one the reply carries, else the listed one (the catalog's, as 629 would
    answer), asking the server (629) only when there is none or it differs."""
    data, server = _fetch_whole(session, remote, small, path, src, verify)
    counter(len(data))
    if len(data) != src.size:
        raise VerificationFailed("the data object changed size during the download",
                                 path=path, expected=str(src.size), actual=str(len(data)))
    checksum = irods_sha256(data) if verify else None
    if checksum is not None:
        expected = server or src.checksum or ""
        if checksum != expected:
            expected = remote.checksum(session, path)  # none listed, or the listing is old
        compare(path, checksum, expected)
    temporary = partial_path(target)
    try:
        with translate_os_errors(target):  # a small file never resumes: no partial kept
            with create_private(temporary) as out:
                out.write(data)
            publish(temporary, target, src.mtime)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    return Moved(len(data), checksum)
