"""The JSON log of one ingest, and ``--restart LOG.json``, which retries exactly what it did not
upload: the failed files and those still pending.

**Where.** By default in the folder given with ``-p``, named as mango-ingest 0.9.2 names its
result files: ``mango_ingest_results-<UTC start, ISO 8601 to the second, colons removed>.json``
(``mango_ingest_results-2024-10-01T123456+0000.json``), so users find it where they always did
and mango-ingest's ``clean`` subcommand still tidies it up. ``--log-dir`` puts it elsewhere. The
ingest must never upload its own logs: :data:`LOG_GLOBS` are excluded (mango-ingest excluded them
only in watch mode, so a ``-nw`` run uploaded the previous run's log).

**What** (one object, UTF-8, indented)::

    {"tool": "mango-transfer ingest", "format": 1,
     "started": "2024-10-01T12:34:56+00:00", "finished": null | "...",
     "root": "/abs/local/folder", "destination": "/zone/home/...",
     "options": {...flags, never a password or token...},
     "summary": {"uploaded": N, "skipped": N, "failed": N, "filtered": N, "pending": N},
     "outages": [{"what": "server" | "folder", "since": "...", "until": "..." | null,
                  "reason": "..."}, ...],
     "files": [{"path": "sub-01/a.edf", "size": 123, "status": "uploaded",
                "error": null, "checksum": "<sha-256 hex>" | null, "seconds": 0.42}, ...]}

One record per file (the latest outcome wins: in watch mode a file uploaded twice is listed
once). ``pending``: the watcher saw the file (new, or changed since its last upload) and it is
not uploaded yet — still being written, waiting for its batch, or waiting for the server or the
folder to come back (``error`` then says why); a watcher that is killed leaves these in its log,
and ``--restart LOG`` uploads them with the failed ones. ``outages``: each time the server was
unreachable or the watched folder missing, and when that ended. ``finished`` stays null while a
watch session runs, so a crash leaves a readable log.

**How.** Written atomically (temporary file in the same folder, ``fsync``, ``os.replace``): a
reader, ``--restart`` or a crash never sees half a file. The log is rewritten after each batch.

mango-ingest's own format (``{"matched": [...], "success": [...], "failed": [...], "ignored":
[...], "locked": [...]}``, each record ``{"path": <absolute>, "finished", "st_size", "st_mtime",
"checksum"}``) is also accepted by :func:`read_failed`; its own ``--restart`` crashed on it, since
it looked for a ``"name"`` key its records never had.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from mango_transfer.errors import UsageError
from mango_transfer.localfs.atomic import write_atomically
from mango_transfer.localfs.errors import os_error_to_mango, translate_os_errors

__all__ = [
    "LOG_GLOBS",
    "LOG_PREFIX",
    "FileRecord",
    "FileStatus",
    "IngestLog",
    "IngestLogError",
    "default_log_dir",
    "log_name",
    "read_failed",
]

LOG_PREFIX = "mango_ingest_results-"
# Anchored at -p: the logs and the hidden temporary files of their atomic writes.
LOG_GLOBS = (f"/{LOG_PREFIX}*.json", f"/.{LOG_PREFIX}*")
_TOOL = "mango-transfer ingest"
_FORMAT = 1
_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")


class IngestLogError(UsageError):
    """A ``--restart`` log that is missing, not JSON, or not an ingest log."""

    default_hint = "pass a log written by `mango-transfer ingest` or mango-ingest"


class FileStatus(enum.Enum):
    """One file's outcome, as the log spells it."""

    UPLOADED = "uploaded"
    SKIPPED = "skipped"
    FAILED = "failed"
    FILTERED = "filtered"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file's line: ``path`` relative to ``-p`` with ``/``; ``error`` the one-line reason
    (also why a file was filtered or skipped); ``checksum`` the local SHA-256 in hex."""

    path: str
    size: int
    status: FileStatus
    error: str | None = None
    checksum: str | None = None
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        if self.seconds is not None:
            data["seconds"] = round(self.seconds, 3)
        return data


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def default_log_dir(root: str | os.PathLike[str]) -> Path:
    """mango-ingest's place for its result files: the monitored folder itself."""
    return Path(root)


def log_name(started: datetime, attempt: int = 0) -> str:
    """mango-ingest's file name; ``attempt`` > 0 adds ``-N`` when that second is taken."""
    suffix = f"-{attempt}" if attempt else ""
    return f"{LOG_PREFIX}{_stamp(started).replace(':', '')}{suffix}.json"


