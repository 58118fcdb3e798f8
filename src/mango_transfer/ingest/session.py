"""One ingest session on the engine: the one-shot runs, and watching that outlives outages.

**One shot** (``-nw``, ``--dry-run``): ``--restart``'s files, or the whole tree, in one engine
run each; a failure is final (exit 1), as a nightly job wants.

**Watching** is two tasks and a queue:

- the *watcher* (``watch.ready_batches``) adds each settled file to :class:`Waiting`, the files
  seen and not uploaded yet, and tells the log about every file the moment it is seen, so a
  watcher killed at any time leaves each of them in its log as ``pending``; with ``--sync``
  every file already there counts as seen (the watcher is the initial sync, so the files
  there wait through an outage like any other);
- the *uploader* takes everything waiting, uploads it in one engine run (a *pass*) with that
  file list, and takes each file off the queue only when its outcome is final: uploaded,
  unchanged, filtered, or failed for good.

What keeps a file waiting instead of failing it: a failure a later attempt may cure
(``FileResult.retryable``: the connection was lost or refused, the server was busy; also when
it was the file's destination folder that could not be created for such a reason, as when the
server stops between a pass's start and its folders), and any failure while the watched folder
is missing. A file that changed while it was being uploaded
leaves the queue: the watcher hands it out again once it has settled, and it is uploaded again.

**Outages.** A pass stops early when three files in a row failed for a transient reason (no
point burning every file's retries against a server that is down), or when the run itself
could not start. The uploader then probes the server (log in, look at the destination) with a
capped exponential backoff (1 s, doubling, at most 60 s), forever unless ``--max-outage``,
showing one status line (``server unreachable since 14:02:05 (...), 3 files waiting, retrying
in 30 s``) and recording the outage in the log; meanwhile the watcher goes on collecting files.
When the server answers, everything waiting is uploaded. A vanished watched folder is waited
for the same way (the watcher looks for it; uploads pause until it is back). Only errors that
no wait can cure stop the session: refused credentials, a broken configuration, a destination
that does not exist or may not be written, a failed log write, or ``--max-outage``.
"""

from __future__ import annotations

import base64
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio

from mango_transfer import engine
from mango_transfer.engine import FileResult, Stats, Status, TransferOptions
from mango_transfer.errors import MangoError
from mango_transfer.fileinfo import FileInfo
from mango_transfer.groups import single_errors
from mango_transfer.ingest.filters import Filters
from mango_transfer.ingest.log import LOG_GLOBS, FileRecord, FileStatus, IngestLog
from mango_transfer.ingest.metadata import Avu, MetadataRules, file_avus
from mango_transfer.ingest.outage import Outage, backoff
from mango_transfer.ingest.plugins import UserFunction
from mango_transfer.ingest.watch import Signature, WatchEvents, ready_batches
from mango_transfer.irods.environment import IrodsEnvironment, open_session
from mango_transfer.irods.errors import translate_irods_errors
from mango_transfer.irods.pool import SessionCache

__all__ = ["Console", "IngestPlan", "IngestSession", "Waiting"]

_STATUS = {Status.TRANSFERRED: FileStatus.UPLOADED, Status.SKIPPED: FileStatus.SKIPPED,
           Status.FAILED: FileStatus.FAILED, Status.FILTERED: FileStatus.FILTERED}
BREAKER = 3  # transient failures in a row that end a pass: the server is probably gone
PASS_LIMIT = 20_000  # files per pass at most, so the log shows progress on a huge backlog
PROBE_TIMEOUT = 10.0  # seconds a probe waits for the server to answer
LOG_EVERY = 1.0  # seconds between log writes while files are seen


class Console(Protocol):
    """Where the session speaks (the CLI prints; the session never does)."""

    verbosity: int
    live: bool  # a terminal: the status line is rewritten in place

    def say(self, text: str, level: int = 0) -> None: ...  # a line when verbosity >= level

    def warn(self, text: str) -> None: ...  # a line on stderr, always

    def status(self, text: str) -> None: ...  # the one status line (replaced on a terminal)

    def status_end(self, text: str) -> None: ...  # the status is over: its last line


