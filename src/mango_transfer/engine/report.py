"""The ``--json-report`` file: a header, the totals and one entry per file (scripts read it).

Its shape is fixed by ``schemas/report.schema.json`` (JSON Schema, draft 2020-12; the tests
validate every report they write against it) and described in the README::

    {"report_version": 3,
     "header": {"tool", "version", "command", "argv", "source", "destination", "options",
                "zone", "started", "ended", "seconds", "exit_code", "error", "units"},
     "summary": {"files_found", "bytes_found", "transferred", "new", "changed", "skipped",
                 "failed", "deleted", "planned", "planned_deletions", "not_deleted", "filtered",
                 "resumed", "verified", "identical", "differs", "missing_on_destination",
                 "missing_on_source", "bytes", "retries", "seconds"},
     "files": [{"path", "size", "action", "status", "reason", "bytes_moved", "seconds",
                "checksum", "resumed_from", "verified"}]}

Every size and byte count is an exact number of bytes; times are ISO 8601 with the local
offset. Dry-run plans appear with status ``"planned"`` (``planned_deletions`` counts those
that are deletions) and deletions with ``"deleted"``; a ``--delete`` candidate left in place
(a file of the run failed, or the guard refused) is ``"skipped"`` with action ``"delete"`` and
counted in ``not_deleted``, not in ``skipped``. None is counted in ``transferred``. ``diff`` writes the same shape with
its own statuses (``identical``, ``differs``, ``missing_on_destination``,
``missing_on_source``, ``failed``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mango_transfer import __version__
from mango_transfer.engine.stats import FileResult, Stats
from mango_transfer.errors import MangoError, UsageError
from mango_transfer.localfs.errors import translate_os_errors

__all__ = ["REPORT_VERSION", "RunHeader", "check_report_path", "file_entry", "options_dict",
           "report_dict", "write_report"]

REPORT_VERSION = 3


@dataclass(frozen=True)
class RunHeader:
    """What the report says about the run itself (the caller knows it; the engine does not).

    ``zone``: ``{"name", "host", "port", "user"}`` of the environment used, None when it could
    not be read. ``exit_code`` and ``error`` (one line) as the command ended.
    """

    command: str
    source: str
    destination: str
    options: Mapping[str, Any] = field(default_factory=dict)
    zone: Mapping[str, Any] | None = None
    argv: Sequence[str] = ()
    exit_code: int | None = None
    error: str | None = None


def options_dict(options: Any) -> dict[str, Any]:
    """A dataclass of options as JSON values (tuples become lists, other values strings)."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        out[item.name] = _json_value(getattr(options, item.name))
    return out


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    return str(value)


def _timestamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="milliseconds")


def file_entry(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "size": result.size,
        "action": result.action,
        "status": result.status.value,
        "reason": result.reason,
        "bytes_moved": result.bytes_moved,
        "seconds": None if result.seconds is None else round(result.seconds, 3),
        "checksum": result.checksum,
        "resumed_from": result.resumed_from,
        "verified": result.verified,
    }


def report_dict(stats: Stats, header: RunHeader | None = None) -> dict[str, Any]:
    snap = stats.snapshot()
    head = header or RunHeader(command="", source="", destination="")
    return {
        "report_version": REPORT_VERSION,
        "header": {
            "tool": "mango-transfer",
            "version": __version__,
            "command": head.command,
            "argv": list(head.argv),
            "source": head.source,
            "destination": head.destination,
            "options": _json_value(head.options),
            "zone": None if head.zone is None else _json_value(head.zone),
            "started": _timestamp(stats.started_at),
            "ended": _timestamp(stats.finished_at),
            "seconds": round(snap.elapsed, 3),
            "exit_code": head.exit_code,
            "error": head.error,
            "units": "bytes",
        },
        "summary": {
            "files_found": snap.files_found,
            "bytes_found": snap.bytes_found,
            "transferred": snap.transferred,
            "new": snap.files_new,
            "changed": snap.files_changed,
            "skipped": snap.files_skipped,
            "failed": snap.files_failed,
            "deleted": snap.files_deleted,
            "planned": snap.files_planned,
            "planned_deletions": snap.planned_deletions,
            "not_deleted": snap.not_deleted,
            "filtered": snap.files_filtered,
            "resumed": snap.files_resumed,
            "verified": snap.files_verified,
            "identical": snap.files_identical,
            "differs": snap.files_differ,
            "missing_on_destination": snap.missing_on_destination,
            "missing_on_source": snap.missing_on_source,
            "bytes": snap.bytes,
            "retries": snap.retries,
            "seconds": round(snap.elapsed, 3),
        },
        "files": [file_entry(result) for result in stats.results],
    }


def check_report_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before a run starts, a report path that cannot be written (a missing or
    read-only folder, a folder's name): opened for appending, as a probe, and a file the
    probe created removed again, so a long run never ends without its report."""
    target = Path(path)
    if target.is_dir():
        raise UsageError("--json-report names a folder", path=target,
                         hint="give the name of a file to write")
    existed = target.exists()
    try:
        with translate_os_errors(target):
            with open(target, "a", encoding="utf-8"):
                pass
    except MangoError as exc:
        exc.detail = f"cannot write the --json-report file: {exc.detail}"
        exc.hint = "choose a path in a folder that exists and you may write to"
        raise
    if not existed:
        target.unlink(missing_ok=True)


def write_report(stats: Stats, path: str | os.PathLike[str],
                 header: RunHeader | None = None) -> Path:
    """Write the report as UTF-8 JSON (blocking; call at the end of a run)."""
    target = Path(path)
    with translate_os_errors(target):
        target.write_text(json.dumps(report_dict(stats, header), indent=2, ensure_ascii=False)
                          + "\n", encoding="utf-8")
    return target