def _public(value: Any) -> Any:
    """Options as plain JSON: paths and enums as text, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _public(v) for k, v in value.items() if not _secret(str(k))}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_public(v) for v in value]
    if isinstance(value, enum.Enum):
        return _public(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def _reserve(folder: Path, started: datetime) -> Path:
    """Claim a free log name (exclusive create), so two runs in one second never collide."""
    attempt = 0
    while True:
        candidate = folder / log_name(started, attempt)
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            attempt += 1


class IngestLog:
    """The log of one ingest session, kept in memory and rewritten whole after each batch.

    Not thread-safe: call :meth:`record` from the event loop; :meth:`write` blocks, so either
    call it at the end or hand :meth:`render` to a worker thread (see :meth:`write_text`).
    """

    def __init__(self, path: Path, *, root: str | os.PathLike[str], destination: str,
                 options: Mapping[str, Any], started: datetime | None = None) -> None:
        self.path = path
        self.root = os.fspath(Path(root).absolute())
        self.destination = destination
        self.options = _public(options)
        self.started = started or _now()
        self.finished: datetime | None = None
        self.records: dict[str, FileRecord] = {}
        self.outages: list[dict[str, str | None]] = []

    @classmethod
    def create(cls, log_dir: str | os.PathLike[str], *, root: str | os.PathLike[str],
               destination: str, options: Mapping[str, Any]) -> IngestLog:
        """Reserve a new log in ``log_dir`` (created if missing) and write its header at once,
        so a failure to write the log is known before any upload (blocking)."""
        folder = Path(log_dir)
        started = _now()
        with translate_os_errors(folder):
            folder.mkdir(parents=True, exist_ok=True)
            path = _reserve(folder, started)
        log = cls(path, root=root, destination=destination, options=options, started=started)
        log.write()
        return log

    def record(self, record: FileRecord) -> None:
        """Add or replace one file's outcome."""
        self.records.pop(record.path, None)  # re-insert: the order follows the latest outcome
        self.records[record.path] = record

    def forget(self, path: str) -> None:
        """Drop a file's record (a pending file that vanished before it was uploaded)."""
        self.records.pop(path, None)

    def outage_began(self, what: str, reason: str) -> None:
        """``what`` ("server" or "folder") became unavailable now, for ``reason``."""
        self.outages.append({"what": what, "since": _stamp(_now()), "until": None,
                             "reason": reason})

    def outage_ended(self, what: str) -> None:
        for outage in reversed(self.outages):
            if outage["what"] == what and outage["until"] is None:
                outage["until"] = _stamp(_now())
                return

    def finish(self) -> None:
        """Stamp the end time; write afterwards."""
        self.finished = _now()

    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in FileStatus}
        for record in self.records.values():
            counts[record.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": _TOOL,
            "format": _FORMAT,
            "started": _stamp(self.started),
            "finished": _stamp(self.finished) if self.finished else None,
            "root": self.root,
            "destination": self.destination,
            "options": self.options,
            "summary": self.summary(),
            "outages": self.outages,
            "files": [record.to_json() for record in self.records.values()],
        }

    def render(self) -> str:
        """The file's text; cheap enough for the event loop, unlike the disk write."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write_text(self, text: str) -> Path:
        """Atomically store ``text`` (from :meth:`render`) as the log (blocking)."""
        with translate_os_errors(self.path):
            write_atomically(self.path, text)
        return self.path

    def write(self) -> Path:
        """Render and store (blocking)."""
        return self.write_text(self.render())


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise IngestLogError("restart log not found", path=path) from exc
    except IsADirectoryError as exc:
        raise IngestLogError("is a folder, not a log file", path=path) from exc
    except UnicodeDecodeError as exc:
        raise IngestLogError("not a UTF-8 text file", path=path) from exc
    except OSError as exc:
        raise os_error_to_mango(exc, path) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestLogError(f"not valid JSON ({exc.msg} at line {exc.lineno})",
                             path=path) from exc


def _checked(relative: str, log: Path) -> str:
    """Refuse a path that would reach outside ``-p`` (a hand-edited or foreign log)."""
    parts = PurePosixPath(relative).parts
    if not relative or relative.startswith("/") or any(p in ("..", ".") for p in parts) \
            or "\\" in relative:
        raise IngestLogError(f"entry {relative!r} is not a path inside the ingested folder",
                             path=log)
    return relative


_RETRY = (FileStatus.FAILED.value, FileStatus.PENDING.value)  # what --restart takes


def _ours(data: dict[str, Any], log: Path) -> list[str]:
    files = data["files"]
    if not isinstance(files, list):
        raise IngestLogError('"files" is not a list', path=log)
    failed = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise IngestLogError('a "files" entry has no "path"', path=log)
        if entry.get("status") in _RETRY:
            failed.append(_checked(entry["path"], log))
    return failed


def _mango_ingest(data: dict[str, Any], log: Path, root: Path) -> list[str]:
    """mango-ingest records absolute local paths: make them relative to ``-p``."""
    failed = []
    for entry in data["failed"]:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise IngestLogError('a "failed" entry has no "path"', path=log)
        try:
            relative = Path(name).absolute().relative_to(root.absolute())
        except ValueError:
            raise IngestLogError(f"failed file {name} is not inside {root}", path=log,
                                 hint="run with the same -p as the logged run") from None
        failed.append(_checked(relative.as_posix(), log))
    return failed


def read_failed(log_path: str | os.PathLike[str], root: str | os.PathLike[str]) -> list[str]:
    """The files a ``--restart`` must retry: exactly those whose last status is failed or
    pending (seen by a watcher that stopped before uploading them).

    Paths are relative to ``root`` (``-p``) with ``/``, in log order, without repeats. A missing,
    unreadable or foreign file raises :class:`IngestLogError` (one line, naming the file).
    """
    path = Path(log_path)
    data = _load(path)
    if isinstance(data, dict) and "files" in data:
        failed = _ours(data, path)
    elif isinstance(data, dict) and isinstance(data.get("failed"), list):
        failed = _mango_ingest(data, path, Path(root))
    else:
        raise IngestLogError('not an ingest log (no "files" list)', path=path)
    return list(dict.fromkeys(failed))
