"""Resume state of large uploads, kept in the user's state directory.

A chunked upload records, per data object, the local file's identity (size, mtime in ns) and
the byte ranges the server has acknowledged, in ``<state dir>/uploads/<hash of the iRODS
path>.json``. A later attempt (a retry in the same run, or the next run after a crash or a
SIGKILL) resumes only when

- the state file's identity equals the local file now (same path, size and mtime), and
- the remote object exists, is **not** a good replica (an interrupted upload leaves it stale:
  the server marks it so when the connection goes) and holds at least the recorded bytes.

Then the object is reopened without truncation and only the missing ranges are written. In
every other case the upload starts over. The state file is removed once the primary handle has
finalized the replica. It is written atomically (``localfs.atomic``): a crash can lose the
last recorded block, never claim bytes the server has not acknowledged.

Uploads below the chunk threshold keep no state: they restart, which costs less than the state.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from mango_transfer.byteranges import RemoteIdentity, ResumeState
from mango_transfer.localfs.atomic import write_atomically
from mango_transfer.localfs.errors import translate_os_errors

__all__ = ["UploadProgress", "default_state_dir"]


def default_state_dir(environ: Mapping[str, str] | None = None, *,
                      windows: bool = os.name == "nt") -> Path:
    """``$XDG_STATE_HOME/mango-transfer``, else on Windows ``%LOCALAPPDATA%\\mango-transfer``
    (the per-user, per-machine folder Windows keeps for such state), else
    ``~/.local/state/mango-transfer``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or (env.get("LOCALAPPDATA") if windows else None) \
        or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "mango-transfer"


class UploadProgress:
    """The recorded ranges of one large upload; ``record`` is thread-safe."""

    def __init__(self, file: Path, state: ResumeState) -> None:
        self.file = file
        self._state = state
        self._lock = threading.Lock()

    @staticmethod
    def file_for(state_dir: Path, remote_path: str) -> Path:
        digest = hashlib.sha256(remote_path.encode("utf-8", "surrogateescape")).hexdigest()
        return state_dir / "uploads" / f"{digest[:40]}.json"

    @classmethod
    def load(cls, state_dir: Path, remote_path: str, identity: RemoteIdentity) -> UploadProgress:
        """The saved progress for this identity, or an empty one (nothing written yet)."""
        file = cls.file_for(state_dir, remote_path)
        state: ResumeState | None = None
        try:
            state = ResumeState.from_json(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            state = None
        if state is None or state.identity != identity:
            state = ResumeState(identity)
        return cls(file, state)

    @property
    def state(self) -> ResumeState:
        with self._lock:
            return self._state

    def restart(self) -> None:
        """Forget recorded ranges (the remote bytes cannot be trusted)."""
        with self._lock:
            self._state = ResumeState(self._state.identity)

    def record(self, start: int, end: int) -> None:
        with self._lock:
            self._state = self._state.with_range(start, end)
            self._write(self._state)

    def _write(self, state: ResumeState) -> None:
        with translate_os_errors(self.file):
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.file, state.to_json())

    def remove(self) -> None:
        with translate_os_errors(self.file):
            self.file.unlink(missing_ok=True)
