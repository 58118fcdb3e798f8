"""Atomic, resumable downloads: bytes go to a hidden partial file, renamed only when complete.

- The partial file lives **in the destination folder** (same file system, so the final
  ``os.replace`` is atomic): a reader never sees a half-written file under the final name.
- Beside it, a small JSON **state file** (mode 0600) records the byte ranges already flushed to
  disk and the remote object's identity (path, size, mtime, checksum). A later run resumes only if
  the identity still matches; if the object changed, the stale bytes are discarded (the state
  itself is a ``byteranges.ResumeState``).
- A range is recorded only after ``fsync`` of the data, and the state file is replaced
  atomically, so a crash (even SIGKILL) can lose progress but never claims bytes not on disk.
- On failure both files are kept (that is the point); on success the state file is removed,
  with any temporary state file a killed run left behind, just *before* the rename: no state
  file ever sits beside a complete file, which later runs skip and would never tidy.

All functions block: the engine calls them through ``anyio.to_thread``. Several chunk workers may
write one download at once; each opens its own handle (:meth:`PartialDownload.open_writer`, no
``os.pwrite`` so it works on Windows) and reports finished ranges through a lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import BinaryIO

from mango_transfer.byteranges import RemoteIdentity, ResumeState
from mango_transfer.errors import VerificationFailed
from mango_transfer.localfs.atomic import leftover_temporaries, write_atomically
from mango_transfer.localfs.errors import translate_os_errors
from mango_transfer.localfs.portable import BINARY, replace, restrict

__all__ = [
    "PARTIAL_SUFFIX",
    "STATE_SUFFIX",
    "PartialDownload",
    "create_private",
    "partial_path",
    "publish",
    "state_path",
]

PARTIAL_SUFFIX = ".mtpartial"
STATE_SUFFIX = ".mtstate"
_NAME_MAX = 255  # bytes, on common file systems
_HASH_CHARS = 8


def _hidden_name(final: Path, suffix: str) -> str:
    """``.<name>.<hash8><suffix>``, truncated to fit NAME_MAX.

    The hash of the full name keeps two long names that share a truncated prefix apart.
    """
    digest = hashlib.sha256(final.name.encode("utf-8", "surrogateescape")).hexdigest()
    tail = f".{digest[:_HASH_CHARS]}{suffix}"
    budget = _NAME_MAX - 1 - len(tail.encode())
    stem = final.name.encode("utf-8", "surrogateescape")[:budget].decode("utf-8", "ignore")
    return f".{stem}{tail}"


def partial_path(final: Path) -> Path:
    """Where the bytes of ``final`` are written until the download completes."""
    return final.with_name(_hidden_name(final, PARTIAL_SUFFIX))


def state_path(final: Path) -> Path:
    """Where the resume state of ``final`` is kept."""
    return final.with_name(_hidden_name(final, STATE_SUFFIX))


def _write_state(path: Path, state: ResumeState) -> None:
    """Replace the state file atomically, mode 0600 (it names remote paths)."""
    write_atomically(path, state.to_json())


def _remove_stale_temporaries(path: Path) -> None:
    """Drop temporary state files a killed process left mid-write (``_write_state``)."""
    for leftover in leftover_temporaries(path):
        leftover.unlink(missing_ok=True)


def _load_state(path: Path, partial: Path, identity: RemoteIdentity) -> ResumeState | None:
    """The saved state if it matches ``identity`` and its bytes are still on disk, else None."""
    try:
        state = ResumeState.from_json(path.read_text(encoding="utf-8"))
        partial_size = partial.stat().st_size
    except (OSError, UnicodeDecodeError):
        return None
    if state is None or state.identity != identity:
        return None
    if state.ranges and state.ranges[-1][1] > partial_size:
        return None  # the partial was truncated behind our back: trust nothing
    return state


class PartialDownload:
    """One download into ``final`` via its partial file; see the module docstring.

    Use :meth:`open` (resumes when possible), write ranges with :meth:`open_writer` +
    :meth:`record`, then :meth:`finish` or leave it for the next run.
    """

    def __init__(self, final: Path, state: ResumeState) -> None:
        self.final = final
        self.partial = partial_path(final)
        self.state_file = state_path(final)
        self._state = state
        self._lock = threading.Lock()

    @classmethod
    def open(cls, final: Path, identity: RemoteIdentity) -> PartialDownload:
        """Resume a matching earlier attempt, or start fresh (discarding stale bytes)."""
        partial, state_file = partial_path(final), state_path(final)
        with translate_os_errors(final, partial=os.fspath(partial)):
            _remove_stale_temporaries(state_file)
            state = _load_state(state_file, partial, identity)
            if state is None:
                state = ResumeState(identity)
                create_private(partial).close()
                _write_state(state_file, state)
        return cls(final, state)

    @property
    def state(self) -> ResumeState:
        with self._lock:
            return self._state

    def save_for_resume(self) -> int:
        """After the disk filled up: keep what a resume can use, and say how many bytes.

        The ranges recorded in memory are saved to the state file, after the partial is cut
        back to the end of the last of them (bytes beyond were never confirmed, and the cut
        frees the room the state file needs). When nothing was recorded, or the state still
        cannot be written, the partial and its state are removed and 0 is returned: a partial
        that no resume would trust is not left behind."""
        with self._lock:
            state = self._state
        recorded = state.identity.size - sum(end - start for start, end in state.missing())
        try:
            if recorded:
                with open(self.partial, "r+b") as handle:
                    handle.truncate(max(end for _, end in state.ranges))
                _write_state(self.state_file, state)
                return recorded
        except OSError:
            pass
        self.partial.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        _remove_stale_temporaries(self.state_file)
        return 0

    def open_writer(self) -> BinaryIO:
        """A new read-write handle on the partial file, one per chunk worker (seek, write)."""
        with translate_os_errors(self.final, partial=os.fspath(self.partial)):
            return open(self.partial, "r+b")

    def record(self, writer: BinaryIO, start: int, end: int) -> None:
        """Mark ``[start, end)`` done, after its bytes are flushed to disk by ``writer``."""
        with translate_os_errors(self.final, partial=os.fspath(self.partial)):
            writer.flush()
            os.fsync(writer.fileno())
            with self._lock:
                self._state = self._state.with_range(start, end)
                _write_state(self.state_file, self._state)

    def finish(self, mtime: int | None = None) -> Path:
        """Drop the state file, set the mtime, rename onto the final name. Needs all bytes."""
        with self._lock:
            missing = self._state.missing()
        if missing:
            raise ValueError(f"download of {self.final} is incomplete: missing {missing}")
        with translate_os_errors(self.final, partial=os.fspath(self.partial)):
            size = self.partial.stat().st_size
            if size != self._state.identity.size:
                raise VerificationFailed("downloaded size differs from the remote size",
                                         path=self.final, expected=str(self._state.identity.size),
                                         actual=str(size))
            # The state goes first: a run killed after the rename leaves no state beside a
            # complete file (the next run skips that file and would never remove it); one
            # killed before it leaves a partial without state, downloaded again.
            self.state_file.unlink(missing_ok=True)
            _remove_stale_temporaries(self.state_file)
            publish(self.partial, self.final, mtime)
        return self.final

    def discard(self) -> None:
        """Remove the partial and its state (e.g. verification failed: the bytes are wrong)."""
        with translate_os_errors(self.final):
            self.partial.unlink(missing_ok=True)
            self.state_file.unlink(missing_ok=True)


def create_private(path: Path) -> BinaryIO:
    """Create (or truncate) an in-flight file readable by its owner only: partial data of a
    download is nobody else's business until it is complete and verified."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | BINARY, 0o600)
    restrict(fd, 0o600)  # an earlier partial may have had wider permissions
    return os.fdopen(fd, "wb")


def publish(partial: Path, final: Path, mtime: int | None) -> None:
    """Give the finished file the permissions a new file gets here, its mtime, its final name."""
    os.chmod(partial, 0o666 & ~_umask())
    if mtime is not None:
        os.utime(partial, (mtime, mtime))
    replace(partial, final)


def _umask() -> int:
    """The process umask, read without changing it (os.umask() can only set it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
