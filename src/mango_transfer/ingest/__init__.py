"""``mango-transfer ingest``: mango-ingest's rules as building blocks, and the session that
runs them on the engine.

One module per job; all but ``session`` are pure or local-only (free of the engine), so each
is tested without a server:

- ``filters``  — ``--glob``/``--regex`` include, ``--ignore-glob``/``--ignore`` exclude (a
  reason per filtered file for the log, and the folders a walk may skip whole).
- ``metadata`` — the AVUs of ``--md-mtime``/``--md-path`` with mango-ingest's names and units
  (the reconcile that keeps re-ingests free of duplicates is ``mango_transfer.avus``).
- ``log``      — the JSON log of one ingest, and ``--restart LOG.json``.
- ``watch``    — watchfiles events and a periodic rescan, turned into batches of settled files.
- ``plugins``  — ``--filter-func`` and ``--metadata-handler``: a user's ``module.function``.
- ``outage``   — the backoff, ``--max-outage`` and the words of the one status line.

``session`` joins them to the engine: the one-shot runs (``-nw``), and watching, where a
watcher task collects settled files and an uploader task uploads them, waiting out an
unreachable server or a vanished folder with every file seen and not uploaded kept in the log
as ``pending``. ``cli/ingest.py`` parses mango-ingest's command line (flags, ``MANGO_*``
variables, the ``MANGO_INGEST_CONFIG`` file, the helper subcommands), checks it all before any
connection, and prints.
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