@dataclass(frozen=True)
class IngestPlan:
    """Everything the flags say, checked before any connection (built by the CLI)."""

    root: Path
    destination: str
    recursive: bool
    watch: bool
    sync: bool
    restart: Path | None
    restart_files: tuple[str, ...]
    filters: Filters
    rules: MetadataRules
    options: TransferOptions
    settle: float
    rescan: float
    log_dir: Path
    polling: bool = False
    polling_interval: float = 5.0
    max_outage: float | None = None
    filter_func: UserFunction | None = None
    metadata_handler: UserFunction | None = None

    def metadata_hook(self) -> Callable[[FileInfo], Sequence[Avu]] | None:
        """The engine's metadata hook (blocking; the engine calls it in a worker thread)."""
        if not self.rules.enabled and self.metadata_handler is None:
            return None
        rules, handler, root = self.rules, self.metadata_handler, self.root

        def avus(info: FileInfo) -> list[Avu]:
            handled = handler.values(root.joinpath(*info.path.split("/"))) if handler else None
            return file_avus(info.path, info.mtime, rules, handled)
        return avus

    def admit_hook(self) -> Callable[[FileInfo], str | None] | None:
        """``--filter-func`` as the engine's blocking per-file check."""
        function, root = self.filter_func, self.root
        if function is None:
            return None

        def admit(info: FileInfo) -> str | None:
            if function.accepts(root.joinpath(*info.path.split("/"))):
                return None
            return f"--filter-func {function.spec} said no"
        return admit


class Waiting:
    """The files seen and not uploaded yet, oldest first. Each addition gets a new number, so
    an outcome only takes a file off when it belongs to the version that was taken."""

    def __init__(self) -> None:
        self._files: dict[str, int] = {}
        self._counter = 0
        self._added = anyio.Event()

    def add(self, paths: Iterable[str]) -> None:
        for path in paths:
            self._counter += 1
            self._files.pop(path, None)
            self._files[path] = self._counter
        if self._files:
            self._added.set()

    def take(self, limit: int = PASS_LIMIT) -> dict[str, int]:
        """The oldest ``limit`` files (they stay until :meth:`done`)."""
        taken: dict[str, int] = {}
        for path, number in self._files.items():
            if len(taken) >= limit:
                break
            taken[path] = number
        return taken

    def done(self, path: str, number: int | None) -> None:
        if number is not None and self._files.get(path) == number:
            del self._files[path]

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._files))

    async def added(self, within: float) -> None:
        """Return when something was added (or ``within`` seconds passed)."""
        with anyio.move_on_after(within):
            await self._added.wait()
        self._added = anyio.Event()


def _hex(checksum: str | None) -> str | None:
    """``sha2:<base64>`` (iRODS) → the SHA-256 in hex, as the log spells it."""
    if not checksum or not checksum.startswith("sha2:"):
        return None
    try:
        return base64.b64decode(checksum[5:], validate=True).hex()
    except ValueError:
        return None


def _probe(environment: IrodsEnvironment, destination: str) -> None:
    """Worker thread: log in and look at the destination; raises the MangoError that says
    why the server cannot be used."""
    session = open_session(environment, connection_timeout=PROBE_TIMEOUT)
    try:
        with translate_irods_errors(destination):
            session.collections.exists(destination)
    finally:
        session.cleanup()


@dataclass
class _Pass:
    """What one engine run left to do: ``outage`` (why the server seems gone), ``retry`` (some
    file failed transiently though the server may be fine), ``complete`` (it ran to its end)."""

    outage: str | None = None
    retry: bool = False
    complete: bool = True
    held: list[tuple[FileResult, int | None]] = field(default_factory=list)


