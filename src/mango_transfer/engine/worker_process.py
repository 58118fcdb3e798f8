"""One worker process of a run with ``--processes N`` (see ``engine/processes.py``).

A child opens a run of its own (context, session pool, direction) from a :class:`WorkerSpec`,
settles every item the parent sends with ``Runner.handle``, as the worker tasks of a
one-process run do, and reports back, every few tens of milliseconds, the outcomes, how many
items it settled, the bytes it moved and its counters (files seen, retries), until the parent
sends None. Its end is one message: ``end``, ``fatal`` (a MangoError that stops the run) or
``crash`` (a traceback).
"""

from __future__ import annotations

import pickle
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from mango_transfer.engine.merge import Item
from mango_transfer.engine.opening import open_direction, run_context
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.retry import retrying
from mango_transfer.engine.runner import RunHooks, Runner
from mango_transfer.engine.stats import FileResult, Stats
from mango_transfer.errors import MangoError, TransferFailed
from mango_transfer.groups import single_errors
from mango_transfer.irods.environment import IrodsEnvironment

__all__ = ["WorkerSpec", "child_main"]

_FLUSH = 0.05  # seconds between a child's reports of outcomes and bytes


@dataclass(frozen=True)
class WorkerSpec:
    """All a child needs to settle files as the parent would, picklable (spawn)."""

    index: int
    direction: str  # "upload" | "download"
    src: str
    dest: str
    options: TransferOptions
    environment: IrodsEnvironment


def child_main(spec: WorkerSpec, inbox: Queue[list[Item] | None],
               outbox: Queue[tuple[Any, ...]]) -> None:
    """A worker process: settle the items the parent sends until it sends None. Ctrl-C is the
    parent's to handle (it ends its children), so this process ignores SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        anyio.run(_serve, spec, inbox, outbox)
    except MangoError as exc:
        outbox.put((spec.index, "fatal", _portable(exc)))
    except BaseException:  # noqa: BLE001 - a bug: its traceback goes to the parent
        outbox.put((spec.index, "crash", traceback.format_exc()))
    else:
        outbox.put((spec.index, "end"))
    outbox.close()
    outbox.join_thread()


def _portable(exc: MangoError) -> MangoError:
    """``exc`` as it can cross to the parent: some errors hold what does not pickle."""
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any pickling failure: keep the message and the class
        plain = TransferFailed(exc.detail, path=exc.path, hint=exc.hint)
        plain.fatal = exc.fatal
        return plain
    return exc


async def _serve(spec: WorkerSpec, inbox: Queue[list[Item] | None],
                 outbox: Queue[tuple[Any, ...]]) -> None:
    stats = Stats(record_files=False)
    reporter = _Reporter(spec.index, outbox, stats)
    with single_errors():
        async with run_context(spec.options, stats, spec.environment) as ctx:
            direction = open_direction(ctx, spec.direction, spec.src, spec.dest)
            await retrying(direction.setup, spec.options)
            runner = Runner(ctx, direction, RunHooks(on_result=reporter.add))
            send, receive = anyio.create_memory_object_stream[Item](2 * spec.options.threads
                                                                    + 64)
            async with anyio.create_task_group() as group:
                group.start_soon(reporter.every, _FLUSH)
                async with anyio.create_task_group() as workers:
                    for _ in range(spec.options.threads):
                        workers.start_soon(_work, runner, receive.clone(), reporter)
                    receive.close()
                    async with send:
                        while (batch := await anyio.to_thread.run_sync(
                                inbox.get, abandon_on_cancel=True)) is not None:
                            for item in batch:
                                await send.send(item)
                group.cancel_scope.cancel()
    reporter.flush()


async def _work(runner: Runner, receive: MemoryObjectReceiveStream[Item],
                reporter: _Reporter) -> None:
    async with receive:
        async for item in receive:
            await runner.handle(item)
            reporter.done += 1


class _Reporter:
    """A child's outcomes, settled-file count, bytes and counters since its last report."""

    _COUNTERS = ("seen", "retries")

    def __init__(self, index: int, outbox: Queue[tuple[Any, ...]], stats: Stats) -> None:
        self.index, self.outbox, self.stats = index, outbox, stats
        self.results: list[FileResult] = []
        self.done = 0
        self.sent_bytes = 0
        self.sent_counts = dict.fromkeys(self._COUNTERS, 0)

    def add(self, result: FileResult) -> None:
        self.results.append(result)

    async def every(self, seconds: float) -> None:
        while True:
            await anyio.sleep(seconds)
            self.flush()

    def flush(self) -> None:
        snap = self.stats.snapshot()
        now = {"seen": snap.seen, "retries": snap.retries}
        counts = {name: now[name] - self.sent_counts[name] for name in self._COUNTERS
                  if now[name] != self.sent_counts[name]}
        moved = snap.bytes - self.sent_bytes
        if not (self.results or self.done or moved or counts):
            return
        self.outbox.put((self.index, "results", self.results, self.done, moved, counts))
        self.results, self.done = [], 0
        self.sent_bytes, self.sent_counts = snap.bytes, now

