"""``mango-transfer ingest``'s building blocks: mango-ingest's rules, free of the engine.

One module per job, each pure or local-only, so each is tested without a server:

- ``filters``  — ``--glob``/``--regex`` include, ``--ignore-glob``/``--ignore`` exclude (a
  reason per filtered file for the log, and the folders a walk may skip whole).
- ``metadata`` — the AVUs of ``--md-mtime``/``--md-path`` with mango-ingest's names and units
  (the reconcile that keeps re-ingests free of duplicates is ``mango_transfer.avus``).
- ``log``      — the JSON log of one ingest, and ``--restart LOG.json``.
- ``watch``    — watchfiles events and a periodic rescan, turned into batches of settled files.

``cli/ingest.py`` joins them to the engine: each run is an ``engine.upload`` with the filter as
its per-file selection, ``metadata.file_avus`` as its metadata hook and a result callback that
writes the log.
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
