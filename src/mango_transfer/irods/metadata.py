"""AVU metadata on data objects: read them, and change them in one atomic call.

Kept apart from ``irods.remote`` (the transfer protocol): only a run with a metadata hook
(ingest) needs it. Both
functions block and take a session checked out of the engine's pool, like every ``RemoteSide``
method; PRC exceptions are translated here, once.

**Atomic.** :func:`apply_atomic_operations` sends every add and remove of one object in a single
``ATOMIC_APPLY_METADATA_OPERATIONS`` request (API 20002, iRODS 4.2.8+): the server applies all
of them or none, so an object is never left with half of its metadata. The caller computes the
operations (``avus.metadata_operations``) so that a re-ingest adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from irods.meta import AVUOperation, iRODSMeta
from irods.models import DataObject
from irods.session import iRODSSession

from mango_transfer.avus import Avu, AvuOperation
from mango_transfer.irods.errors import translate_irods_errors

__all__ = ["apply_atomic_operations", "read_avus"]


def read_avus(session: iRODSSession, path: str) -> list[Avu]:
    """Every AVU on the data object ``path`` (one GenQuery); missing units read as ``""``."""
    with translate_irods_errors(path):
        found = session.metadata.get(DataObject, path)
    return [Avu(str(meta.name), str(meta.value), str(meta.units or "")) for meta in found]


def apply_atomic_operations(session: iRODSSession, path: str,
                            operations: Sequence[AvuOperation]) -> None:
    """Apply ``operations`` to the data object ``path`` all at once (nothing to do: no call)."""
    if not operations:
        return
    prc = [AVUOperation(operation=op.operation,
                        avu=iRODSMeta(op.avu.name, op.avu.value, op.avu.units or None))
           for op in operations]
    with translate_irods_errors(path):
        session.metadata.apply_atomic_operations(DataObject, path, *prc)
