"""AVU metadata of a data object as values: the triple, one step of an atomic call, and the
reconcile that makes a set of managed attributes exactly the desired ones.

Pure (no I/O), and below every feature: ``irods/metadata.py`` reads AVUs and applies the
operations in one atomic request, the engine reconciles a file's AVUs after its upload, and
``ingest/metadata.py`` decides which AVUs a file should carry (mango-ingest's names and units).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

__all__ = ["Avu", "AvuOperation", "metadata_operations"]


class Avu(NamedTuple):
    """One attribute-value-unit triple (PRC's ``iRODSMeta(name, value, units)``); ``""`` is
    no units."""

    name: str
    value: str
    units: str = ""


class AvuOperation(NamedTuple):
    """One step of an atomic metadata call (PRC's ``AVUOperation(operation, avu)``)."""

    operation: Literal["add", "remove"]
    avu: Avu


def metadata_operations(current: Iterable[Avu | tuple[str, str, str | None]],
                        desired: Sequence[Avu]) -> list[AvuOperation]:
    """Atomic operations that leave exactly ``desired`` for each attribute name it contains.

    AVUs on the object under other names (set by users or other tools) are left alone; under a
    managed name, every AVU not desired is removed (also duplicates an earlier tool left) and
    every desired AVU not yet present is added. Removals come first. Nothing to do gives ``[]``,
    so the caller can skip the call. ``current`` may hold PRC's ``(name, value, units)`` with
    ``units`` None, which counts as "no units".
    """
    managed = {avu.name for avu in desired}
    present = [Avu(name, value, units or "") for name, value, units in current]
    present_set = set(present)
    wanted = list(dict.fromkeys(desired))  # keep order, drop repeats
    wanted_set = set(wanted)
    removals = [AvuOperation("remove", avu) for avu in present
                if avu.name in managed and avu not in wanted_set]
    additions = [AvuOperation("add", avu) for avu in wanted if avu not in present_set]
    return removals + additions
