"""The run loop: a producer merges the two listings into a bounded queue, N workers decide and
move.

Shape of a run (one anyio task group)::

    producer ──(bounded memory stream, --max-backlog)──▶ worker × --threads
      │  merges the source walk with the destination listing (both in catalog order);
      │  each destination folder is created once, in order, by make_folders, and a
      │  worker moves a file only once its folder exists
      ▼
    source walk (local ``localfs.walk`` or remote GenQuery)  +  destination listing

- **Bounded memory.** Both listings are streamed and merged side by side (``merge.py``), so
  neither is ever held whole; the queue's finite buffer parks the walk when workers fall behind.
  Its size is ``--max-backlog`` (10,000 files, rclone's default): far enough ahead that the
  walk's running totals (``Stats.discovered``) are the run's totals early in most runs, a few
  MB of memory at most.
- **Decisions** are ``decide()`` (pure) plus one rule of our own: a destination replica that is
  not good (stale or intermediate, i.e. an interrupted upload) is always *changed*.
- **Threads and sessions.** Every PRC call runs via ``anyio.to_thread.run_sync`` with the run's
  ``CapacityLimiter``, whose tokens equal the session-pool size
  (``threads + chunk_connections + 2``: workers, one large file's extra connections, and the
  remote listings, objects and collections, each holding its session while it pages). The
  listings' pages and the local walk run on threads of their own (``RunContext.listing``).
- **Retries** follow one rule (``retry.py``) for every step; a failure that remains fails
  that file (or the files below that folder), a fatal one (authentication, configuration)
  stops the run. ``--delete``'s deletions wait for the run's end (``deletions.py``).

The runner knows a direction only as a :class:`Direction` (``to_irods.py``, ``from_irods.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mango_transfer.engine.context import RunContext, WorkersFor
from mango_transfer.engine.decide import Action, Decision, Reason, Side, decide
from mango_transfer.engine.deletions import Deletions
from mango_transfer.engine.file_transfer import Moved
from mango_transfer.engine.hooks import RunHooks, admitted, desired_avus, reconcile_avus
from mango_transfer.engine.merge import Item, catalog_key, merge
from mango_transfer.engine.no_io import needs_io
from mango_transfer.engine.outcome import Outcome, StepFailed
from mango_transfer.engine.retry import retrying
from mango_transfer.engine.selection import selection
from mango_transfer.engine.stats import FileResult, Progress, Status
from mango_transfer.errors import MangoError
from mango_transfer.fileinfo import DirInfo, ListedFile, WalkItem

__all__ = ["Direction", "RunHooks", "Runner"]

log = logging.getLogger(__name__)
_TICK = 0.1  # seconds between progress callbacks
T = TypeVar("T")


class Direction(Protocol):
    """One direction of a run: where items come from and how one is moved."""

    single: bool  # the source is one file or object, not a folder or collection

    async def setup(self) -> None: ...

    def source(self) -> AsyncGenerator[WalkItem, None]: ...

    def destination(self) -> AsyncGenerator[ListedFile, None]: ...

    async def prepare_dir(self, relative: str) -> None: ...

    async def transfer(self, item: Item) -> Moved: ...

    async def checksum(self, item: Item, side: Side) -> str | None: ...

    async def fix_mtime(self, item: Item) -> None: ...

    async def delete(self, item: Item) -> str | None: ...

    async def finish(self) -> None: ...

    def remote(self, relative: str) -> str: ...


class Runner:
    """One run of one :class:`Direction`: produce, work, handle each item, record outcomes."""

    def __init__(self, ctx: RunContext, direction: Direction,
                 hooks: RunHooks | None = None) -> None:
        self.ctx = ctx
        self.direction = direction
        self.options = ctx.options
        self.stats = ctx.stats
        self.hooks = hooks or RunHooks()
        self.failed_dirs: dict[str, Outcome] = {}  # a folder not made → its files' outcome
        self.folders_pending: dict[str, anyio.Event] = {}  # announced, not made yet
        self.deletions = Deletions(ctx.options, ctx.stats)  # --delete: held to the end

    async def produce(self, send: MemoryObjectSendStream[Item],
                      folders: MemoryObjectSendStream[str]) -> None:
        scope = self.options.path_filter()
        choose = selection(scope, self.hooks.select)
        lazy = self.hooks.lazy_dirs or scope is not None  # with a filter: only folders used
        waiting: str | None = None  # the folder announced, its collection not made (yet)
        hooks = self.hooks
        inline = not (hooks.compare or hooks.admit or hooks.metadata)
        async with send, folders:
            source = self.direction.source()
            destination = self.direction.destination()
            async with aclosing(source), aclosing(destination):
                async with aclosing(merge(source, destination)) as merged:
                    async for entry in merged:
                        if isinstance(entry, DirInfo):  # made once a file needs it, or now
                            if waiting is not None and not lazy:  # (an empty one too)
                                await self.announce(waiting, folders)
                            waiting = entry.path
                            continue
                        reason = None if choose is None else choose(entry)
                        if reason is not None:  # neither moved nor ever a deletion candidate
                            if reason:
                                self.result(entry, Outcome(Status.FILTERED, reason, "filter"))
                            continue
                        self.deletions.listed(entry)
                        if (waiting is not None and entry.src is not None
                                and entry.error is None and catalog_key(entry.path)[0] == waiting):
                            if entry.dst is None:  # the first new file: its collection now
                                await (self.prepare_dir(waiting) if lazy
                                       else self.announce(waiting, folders))
                            waiting = None  # (an object listed in it proves it exists)
                        if entry.src is not None or entry.error is not None or entry.skip:
                            self.stats.discovered(entry.src.size if entry.src else 0)
                        broken = self.broken_dir(entry.path)
                        if broken is not None and entry.src is not None:
                            self.result(entry, broken)
                            continue
                        if inline and not needs_io(entry, self.options) and catalog_key(
                                entry.path)[0] not in self.folders_pending:
                            await self.handle(entry)  # known from the listings: no queue hop
                        else:
                            await send.send(entry)
                    if waiting is not None and not lazy:
                        await self.announce(waiting, folders)
            self.stats.walk_finished()

    async def announce(self, relative: str, folders: MemoryObjectSendStream[str]) -> None:
        """Have make_folders create ``relative``, in walk order, while the walk goes on."""
        self.folders_pending[relative] = anyio.Event()
        await folders.send(relative)

    async def make_folders(self, folders: MemoryObjectReceiveStream[str]) -> None:
        """Create the folders the walk announces, one after the other (a parent before its
        children), so the walk never waits for a round trip per folder: a file waits for its
        own folder only when a worker takes it up (:meth:`folder_ready`)."""
        async with folders:
            async for relative in folders:
                try:
                    await self.prepare_dir(relative)
                finally:
                    self.folders_pending.pop(relative).set()

    async def folder_ready(self, path: str) -> None:
        """Wait until the folder of ``path`` has been created (or has failed)."""
        pending = self.folders_pending.get(catalog_key(path)[0])
        if pending is not None:
            await pending.wait()

    async def prepare_dir(self, relative: str) -> None:
        """Create one destination folder; when that fails for good, the folder is reported
        (named ``relative/``, with the reason: an empty one too) and only the files below it
        fail, as retryable as its error; the run goes on. Below a failed folder nothing is tried."""
        if (inherited := self.broken_dir(relative)) is not None:
            self.failed_dirs[relative] = inherited
            return
        try:
            await retrying(lambda: self.direction.prepare_dir(relative), self.options,
                           on_retry=self.count_retry)
        except MangoError as exc:
            if exc.fatal:
                raise
            failed = Outcome(Status.FAILED, exc.user_message(), "error", retryable=exc.retryable)
            self.failed_dirs[relative] = dataclasses.replace(
                failed, reason=f"its folder could not be created: {failed.reason}")
            self.stats.discovered(0)
            self.result(Item(relative + "/", None, None), failed)

    def broken_dir(self, path: str) -> Outcome | None:
        return next((broken for folder, broken in self.failed_dirs.items()
                     if path.startswith(folder + "/") or not folder), None)

    async def work(self, receive: MemoryObjectReceiveStream[Item]) -> None:
        async with receive:
            async for item in receive:
                self.stats.queue_depth = receive.statistics().current_buffer_used
                await self.handle(item)

    def result(self, item: Item, outcome: Outcome, started: float | None = None) -> None:
        """Count one file's outcome and tell the ``on_result`` hook; ``started``: when a
        worker took the file up (the result then says how long it took)."""
        size = item.src.size if item.src is not None else (item.dst.size if item.dst else 0)
        moved = outcome.moved
        result = FileResult(
            item.path, outcome.status, outcome.reason, outcome.action, size,
            checksum=outcome.checksum,
            seconds=None if started is None else time.monotonic() - started,
            bytes_moved=moved.bytes if moved is not None else 0,
            resumed_from=max(0, size - moved.bytes) if moved is not None and moved.resumed
            else None,
            verified=moved is not None and moved.checksum is not None and self.options.verify,
            retryable=outcome.retryable)
        self.stats.add_result(result)
        log.debug("%s: %s (%s, %s); %d of %d bytes moved%s", result.path, result.status.value,
                  result.action, result.reason, result.bytes_moved, result.size,
                  "" if result.seconds is None else f" in {result.seconds:.3f} s")
        if self.hooks.on_result is not None:
            self.hooks.on_result(result)

    async def handle(self, item: Item) -> None:
        self.stats.count("seen")
        started = time.monotonic()
        if item.error is not None:
            self.result(item, Outcome(Status.FAILED, item.error.user_message(), "error"),
                        started)
            return
        if item.skip is not None:
            self.result(item, Outcome(Status.SKIPPED, item.skip, "link"), started)
            return
        if item.src is not None:
            await self.folder_ready(item.path)
            if (broken := self.broken_dir(item.path)) is not None:
                self.result(item, broken, started)
                return
        try:
            outcome = await self.settle(item)
        except StepFailed as failed:
            outcome = Outcome(Status.FAILED, failed.error.user_message(), failed.action,
                               retryable=failed.error.retryable)
        if outcome is not None:
            self.result(item, outcome, started)

    async def settle(self, item: Item) -> Outcome | None:
        """Decide about one file and carry it out; None when the file is not this run's
        business. A step that fails for good raises :class:`StepFailed`."""
        if self.hooks.compare:
            return await self.compared(item)
        refused = await self.admit(item)
        if refused is not None:
            return Outcome(Status.FILTERED, refused, "filter")
        decision, checksum = await self.decide(item)
        action, reason = decision.action.value, decision.reason.value
        if decision.action is Action.SKIP:
            if item.src is None:
                return None  # only on the destination and no --delete: not this run's business
            if decision.fix_mtime and not self.options.dry_run:
                await self.attempt(self.direction.fix_mtime, item, action)
            await self.set_metadata(item, fresh=False)
            return Outcome(Status.SKIPPED, reason, action, checksum)
        if decision.action is Action.DELETE:  # after every transfer (deletions.py)
            self.deletions.add(item)
            return None
        if self.options.dry_run:
            return Outcome(Status.PLANNED, reason, action)
        moved = await self.attempt(self.direction.transfer, item, action)
        await self.set_metadata(item, fresh=item.dst is None)
        return Outcome(Status.TRANSFERRED, reason, action, moved.checksum or checksum, moved)

    async def compared(self, item: Item) -> Outcome:
        """``diff``: how one file on the two sides compares, with the skip rules' reason
        (sizes, or sizes and SHA-256 with ``--checksum``); nothing is changed on either side."""
        if item.src is None:
            return Outcome(Status.MISSING_ON_SOURCE, "only on the destination", "compare")
        if item.dst is None:
            return Outcome(Status.MISSING_ON_DESTINATION, "only on the source", "compare")
        decision, checksum = await self.decide(item)
        reason = ("sizes match" if decision.reason is Reason.SIZE_MATCH
                  else decision.reason.value)
        if decision.action is Action.SKIP:
            return Outcome(Status.IDENTICAL, reason, "compare", checksum)
        return Outcome(Status.DIFFERS, reason, "compare", checksum)

    async def admit(self, item: Item) -> str | None:
        """Why the ``admit`` hook leaves a source file out, or None; its error fails it."""
        if item.src is None:
            return None
        try:
            return await admitted(self.ctx, self.hooks, item.src)
        except MangoError as exc:
            if exc.fatal:
                raise
            raise StepFailed(exc, "filter") from exc

    async def decide(self, item: Item) -> tuple[Decision, str | None]:
        """The decision, and the source's checksum when the decision compared checksums (a
        skipped file's, equal to the destination's; a changed file's, before it moved)."""
        rules = self.options.skip_rules()
        src, dst = item.src, item.dst
        if dst is not None and src is not None and not item.dst_complete:
            return Decision(Action.CHANGED, Reason.DESTINATION_INCOMPLETE), None
        decision = decide(src, dst, rules)
        if decision.action is Action.NEED_CHECKSUM and src is not None and dst is not None:
            try:
                if Side.SRC in decision.need:
                    src = dataclasses.replace(src, checksum=await self.direction.checksum(
                        item, Side.SRC) or None)
                if Side.DST in decision.need:
                    dst = dataclasses.replace(dst, checksum=await self.direction.checksum(
                        item, Side.DST) or None)
            except MangoError as exc:
                if exc.fatal:
                    raise
                return Decision(Action.CHANGED, Reason.CHECKSUM_UNAVAILABLE), None
            decision = decide(src, dst, rules)
            if decision.action is Action.NEED_CHECKSUM:
                return Decision(Action.CHANGED, Reason.CHECKSUM_UNAVAILABLE), None
            return decision, src.checksum
        return decision, None

    async def set_metadata(self, item: Item, fresh: bool) -> None:
        """Apply the metadata hook's AVUs (with retries); ``fresh``: the object was just
        created, so it carries none yet."""
        if self.hooks.metadata is None or item.src is None or self.options.dry_run:
            return
        try:
            desired = await desired_avus(self.ctx, self.hooks, item.src)
        except MangoError as exc:
            if exc.fatal:
                raise
            exc.detail = f"metadata not set: {exc.detail}"
            raise StepFailed(exc, "metadata") from exc
        if not desired:
            return
        known_empty = fresh

        async def apply(target: Item) -> None:
            nonlocal known_empty
            empty, known_empty = known_empty, False  # a retry reads what the first one left
            try:
                await self.ctx.remote_call(reconcile_avus, self.direction.remote(target.path),
                                           desired, empty)
            except MangoError as exc:
                exc.detail = f"metadata not set: {exc.detail}"
                raise

        await self.attempt(apply, item, "metadata")

    async def attempt(self, operation: Callable[[Item], Awaitable[T]], item: Item,
                      action: str) -> T:
        """``operation(item)`` with retries; a failure that remains raises
        :class:`StepFailed` (the file fails), a fatal one stops the run."""
        try:
            return await retrying(lambda: operation(item), self.options,
                                  on_retry=self.count_retry)
        except MangoError as exc:
            if exc.fatal:
                raise
            raise StepFailed(exc, action) from exc

    def count_retry(self) -> None:
        self.stats.count("retries")

    async def tick(self, progress: Progress) -> None:
        while True:
            progress(self.stats.snapshot())
            await anyio.sleep(_TICK)

    async def run(self, progress: Progress | None, workers: WorkersFor | None = None) -> None:
        await retrying(self.direction.setup, self.options)
        threads, farm = self.options.threads, workers and workers(self)
        async with anyio.create_task_group() as outer:
            if progress is not None:
                outer.start_soon(self.tick, progress)
            send, receive = anyio.create_memory_object_stream[Item](
                max(4 * threads, self.options.max_backlog))
            folders_send, folders_receive = anyio.create_memory_object_stream[str](
                max(4 * threads, self.options.max_backlog))
            async with anyio.create_task_group() as group:
                group.start_soon(self.produce, send.clone(), folders_send)
                group.start_soon(self.make_folders, folders_receive)
                for _ in range(threads if farm is None else 1):  # or one feeds the processes
                    group.start_soon(self.work if farm is None else farm.run, receive.clone())
                send.close()
                receive.close()
            outer.cancel_scope.cancel()
        await self.deletions.settle(self.direction.delete, self.count_retry, lambda item, status,
                                    why: self.result(item, Outcome(status, why, "delete")))
        await retrying(self.direction.finish, self.options)
