"""The transfer engine: one run moves a tree between a local folder and an iRODS collection.

This package's face is all a caller needs::

    from mango_transfer import engine
    stats = await engine.upload("./study", "/ZONE/home/USER/study", engine.TransferOptions())

How one run is built, one module per job:

- ``api``         the entry points (``upload``, ``download``, ``sync``, ``transfer``,
                  ``compare`` for ``diff``) and the
                  run's shared context (``run_context``);
- ``route``       which argument is the iRODS side, and which way ``sync`` goes;
- ``to_irods`` / ``from_irods``  the two directions (``Upload``, ``Download``): what to list
                  on each side and how to move, hash, touch or delete one file;
- ``listings``    the local and remote listings, streamed in catalog order;
- ``merge``       pairs the two listings file by file (pure; guards ``--delete``);
- ``selection``   which pairs a run takes: its ``--include``/``--exclude`` rules, a select hook;
- ``hooks``       a caller's per-file hooks, the blocking ones asked in worker threads;
- ``runner``      the producer/worker loop: decide, move, record each file's outcome;
- ``retry``       the one retry rule of every step;
- ``decide``      whether one file needs moving (pure, rclone's rules);
- ``file_transfer``  moving one file: small ones whole (``whole``), mid-sized ones streamed,
                  large ones in parallel ranges; ``moved`` is what that answers;
- ``small``       whether a small file crosses the wire in one request or three, per zone;
- ``context`` / ``ranges``  what a run shares, and who moves a large file's byte ranges;
- ``resume``      the recorded ranges of a large upload; ``options``, ``stats``, ``report``.

The names below are loaded when first used (PEP 562), so a command that only needs the option
table (``mango-transfer upload --help``, a scale-out task's set-up) does not import
python-irodsclient and the rest of the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mango_transfer.engine.api import (
        compare,
        download,
        download_sync,
        open_direction,
        run_context,
        sync,
        sync_sync,
        transfer,
        upload,
        upload_sync,
    )
    from mango_transfer.engine.context import RangeMover, RunContext
    from mango_transfer.engine.options import TransferOptions
    from mango_transfer.engine.route import (
        REMOTE_PREFIX,
        is_remote,
        remote_path,
        resolve_direction,
        sync_direction,
    )
    from mango_transfer.engine.runner import Direction, RunHooks
    from mango_transfer.engine.stats import FileResult, Progress, Stats, StatsSnapshot, Status

_HOMES = {
    "api": ("compare", "download", "download_sync", "open_direction", "run_context", "sync",
            "sync_sync", "transfer", "upload", "upload_sync"),
    "context": ("RangeMover", "RunContext"),
    "options": ("TransferOptions",),
    "route": ("REMOTE_PREFIX", "is_remote", "remote_path", "resolve_direction",
              "sync_direction"),
    "runner": ("Direction", "RunHooks"),
    "stats": ("FileResult", "Progress", "Stats", "StatsSnapshot", "Status"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "REMOTE_PREFIX",
    "Direction",
    "FileResult",
    "Progress",
    "RangeMover",
    "RunContext",
    "RunHooks",
    "Stats",
    "StatsSnapshot",
    "Status",
    "TransferOptions",
    "compare",
    "download",
    "download_sync",
    "is_remote",
    "open_direction",
    "remote_path",
    "resolve_direction",
    "run_context",
    "sync",
    "sync_direction",
    "sync_sync",
    "transfer",
    "upload",
    "upload_sync",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
