"""Look up a few named data objects of one collection, without listing the whole collection.

An ingest batch (files the watcher saw settle) or a ``--restart`` list names its files; listing
the entire destination tree for them (``IrodsRemote.walk_pages``) would cost as much as a full
sync. One GenQuery per collection with ``DATA_NAME in (...)`` (at most :data:`NAMES_PER_QUERY`
names each) answers instead. A name containing a single quote cannot be written in a GenQuery
literal, so such a collection is read whole (paged) and filtered here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from irods.column import In
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.fileinfo import ListedFile
from mango_transfer.irods.errors import translate_irods_errors
from mango_transfer.irods.remote import listed_file

__all__ = ["NAMES_PER_QUERY", "stat_names"]

NAMES_PER_QUERY = 200


def _rows(session: iRODSSession, collection: str, names: Sequence[str] | None) -> Iterable[Any]:
    query = session.query(DataObject.name, DataObject.size, DataObject.checksum,
                          DataObject.modify_time, DataObject.replica_status)
    query = query.filter(Collection.name == collection)
    if names is not None:
        query = query.filter(In(DataObject.name, list(names)))
    return query.get_results()


def stat_names(session: iRODSSession, collection: str, names: Sequence[str],
               prefix: str = "") -> list[ListedFile]:
    """The objects among ``names`` in ``collection``, sorted by name, one entry per object (a
    good replica when there is one). ``info.path`` is ``prefix + name``."""
    wanted = set(names)
    found: dict[str, ListedFile] = {}
    if any("'" in name for name in wanted):
        batches: list[Sequence[str] | None] = [None]
    else:
        ordered = sorted(wanted)
        batches = [ordered[i:i + NAMES_PER_QUERY] for i in range(0, len(ordered),
                                                                  NAMES_PER_QUERY)]
    with translate_irods_errors(collection):
        for batch in batches:
            for row in _rows(session, collection, batch):
                name = str(row[DataObject.name])
                if name not in wanted:
                    continue
                entry = listed_file(prefix + name, row)
                previous = found.get(name)
                if previous is None or (entry.good and not previous.good):
                    found[name] = entry
    return [found[name] for name in sorted(found)]
