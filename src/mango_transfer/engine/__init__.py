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
- ``runner``      the producer/worker loop: decide, move, record each file's outcome;
- ``retry``       the one retry rule of every step;
- ``decide``      whether one file needs moving (pure, rclone's rules);
- ``file_transfer``  moving one file: small ones whole (``whole``), mid-sized ones streamed,
                  large ones in parallel ranges; ``moved`` is what that answers;
- ``small``       whether a small file crosses the wire in one request or three, per zone;
- ``context`` / ``ranges``  what a run shares, and who moves a large file's byte ranges;
- ``resume``      the recorded ranges of a large upload; ``options``, ``stats``, ``report``.
"""

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
