"""``sync --delete``: what the run would delete, held back until every transfer is done.

A deletion is never carried out while the run moves files (rclone's ``--delete-after``): the
runner hands each destination file the source lacks to :class:`Deletions`, and only once the
walk and every transfer have ended does it ask for the verdict:

- some file of the run failed (an unreadable source folder among them) → nothing is deleted,
  each candidate is reported as not deleted and why: a source that could not be read whole
  says nothing certain about what the destination may lose;
- the guard refuses (:meth:`Deletions.refusal`, rclone's ``--max-delete``) → nothing is
  deleted and the run stops with :class:`DeletionsRefused` (one line: how many, and how to
  allow it; exit 2);
- else the candidates are deleted, ``--threads`` at a time.

The guard's default, without ``--max-delete``, refuses a run that would delete more than half
of the destination's files, or any file when the source listing is empty (an empty or
mistyped source folder or collection). Only files the filters admit are counted on either
side: an excluded file is never a candidate.

The candidates are kept in memory until the end, one :class:`Item` each: the price of deleting
nothing before the run has proven it can read its whole source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from mango_transfer.engine.decide import Reason
from mango_transfer.engine.merge import Item
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.retry import retrying
from mango_transfer.engine.stats import Stats, Status
from mango_transfer.errors import MangoError

__all__ = ["Deletions", "DeletionsRefused", "each", "withheld_reason"]

Delete = Callable[[Item], Awaitable[str | None]]  # a direction's delete: what became of it
Record = Callable[[Item, Status, str], None]  # one deletion candidate's outcome

NO_LIMIT = -1


class DeletionsRefused(MangoError):
    """The ``--delete`` guard refused the run's deletions; nothing was deleted."""

    fatal = True


def withheld_reason(failed: int) -> str:
    """Why a deletion candidate was left in place after ``failed`` files of the run failed."""
    files = "file" if failed == 1 else "files"
    return (f"not deleted: {failed} {files} of this run failed, and --delete deletes only "
            f"after every transfer succeeded")


@dataclass
class Deletions:
    """The deletion candidates of one run and the counts the guard weighs them against."""

    options: TransferOptions
    stats: Stats
    pending: list[Item] = field(default_factory=list)
    destination_files: int = 0
    source_files: int = 0

    def listed(self, item: Item) -> None:
        """Count one pair of the merge that the filters admitted."""
        if item.dst is not None:
            self.destination_files += 1
        if item.src is not None or item.error is not None or item.skip is not None:
            self.source_files += 1

    def add(self, item: Item) -> None:
        """Hold one destination file the source lacks until the run's end."""
        self.pending.append(item)

    def refusal(self, count: int) -> DeletionsRefused | None:
        """Why the guard refuses to delete ``count`` files, or None when it allows it."""
        limit = self.options.max_delete  # None: the default guard, -1: none
        if not count or limit == NO_LIMIT:
            return None
        if limit is not None:
            if count <= limit:
                return None
            return DeletionsRefused(
                f"sync --delete would delete {count} files, more than --max-delete "
                f"{limit} allows; nothing was deleted",
                hint=f"check the source; to allow it, run again with --max-delete {count}")
        total = self.destination_files
        if self.source_files == 0:
            return DeletionsRefused(
                f"the source is empty, so sync --delete would delete all {count} files of "
                f"the destination; nothing was deleted",
                hint=f"check the source path; to allow it, run again with --max-delete {count}")
        if 2 * count > total:
            return DeletionsRefused(
                f"sync --delete would delete {count} of the destination's {total} files, "
                f"more than half; nothing was deleted",
                hint=f"check the source; to allow it, run again with --max-delete {count}")
        return None

    async def settle(self, delete: Delete, on_retry: Callable[[], None], record: Record) -> None:
        """The end of the run: withhold, refuse, list (``--dry-run``) or carry out the
        pending deletions, as the module docstring says; each ends as one file's result."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        options = self.options
        failed = self.stats.snapshot().files_failed
        if failed:
            for item in pending:
                record(item, Status.SKIPPED, withheld_reason(failed))
            return
        refused = self.refusal(len(pending))
        if options.dry_run:
            for item in pending:
                record(item, Status.PLANNED, Reason.ONLY_ON_DESTINATION.value)
        elif refused is not None:
            for item in pending:
                record(item, Status.SKIPPED, f"not deleted: {refused.detail}")
        if refused is not None:
            raise refused
        if options.dry_run:
            return

        async def one(item: Item) -> None:
            try:
                note = await retrying(lambda: delete(item), options, on_retry=on_retry)
            except MangoError as exc:
                if exc.fatal:
                    raise
                record(item, Status.FAILED, exc.user_message())
                return
            record(item, Status.DELETED, note or Reason.ONLY_ON_DESTINATION.value)

        await each(pending, one, options.threads)


async def each(items: Sequence[Item], operation: Callable[[Item], Awaitable[None]],
               workers: int) -> None:
    """``operation(item)`` for every item, at most ``workers`` at a time."""
    send, receive = anyio.create_memory_object_stream[Item](workers)

    async def work(stream: MemoryObjectReceiveStream[Item]) -> None:
        async with stream:
            async for item in stream:
                await operation(item)

    async with anyio.create_task_group() as group:
        for _ in range(max(1, min(workers, len(items)))):
            group.start_soon(work, receive.clone())
        receive.close()
        async with send:
            for item in items:
                await send.send(item)
