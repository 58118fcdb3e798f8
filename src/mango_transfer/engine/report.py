"""The ``--json-report`` file: a summary and one line per file, in this shape (scripts read it).

``{"summary": {"transferred": N, "skipped": N, "failed": N, "bytes": N, "seconds": S},
"files": [{"path": ..., "status": "transferred"|"skipped"|"failed", "reason": ...}]}``

Dry-run plans appear with status ``"planned"`` and deletions with ``"deleted"``; both are
counted in neither ``transferred`` nor ``skipped``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mango_transfer.engine.stats import Stats
from mango_transfer.localfs.errors import translate_os_errors

__all__ = ["report_dict", "write_report"]


def report_dict(stats: Stats) -> dict[str, Any]:
    snap = stats.snapshot()
    return {
        "summary": {
            "transferred": snap.transferred,
            "skipped": snap.files_skipped,
            "failed": snap.files_failed,
            "bytes": snap.bytes,
            "seconds": round(snap.elapsed, 3),
        },
        "files": [{"path": r.path, "status": r.status.value, "reason": r.reason}
                  for r in stats.results],
    }


def write_report(stats: Stats, path: str | os.PathLike[str]) -> Path:
    """Write the report as UTF-8 JSON (blocking; call at the end of a run)."""
    target = Path(path)
    with translate_os_errors(target):
        target.write_text(json.dumps(report_dict(stats), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    return target
