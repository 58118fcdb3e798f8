"""``mango-transfer ingest``: mango-ingest's flags, on the transfer engine.

The pure parts live here, one module per job, and need neither the engine nor a server:

- ``filters``  — ``--glob``/``--regex`` include, ``--ignore-glob``/``--ignore`` exclude.
- ``metadata`` — ``--md-mtime``/``--md-path`` AVUs with mango-ingest's names and units, and the
  atomic operations that keep re-ingests free of duplicate AVUs.
- ``log``      — the JSON log per ingest and ``--restart LOG.json``.
- ``watch``    — watchfiles events + periodic rescan → batches of settled files.

Design of the CLI (``cli/ingest.py``, next; it is the only place that joins these to the engine):

1. Parse the flags from the option table: ``-d DEST``, ``-p PATH`` (default ``.``), ``-r``,
   ``-nw`` (implies ``--sync``), ``--sync``, ``--verify-checksum`` (engine ``verify``),
   ``--restart LOG``, the four filter flags, ``--md-mtime``, ``--md-path``, plus ours:
   ``--settle``, ``--rescan-interval``, ``--log-dir``, ``--dry-run``. Build ``Filters`` (with
   ``log.LOG_GLOBS`` always added to the excludes) and ``MetadataRules`` first, so a bad
   pattern fails before any connection. Create the ``IngestLog`` (default dir: ``-p``).
2. ``--restart LOG``: ``log.read_failed(LOG, PATH)`` gives the relative paths; one engine run
   uploads exactly those (an explicit file list), then continues as below if asked to watch.
3. ``--sync``/``-nw``: one engine ``upload(PATH, DEST)`` over the whole tree, with the filter as
   a per-file selection (``Filters.reason`` gives the log's "filtered" reason; ``Filters.prunes``
   lets the walk skip excluded folders) and not recursing without ``-r``.
4. Watch (no ``-nw``): ``async for batch in watch.ready_batches(PATH, recursive=..., filters=...,
   settle=...)``: one engine run per batch with that explicit file list. Between batches the
   log is rewritten (``IngestLog.render`` on the loop, ``write_text`` in a thread). Ctrl-C
   cancels the task group: the engine finishes or cleanly abandons the file in flight, the log
   gets ``finished`` and the command prints a summary and exits 0. ``WatchedFolderGone`` (a
   ``MangoError``) is printed as one line, exit 1.
5. Every engine run gets a per-file metadata hook ``lambda info: metadata.file_avus(info.path,
   info.mtime, rules)``; the engine applies ``avus.metadata_operations(current, desired)`` in
   one ``apply_atomic_operations`` call when the upload has been finalized and verified, and a
   per-file result callback turns each outcome (status, size, error, local SHA-256, seconds)
   into a ``log.FileRecord``.
6. ``--dry-run``: the engine's plan (status planned) plus ``file_avus`` per file, printed.
"""

from __future__ import annotations

from mango_transfer.ingest.filters import Filters
from mango_transfer.ingest.log import (
    FileRecord,
    FileStatus,
    IngestLog,
    IngestLogError,
    read_failed,
)
from mango_transfer.ingest.metadata import Avu, MetadataRules, file_avus
from mango_transfer.ingest.watch import WatchedFolderGone, ready_batches

__all__ = [
    "Avu",
    "FileRecord",
    "FileStatus",
    "Filters",
    "IngestLog",
    "IngestLogError",
    "MetadataRules",
    "WatchedFolderGone",
    "file_avus",
    "read_failed",
    "ready_batches",
]
