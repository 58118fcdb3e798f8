"""Which pairs of the merge a run takes: its ``--include``/``--exclude`` rules (the options'
``filters``) and a caller's ``select`` hook (ingest's patterns).

One verdict per pair: None takes it; a reason leaves it out and is reported (status
``filtered``); ``""`` leaves it out silently. The rules apply to both sides, so a destination
file they exclude is never paired as "only on the destination" and ``--delete`` can never
delete it; what a pruned folder holds is dropped silently on both sides, as a walk that never
entered the folder would say nothing of it. The hook, as before, judges source files only.
"""

from __future__ import annotations

from collections.abc import Callable

from mango_transfer.engine.merge import Item
from mango_transfer.pathfilter import PathFilter

__all__ = ["Verdict", "selection"]

Verdict = Callable[[Item], str | None]


def selection(scope: PathFilter | None,
              select: Callable[[str], str | None] | None) -> Verdict | None:
    """The verdict of a run, or None when it takes every pair."""
    if scope is None and select is None:
        return None

    def verdict(item: Item) -> str | None:
        from_source = item.src is not None or item.error is not None or item.skip is not None
        if scope is not None:
            if scope.prunes(item.path.rpartition("/")[0]):
                return ""
            reason = scope.file_reason(item.path)
            if reason is not None:
                return reason if from_source else ""
        if select is not None and from_source:
            return select(item.path)
        return None

    return verdict