class IngestSession:
    """One ``mango-transfer ingest``: see the module docstring."""

    def __init__(self, plan: IngestPlan, environment: IrodsEnvironment, log: IngestLog | None,
                 console: Console) -> None:
        self.plan = plan
        self.environment = environment
        self.log = log
        self.console = console
        self.waiting = Waiting()
        self.bytes = 0
        self.planned: list[FileResult] = []
        self.in_flight: dict[str, int | None] = {}
        self.changed: set[str] = set()
        self.current = _Pass()
        self.streak = 0
        self.scope: anyio.CancelScope | None = None
        self.final = not plan.watch
        self.folder: Outage | None = None
        self.folder_back = anyio.Event()
        self.log_dirty = False
        self.log_cost = 0.0  # seconds the last log write took
        self.own_logs = Filters.build(ignore_glob=LOG_GLOBS)  # our logs: excluded, not listed
        self.sessions = SessionCache()  # logged-in sessions kept from one pass to the next
        self.displaced: dict[str, FileRecord] = {}  # a pending file's earlier outcome

    # -- the log -----------------------------------------------------------------------------
    def record(self, record: FileRecord) -> None:
        if self.log is not None:
            self.log.record(record)
            self.log_dirty = True

    def pending(self, path: str, size: int, why: str | None) -> None:
        """Log ``path`` as seen and not uploaded; its last outcome is kept aside, so a file
        found unchanged gets that outcome back."""
        if self.log is not None:
            earlier = self.log.records.get(path)
            if earlier is not None and earlier.status is not FileStatus.PENDING:
                self.displaced[path] = earlier
        self.record(FileRecord(path, size, FileStatus.PENDING, why))

    async def write_log(self) -> None:
        if self.log is not None:
            self.log_dirty = False
            began = anyio.current_time()
            await anyio.to_thread.run_sync(self.log.write_text, self.log.render())
            self.log_cost = anyio.current_time() - began

    async def keep_log_current(self) -> None:
        """Rewrite the log when it changed: every second, or less often for a log so large
        that writing it would take more than a twentieth of the time."""
        while True:
            await anyio.sleep(max(LOG_EVERY, 20 * self.log_cost))
            if self.log_dirty:
                await self.write_log()

    # -- outcomes (engine callback, event loop) ----------------------------------------------
    def on_result(self, result: FileResult) -> None:
        number = self.in_flight.pop(result.path, None)
        if result.status is Status.PLANNED:
            self.planned.append(result)
            return
        if result.status is Status.FAILED:
            self.current.held.append((result, number))
            self.streak = self.streak + 1 if result.retryable else 0
            if not self.final and self.streak >= BREAKER and self.scope is not None:
                self.current.outage = result.reason
                self.scope.cancel()
            return
        self.streak = 0
        self.waiting.done(result.path, number)
        status = _STATUS.get(result.status)
        if status is None or (status is FileStatus.FILTERED
                              and not self.own_logs.accepts(result.path)):
            return
        earlier = self.displaced.pop(result.path, None)
        if self.log is not None and earlier is None:
            earlier = self.log.records.get(result.path)
        if (self.plan.watch and status is FileStatus.SKIPPED and earlier is not None
                and earlier.status is not FileStatus.PENDING):
            self.record(earlier)  # unchanged since its earlier outcome: keep that record
            return
        if status is FileStatus.UPLOADED:
            self.console.say(f"uploaded: {result.path} ({result.size} bytes)",
                             0 if self.plan.watch else 1)
        elif status is FileStatus.SKIPPED:
            self.console.say(f"unchanged: {result.path}", 1)
        else:
            self.console.say(f"filtered: {result.path} ({result.reason})", 2)
        error = None if status is FileStatus.UPLOADED else result.reason
        self.record(FileRecord(result.path, result.size, status, error, _hex(result.checksum),
                               result.seconds))

    def failed(self, result: FileResult) -> None:
        self.displaced.pop(result.path, None)
        self.console.warn(f"failed: {result.path}: {result.reason}")
        self.record(FileRecord(result.path, result.size, FileStatus.FAILED, result.reason,
                               None, result.seconds))

    # -- watcher callbacks -------------------------------------------------------------------
    def on_seen(self, path: str, signature: Signature) -> None:
        if path in self.in_flight:
            self.changed.add(path)  # it changed while being uploaded
        self.console.say(f"seen: {path}", 2)
        self.pending(path, signature.size, None)

    def on_forgotten(self, path: str) -> None:
        record = self.log.records.get(path) if self.log is not None else None
        if record is not None and record.status is FileStatus.PENDING and path not in self.waiting:
            earlier = self.displaced.pop(path, None)
            if earlier is not None:
                self.record(earlier)  # it vanished: what was done to it before still holds
            else:
                self.log.forget(path)  # type: ignore[union-attr]
            self.log_dirty = True

    def on_folder_gone(self) -> None:
        self.folder = Outage("folder", "the watched folder disappeared")
        self.folder_back = anyio.Event()
        if self.log is not None:
            self.log.outage_began("folder", self.folder.reason)
            self.log_dirty = True
        self.console.status(self.folder.status(str(self.plan.root), len(self.waiting), None))

    def on_folder_back(self) -> None:
        if self.folder is not None:
            self.console.status_end(self.folder.ended(str(self.plan.root), len(self.waiting)))
        if self.log is not None:
            self.log.outage_ended("folder")
            self.log_dirty = True
        self.folder = None
        self.folder_back.set()

    # -- one engine run ------------------------------------------------------------------------
    async def run_pass(self, files: dict[str, int] | None) -> _Pass:
        """Upload ``files`` (None: the whole tree) in one engine run; classify what is left."""
        plan = self.plan
        self.current, self.streak, self.changed = _Pass(), 0, set()
        self.in_flight = dict(files) if files is not None else {}
        stats = Stats(record_files=False)
        with anyio.CancelScope() as scope:
            self.scope = scope
            try:
                await engine.upload(
                    plan.root, plan.destination, plan.options, stats=stats,
                    environment=self.environment,
                    files=None if files is None else list(files),
                    select=plan.filters.reason, admit=plan.admit_hook(),
                    prune_dir=plan.filters.prunes, recursive=plan.recursive,
                    metadata=plan.metadata_hook(), on_result=self.on_result, empty_dirs=False,
                    sessions=self.sessions)
            except MangoError as exc:
                if self.final or exc.fatal or not exc.retryable:
                    raise
                self.current.outage = exc.detail
            finally:
                self.bytes += stats.snapshot().bytes
                self.scope = None
        outcome = self.current
        outcome.complete = outcome.outage is None and not scope.cancel_called
        await self.classify(outcome, whole_tree=files is None)
        if outcome.retry and outcome.outage is None:
            try:
                await anyio.to_thread.run_sync(_probe, self.environment, plan.destination)
            except MangoError as exc:
                if exc.fatal or not exc.retryable:
                    raise
                outcome.outage = exc.detail
        await self.write_log()
        return outcome

    async def classify(self, outcome: _Pass, *, whole_tree: bool) -> None:
        """Each failure of the pass: final, or kept waiting (see the module docstring)."""
        folder_ok = await anyio.to_thread.run_sync(os.path.isdir, self.plan.root)
        for result, number in outcome.held:
            if self.final:
                self.failed(result)
            elif result.path.endswith("/") and (result.retryable or not folder_ok):
                continue  # a destination folder: each file below it failed with it and waits
            elif not folder_ok:
                self.keep(result, number, whole_tree, "waiting for the watched folder")
            elif result.retryable and result.path in self.changed:
                self.waiting.done(result.path, number)  # the watcher hands it out again
                self.pending(result.path, result.size,
                             "changed while it was uploaded; uploaded again once it settles")
            elif result.retryable:
                outcome.retry = True
                self.keep(result, number, whole_tree, f"waiting to retry: {result.reason}")
            else:
                self.waiting.done(result.path, number)
                self.failed(result)
        outcome.held.clear()

    def keep(self, result: FileResult, number: int | None, whole_tree: bool, why: str) -> None:
        if whole_tree or number is None:
            self.waiting.add([result.path])  # found by the tree walk: queue it explicitly
        self.pending(result.path, result.size, why)

    # -- waiting out outages -----------------------------------------------------------------
    def check_limits(self) -> None:
        limit = self.plan.max_outage
        if limit is not None and self.folder is not None and self.folder.seconds > limit:
            raise self.folder.too_long(str(self.plan.root), limit, len(self.waiting))

    async def wait_for_server(self, reason: str) -> None:
        """Probe with backoff until the server answers (see the module docstring)."""
        plan, outage = self.plan, Outage("server", reason)
        if self.log is not None:
            self.log.outage_began("server", reason)
        await self.write_log()
        while True:
            outage.attempts += 1
            delay = backoff(outage.attempts)
            if plan.max_outage is not None:
                remaining = plan.max_outage - outage.seconds
                if remaining <= 0:
                    raise outage.too_long("", plan.max_outage, len(self.waiting))
                delay = min(delay, remaining)
            await self.count_down(outage, delay)
            try:
                await anyio.to_thread.run_sync(_probe, self.environment, plan.destination)
                break
            except MangoError as exc:
                if exc.fatal or not exc.retryable:
                    raise
                outage.reason = exc.detail
        self.console.status_end(outage.ended("", len(self.waiting)))
        await self.drop_sessions()  # the cached ones died with the connection
        if self.log is not None:
            self.log.outage_ended("server")
        await self.write_log()

    async def drop_sessions(self) -> None:
        old, self.sessions = self.sessions, SessionCache()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(old.close)

    async def count_down(self, outage: Outage, delay: float) -> None:
        """Show the status line for ``delay`` seconds (updated each second on a terminal)."""
        end = anyio.current_time() + delay
        while (left := end - anyio.current_time()) > 0:
            self.console.status(outage.status("", len(self.waiting), left))
            await anyio.sleep(min(left, 1.0) if self.console.live else left)

    async def until_folder_back(self) -> None:
        while self.folder is not None:
            self.check_limits()
            with anyio.move_on_after(1.0):
                await self.folder_back.wait()

    # -- the two tasks -----------------------------------------------------------------------
    async def uploader(self) -> None:
        rounds = 0
        while True:
            while not self.waiting:
                self.check_limits()
                await self.waiting.added(1.0)
            if self.folder is not None:
                await self.until_folder_back()
                continue
            outcome = await self.run_pass(self.waiting.take())
            if outcome.outage is not None:
                await self.wait_for_server(outcome.outage)
                rounds = 0
            elif outcome.retry:
                rounds += 1
                await anyio.sleep(backoff(rounds))
            else:
                rounds = 0

    async def watcher(self) -> None:
        plan = self.plan
        events = WatchEvents(started=lambda: self.console.say(
                                 f"watching {plan.root} (Ctrl-C to stop)"),
                             seen=self.on_seen, forgotten=self.on_forgotten,
                             folder_gone=self.on_folder_gone, folder_back=self.on_folder_back)
        batches = ready_batches(plan.root, recursive=plan.recursive, filters=plan.filters,
                                settle=plan.settle, rescan_interval=plan.rescan,
                                include_existing=plan.sync, force_polling=plan.polling or None,
                                poll_delay=plan.polling_interval if plan.polling else None,
                                events=events)
        async with aclosing(batches):
            async for batch in batches:
                self.console.say(f"ready: {len(batch)} files", 2)
                self.waiting.add(batch)

    async def main(self) -> None:
        try:
            if self.plan.watch:
                await self.watch()
            else:
                await self.once()
        finally:
            await self.drop_sessions()

    async def once(self) -> None:
        plan = self.plan
        if plan.restart is not None:
            await self.run_pass(dict.fromkeys(plan.restart_files, 0))
        if plan.sync and plan.restart is None:
            await self.run_pass(None)

    async def watch(self) -> None:
        plan = self.plan
        self.waiting.add(plan.restart_files)
        for path in plan.restart_files:
            self.pending(path, 0, f"from --restart {plan.restart}")
        async with anyio.create_task_group() as group:
            group.start_soon(self.keep_log_current)
            group.start_soon(self.watcher)
            await self.uploader()

    # -- the end -------------------------------------------------------------------------------
    def interrupted(self) -> None:
        """Stopped: what was taken or waiting and has no outcome stays pending in the log."""
        for path in [*self.in_flight, *self.waiting]:
            record = self.log.records.get(path) if self.log is not None else None
            if record is None or record.status is not FileStatus.PENDING:
                self.pending(path, record.size if record else 0,
                             "interrupted before the upload finished")
        self.in_flight.clear()

    def summary(self, seconds: float) -> str:
        if self.log is None:
            return f"dry run: {len(self.planned)} files would be uploaded"
        counts = self.log.summary()
        text = (f"ingest: {counts['uploaded']} uploaded, {counts['skipped']} skipped, "
                f"{counts['failed']} failed, {counts['filtered']} filtered")
        if counts["pending"]:
            text += f", {counts['pending']} pending"
        return f"{text}; {self.bytes / 1e6:.1f} MB in {seconds:.1f} s; log: {self.log.path}"


async def supervise(session: IngestSession) -> bool:
    """Run the session until it ends or SIGINT/SIGTERM stops it; True when a signal did."""
    stopped = False

    async def on_signals(scope: anyio.CancelScope) -> None:
        nonlocal stopped
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                stopped = True
                scope.cancel()
                return

    with single_errors():
        async with anyio.create_task_group() as group:
            group.start_soon(on_signals, group.cancel_scope)
            await session.main()
            group.cancel_scope.cancel()
    return stopped
