"""Which file pairs a run settles from its listings alone, without any I/O.

A pair skipped by size and time (no modify time to fix), a ``--dry-run`` plan, a file only on
the destination (no ``--delete``, or a deletion candidate, which the runner holds until the
run's end), a walk error or a link left out: the runner settles these at once, where the walk
is, instead of queueing them for a worker (or a worker process). Everything else (a transfer,
a checksum, an mtime fix) needs I/O.
"""

from __future__ import annotations

from mango_transfer.engine.decide import Action, decide
from mango_transfer.engine.merge import Item
from mango_transfer.engine.options import TransferOptions

__all__ = ["needs_io"]


def needs_io(item: Item, options: TransferOptions) -> bool:
    """Whether settling ``item`` needs I/O (then a child does it), or only its listings."""
    if item.error is not None or item.skip is not None:
        return False
    if item.src is not None and item.dst is not None and not item.dst_complete:
        return not options.dry_run  # always changed: transferred, or only planned
    decision = decide(item.src, item.dst, options.skip_rules())
    if decision.action is Action.NEED_CHECKSUM:
        return True
    if decision.action is Action.DELETE:  # held by the parent's runner to the run's end
        return False
    if decision.action is Action.SKIP:
        return decision.fix_mtime and item.src is not None and not options.dry_run
    return not options.dry_run
