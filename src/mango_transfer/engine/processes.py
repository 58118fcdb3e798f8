"""Worker processes for one run (``--processes N``): the parent walks, the children move.

Small-file work is CPU-bound in one Python process (about 1.8 ms of client CPU a file), so a run
may hand its files to ``N`` spawned processes. The parent's :class:`~.runner.Runner` keeps
everything that defines *what* a run does, exactly as with one process: the one streaming walk
merged with the destination listing, the filters, the folders (created in walk order), the
``--delete`` candidates, the ACLs at the end. What it would give a worker task, a file pair that
needs I/O to settle (an :class:`~.merge.Item`), goes to a child instead. Each child is a
``Runner`` of its own over the same direction, with its own event loop and session pool, and
settles each pair with the same ``Runner.handle`` a one-process run uses (decision, checksums,
transfer, resume, ``--verify``, retries); it sends every outcome back, and the parent records it
in the run's one :class:`~.stats.Stats`: one progress bar, one summary, one report, the same exit
codes. A fatal error in a child (authentication) stops the run as it would in one process.

Kept in the parent, because they need no I/O (so a no-op re-sync never starts a process): an
entry the walk could not read or left out, a pair whose decision is known from the listings
alone (skipped by size and time, a ``--dry-run`` plan, a destination-only file), and the
``--delete`` candidates, which the parent's runner holds and deletes after every transfer, as
with one process. Files are dealt to the child with the fewest in flight, a few at a
time, at most ``2 × threads`` each, so the walk's backlog stays in the parent and no child idles
while another has a queue.

Why not the scale-out batches (``scaleout/``): a Celery task re-lists its destination per batch
and cannot take ``--delete`` (it never sees the whole destination listing); here the merge has
already paired every file, so a child needs no listing at all.

Processes are started with the ``spawn`` method (never ``fork``: the parent already runs
threads), which is also the only method Windows has; a child ignores SIGINT, and the parent
ends its children on Ctrl-C or an error (a large upload cut short resumes from its recorded
ranges on the next run).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import queue
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from mango_transfer.engine.merge import Item
from mango_transfer.engine.no_io import needs_io
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.worker_process import WorkerSpec, child_main
from mango_transfer.errors import TransferFailed

if TYPE_CHECKING:
    from mango_transfer.engine.runner import Runner

__all__ = ["ProcessFarm", "farm_for", "resolve_processes", "usable_cores"]

log = logging.getLogger(__name__)
_POLL = 0.25  # seconds the parent waits for a message before it checks its children
_MANY_CORES = 4  # automatic: worker processes only from this many usable cores on


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def resolve_processes(options: TransferOptions) -> int:
    """``--processes``: N as given, or for ``auto`` (0) one process on a machine of fewer than
    four cores (two client processes then compete with each other and with the server for two
    cores, see benchmarks/README.md) and else half the cores, at most 8 and at most one per
    thread."""
    if options.processes:
        return options.processes
    cores = usable_cores()
    if cores < _MANY_CORES:
        return 1
    return max(1, min(8, cores // 2, options.threads))


def farm_for(runner: Runner) -> ProcessFarm | None:
    """The farm of worker processes for this run, or None when it runs in one process: one
    process asked (or chosen), one file or object, a caller's hooks (functions that live in
    this process: ingest, ``diff``), or an explicit file list (scale-out tasks, ingest)."""
    from mango_transfer.engine.from_irods import Download
    from mango_transfer.engine.to_irods import Upload

    count = resolve_processes(runner.options)
    hooks, direction = runner.hooks, runner.direction
    if count < 2 or direction.single or hooks.compare or hooks.select or hooks.admit \
            or hooks.metadata:
        return None
    if isinstance(direction, Upload) and direction.files is None:
        route = ("upload", str(direction.root), direction.collection)
    elif isinstance(direction, Download) and direction.files is None:
        route = ("download", direction.root, str(direction.dest))
    else:
        return None
    options = runner.options
    share = max(1, math.ceil(options.threads / count))
    child = dataclasses.replace(options, threads=share, processes=1, acl=(),
                                state_dir=str(runner.ctx.state_dir))
    environment = dataclasses.replace(runner.ctx.pool.env,
                                      settings=dict(runner.ctx.pool.env.settings))
    specs = [WorkerSpec(index, *route, child, environment) for index in range(count)]
    return ProcessFarm(runner, specs, capacity=max(4, 2 * share))


class ProcessFarm:
    """The parent's side: deal items to the children, record what they send back."""

    def __init__(self, runner: Runner, specs: list[WorkerSpec], capacity: int) -> None:
        self.runner, self.specs, self.capacity = runner, specs, capacity
        self.processes: list[BaseProcess] = []
        self.inboxes: list[Queue[list[Item] | None]] = []
        self.outbox: Queue[tuple[Any, ...]] | None = None
        self.in_flight = [0] * len(specs)
        self.ended = [False] * len(specs)
        self.outgoing: list[Item] = []
        self._changed = anyio.Event()  # set (and replaced) whenever a child reported

    async def run(self, receive: MemoryObjectReceiveStream[Item]) -> None:
        """Take the place of the run's worker tasks: settle or deal every item, then wait for
        the children to finish theirs."""
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                async with receive:
                    async for item in receive:
                        self.runner.stats.queue_depth = receive.statistics().current_buffer_used
                        await self.take(item, receive)
                    await self._flush()
                await self._finish()
                group.cancel_scope.cancel()
        finally:
            self._stop()

    async def take(self, item: Item, receive: MemoryObjectReceiveStream[Item]) -> None:
        runner = self.runner
        if not needs_io(item, runner.options):
            await runner.handle(item)
            return
        if item.src is not None:
            await runner.folder_ready(item.path)
            if runner.broken_dir(item.path) is not None:
                await runner.handle(item)  # fails it by its folder, as a worker would
                return
        self.outgoing.append(item)
        if not self.processes:
            self._start()
        if (len(self.outgoing) >= self.capacity // 2
                or receive.statistics().current_buffer_used == 0):
            await self._flush()

    async def _flush(self) -> None:
        """Send what is waiting to the child with the fewest files in flight, once it has
        room (a child never holds more than ``capacity``)."""
        while self.outgoing:
            index = min(range(len(self.specs)), key=self.in_flight.__getitem__)
            room = self.capacity - self.in_flight[index]
            if room <= 0:
                await self._wait_for_change()
                continue
            batch, self.outgoing = self.outgoing[:room], self.outgoing[room:]
            self.in_flight[index] += len(batch)
            self.inboxes[index].put(batch)

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.outbox = context.Queue()
        for spec in self.specs:
            inbox: Queue[list[Item] | None] = context.Queue()
            process = context.Process(target=child_main, args=(spec, inbox, self.outbox),
                                      name=f"mango-transfer-worker-{spec.index}", daemon=True)
            process.start()
            self.inboxes.append(inbox)
            self.processes.append(process)
        log.debug("started %d worker processes", len(self.processes))
        self._group.start_soon(self._collect)

    async def _wait_for_change(self) -> None:
        await self._changed.wait()

    async def _finish(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        while not all(self.ended[: len(self.processes)]):
            await self._wait_for_change()
        for process in self.processes:
            await anyio.to_thread.run_sync(process.join, 10.0)

    async def _collect(self) -> None:
        assert self.outbox is not None
        outbox = self.outbox
        while True:
            try:
                message = await anyio.to_thread.run_sync(outbox.get, True, _POLL,
                                                          abandon_on_cancel=True)
            except queue.Empty:
                self._check_alive()
                continue
            self._absorb(message)
            self._changed.set()
            self._changed = anyio.Event()

    def _absorb(self, message: tuple[Any, ...]) -> None:
        index, kind, *payload = message
        if kind == "results":
            results, done, moved, counts = payload
            stats = self.runner.stats
            stats.add_bytes(moved)
            for name, amount in counts.items():
                stats.count(name, amount)
            for result in results:
                stats.add_result(result)
                if self.runner.hooks.on_result is not None:
                    self.runner.hooks.on_result(result)
            self.in_flight[index] -= done
        elif kind == "end":
            self.ended[index] = True
        elif kind == "fatal":
            raise payload[0]
        else:  # "crash": a bug in the child; its traceback goes to the debug log
            log.debug("worker process %d failed:\n%s", index, payload[0])
            last = payload[0].strip().splitlines()[-1]
            raise TransferFailed(f"worker process {index} failed: {last}",
                                 hint="run again with --processes 1, and report this as a bug")

    def _check_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if not self.ended[index] and process.exitcode is not None:
                raise TransferFailed(f"worker process {index} ended unexpectedly "
                                     f"(exit code {process.exitcode})",
                                     hint="run again (finished files are skipped), or with "
                                          "--processes 1")

    def _stop(self) -> None:
        """End every child still running (an error or Ctrl-C ended the run early)."""
        for process in self.processes:
            if process.exitcode is None:
                process.terminate()
        for process in self.processes:
            process.join(5.0)
        for inbox in self.inboxes:
            inbox.cancel_join_thread()  # never block the exit on a child that stopped reading
            inbox.close()
        if self.outbox is not None:
            self.outbox.close()
