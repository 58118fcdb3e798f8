"""``mango-transfer ingest``: mango-ingest's flags, on the transfer engine.

The only place that joins the ``ingest`` building blocks (filters, metadata, log, watch) to the
engine (see ``mango_transfer/ingest/__init__.py``). What a run does:

1. **Check everything first** (no connection yet): ``-p`` is a folder, ``-d`` an absolute iRODS
   path, every ``--glob``/``--regex``/``--ignore-glob``/``--ignore``/``--md-path`` compiles, a
   ``--restart`` log is readable. A mistake is one line naming the flag or file, exit 2.
2. ``--restart LOG``: one engine run over exactly the files LOG lists as failed.
   Otherwise ``--sync`` (implied by ``-nw``): one engine run over the whole tree, filtered files
   logged as ``filtered``. ``--dry-run`` does this run without changing anything (implies
   ``-nw``; no log is written) and lists each file that would be uploaded with its AVUs.
3. Unless ``-nw``: watch. Each batch of settled files is one engine run with that file list.
   After an initial ``--sync`` the watcher starts by re-checking every file once (unchanged
   ones are skipped, per collection lookups), which catches files written while the sync ran.
4. The JSON log (``mango_ingest_results-<UTC>.json`` in ``--log-dir``, default ``-p``) gets one
   record per file as outcomes arrive and is rewritten after each run; a file skipped by the
   watcher keeps its earlier record (it did not change). ``--restart`` writes a new log.
5. Ctrl-C (or SIGTERM) cancels the run in flight: a small file being sent is abandoned (the
   server marks the unfinished replica stale), a large one keeps its resume state; files of
   that batch without an outcome are logged as failed (``--restart`` takes them). The log is
   finished, a summary printed, and the exit code is 0 in watch mode (the normal way to stop
   watching) or 130 for an interrupted ``-nw`` run. The watched folder disappearing is one
   error line, exit 2.

Exit codes: 0 success; 1 some file failed (``-nw``); 2 the ingest could not start or stopped.
"""

from __future__ import annotations

import base64
import signal
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import click

from mango_transfer import engine
from mango_transfer.cli.exits import EXIT_FAILED_FILES, EXIT_INTERRUPTED, fail
from mango_transfer.engine.options import TransferOptions
from mango_transfer.engine.stats import FileResult, Stats, Status
from mango_transfer.errors import LocalNotFound, MangoError, UsageError
from mango_transfer.fileinfo import FileInfo
from mango_transfer.groups import single_errors
from mango_transfer.ingest.filters import Filters
from mango_transfer.ingest.log import (
    LOG_GLOBS,
    FileRecord,
    FileStatus,
    IngestLog,
    default_log_dir,
    read_failed,
)
from mango_transfer.ingest.metadata import Avu, MetadataRules, file_avus
from mango_transfer.ingest.watch import (
    DEFAULT_RESCAN_INTERVAL,
    DEFAULT_SETTLE,
    ready_batches,
)
from mango_transfer.irods.environment import IrodsEnvironment, load_environment

__all__ = ["ingest"]

_STATUS = {Status.TRANSFERRED: FileStatus.UPLOADED, Status.SKIPPED: FileStatus.SKIPPED,
           Status.FAILED: FileStatus.FAILED, Status.FILTERED: FileStatus.FILTERED}
_COMMAND = "mango-transfer ingest"  # how its one-line errors begin


def _hex(checksum: str | None) -> str | None:
    """``sha2:<base64>`` (iRODS) → the SHA-256 in hex, as the log spells it."""
    if not checksum or not checksum.startswith("sha2:"):
        return None
    try:
        return base64.b64decode(checksum[5:], validate=True).hex()
    except ValueError:
        return None


@dataclass(frozen=True)
class Plan:
    """Everything the flags say, checked; built before any connection is made."""

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
    flags: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, params: dict[str, Any]) -> Plan:
        root = Path(params["path"]).absolute()
        if not root.is_dir():
            raise LocalNotFound("-p: the folder to ingest does not exist or is not a folder",
                                path=root)
        destination = str(params["destination"]).rstrip("/") or "/"
        if not destination.startswith("/"):
            raise UsageError(f"-d {params['destination']!r} must be an absolute iRODS path",
                             hint="write it as /ZONE/home/USER/...")
        for name in ("settle", "rescan"):
            if params[name] < 0:
                raise UsageError(f"--{name} must not be negative, got {params[name]}")
        filters = Filters.build(glob=params["glob"], regex=params["regex"],
                                ignore_glob=(*params["ignore_glob"], *LOG_GLOBS),
                                ignore=params["ignore"])
        rules = MetadataRules.build(md_mtime=params["md_mtime"], md_path=params["md_path"])
        restart = Path(params["restart"]) if params["restart"] else None
        restart_files = tuple(read_failed(restart, root)) if restart is not None else ()
        dry_run = bool(params["dry_run"])
        options = TransferOptions(threads=params["threads"], retries=params["retries"],
                                  verify=params["verify_checksum"], dry_run=dry_run)
        watch = not (params["no_watch"] or dry_run)
        return cls(root=root, destination=destination, recursive=params["recursive"],
                   watch=watch, sync=params["sync"] or not watch, restart=restart,
                   restart_files=restart_files, filters=filters, rules=rules, options=options,
                   settle=params["settle"], rescan=params["rescan"],
                   log_dir=Path(params["log_dir"]) if params["log_dir"] else default_log_dir(root),
                   flags={k: v for k, v in params.items() if v not in (None, (), False)})

    def metadata_hook(self) -> Callable[[FileInfo], Sequence[Avu]] | None:
        if not self.rules.enabled:
            return None
        rules = self.rules
        return lambda info: file_avus(info.path, info.mtime, rules)


class Session:
    """One ingest session: its engine runs, the log, and what is shown to the user."""

    def __init__(self, plan: Plan, environment: IrodsEnvironment, log: IngestLog | None) -> None:
        self.plan = plan
        self.environment = environment
        self.log = log
        self.bytes = 0
        self.watching = False
        self.batch: set[str] = set()
        self.planned: list[FileResult] = []
        self.own_logs = Filters.build(ignore_glob=LOG_GLOBS)  # our logs: excluded, not listed

    # -- outcomes --------------------------------------------------------------------------
    def on_result(self, result: FileResult) -> None:
        """Engine callback (event loop): log the outcome, show uploads and failures live."""
        self.batch.discard(result.path)
        if result.status is Status.PLANNED:
            self.planned.append(result)
            return
        status = _STATUS.get(result.status)
        if status is None or (status is FileStatus.FILTERED
                              and not self.own_logs.accepts(result.path)):
            return
        if self.watching and status is FileStatus.SKIPPED and self.log is not None \
                and result.path in self.log.records:
            return  # unchanged since its earlier outcome: keep that record
        if status is FileStatus.FAILED:
            click.echo(f"failed: {result.path}: {result.reason}", err=True)
        elif status is FileStatus.UPLOADED and self.watching:
            click.echo(f"uploaded: {result.path} ({result.size} bytes)")
        if self.log is not None:
            error = None if status is FileStatus.UPLOADED else result.reason
            self.log.record(FileRecord(result.path, result.size, status, error,
                                       _hex(result.checksum), result.seconds))

    def interrupted(self) -> None:
        """Files of the run in flight that got no outcome: failed, so --restart takes them."""
        if self.log is not None:
            for path in sorted(self.batch):
                self.log.record(FileRecord(path, 0, FileStatus.FAILED,
                                           "interrupted before the upload finished"))
        self.batch.clear()

    async def write_log(self) -> None:
        if self.log is not None:
            await anyio.to_thread.run_sync(self.log.write_text, self.log.render())

    # -- runs --------------------------------------------------------------------------------
    async def run(self, files: Sequence[str] | None) -> None:
        """One engine run: the whole tree (``files`` None) or exactly ``files``."""
        plan = self.plan
        stats = Stats(record_files=False)
        self.batch = set(files or ())
        try:
            await engine.upload(
                plan.root, plan.destination, plan.options, stats=stats,
                environment=self.environment, files=files, select=plan.filters.reason,
                prune_dir=plan.filters.prunes, recursive=plan.recursive,
                metadata=plan.metadata_hook(), on_result=self.on_result, empty_dirs=False)
        finally:
            self.bytes += stats.snapshot().bytes
        self.batch.clear()
        await self.write_log()

    async def main(self) -> None:
        plan = self.plan
        if plan.restart is not None:
            await self.run(plan.restart_files)
        if plan.sync and (plan.restart is None or plan.watch):
            await self.run(None)
        if not plan.watch:
            return
        self.watching = True
        click.echo(f"watching {plan.root} (Ctrl-C to stop)")
        batches = ready_batches(plan.root, recursive=plan.recursive, filters=plan.filters,
                                settle=plan.settle, rescan_interval=plan.rescan,
                                include_existing=plan.sync)
        async with aclosing(batches):
            async for batch in batches:
                await self.run(batch)

    # -- the end -----------------------------------------------------------------------------
    def summary(self, seconds: float) -> str:
        if self.log is None:
            return f"dry run: {len(self.planned)} files would be uploaded"
        counts = self.log.summary()
        return (f"ingest: {counts['uploaded']} uploaded, {counts['skipped']} skipped, "
                f"{counts['failed']} failed, {counts['filtered']} filtered; "
                f"{self.bytes / 1e6:.1f} MB in {seconds:.1f} s; log: {self.log.path}")

    def show_plan(self) -> None:
        rules = self.plan.rules
        for result in sorted(self.planned, key=lambda r: r.path):
            click.echo(f"would upload: {result.path} ({result.size} bytes, {result.reason})")
            if not rules.enabled:
                continue
            try:
                mtime = (self.plan.root / result.path).stat().st_mtime
            except OSError:
                continue
            for avu in file_avus(result.path, mtime, rules):
                click.echo(f"  metadata: {avu.name} = {avu.value} [{avu.units}]")


async def _supervise(session: Session) -> bool:
    """Run the session; True when a signal stopped it."""
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


def _execute(params: dict[str, Any]) -> None:
    try:
        plan = Plan.build(params)
        environment = load_environment()
        log = None if plan.options.dry_run else IngestLog.create(
            plan.log_dir, root=plan.root, destination=plan.destination, options=plan.flags)
    except MangoError as exc:
        fail(exc, _COMMAND)
    session = Session(plan, environment, log)
    begin = time.monotonic()
    stopped = False
    error: MangoError | None = None
    try:
        stopped = anyio.run(_supervise, session)
    except MangoError as exc:
        error = exc
    except KeyboardInterrupt:  # a signal before the loop could take it over
        stopped = True
    if stopped:
        session.interrupted()
        click.echo("mango-transfer ingest: stopped; the file in flight was abandoned",
                   err=True)
    if log is not None:
        log.finish()
        try:
            log.write()
        except MangoError as exc:
            error = error or exc
    if plan.options.dry_run:
        session.show_plan()
    if error is not None:
        fail(error, _COMMAND)
    click.echo(session.summary(time.monotonic() - begin))
    if stopped and not plan.watch:
        sys.exit(EXIT_INTERRUPTED)
    if not plan.watch and log is not None and log.summary()["failed"]:
        sys.exit(EXIT_FAILED_FILES)


@click.command()
@click.option("-d", "--destination", "destination", required=True, metavar="DEST_COLL",
              help="The iRODS collection to upload into, e.g. /ZONE/home/USER/study; created "
                   "when missing. LOCAL_PATH/a/b lands at DEST_COLL/a/b.")
@click.option("-p", "--path", "path", default=".", show_default=True, metavar="LOCAL_PATH",
              help="The local folder to ingest (and watch).")
@click.option("-r", "--recursive", is_flag=True,
              help="Include sub-folders (watched too). Without it only the top level counts.")
@click.option("-nw", "--no-watch", "no_watch", is_flag=True,
              help="Upload once and exit (implies --sync); without it the folder stays "
                   "watched and new or modified files are uploaded once they settle.")
@click.option("--sync", is_flag=True,
              help="Before watching, upload what is already there (new or modified files).")
@click.option("--verify-checksum", "verify_checksum", is_flag=True,
              help="Compare the SHA-256 computed while streaming with the server's checksum; "
                   "a mismatch fails the file, with the reason in the log.")
@click.option("--restart", type=click.Path(dir_okay=False), default=None, metavar="LOG.json",
              help="Upload exactly the files LOG.json lists as failed (a log of this command or "
                   "of mango-ingest), then watch unless -nw. Writes a new log.")
@click.option("--glob", multiple=True, metavar="PAT",
              help="Take only files matching this glob (relative to -p; ** spans folders); "
                   "repeatable. Rule: any include (or none given) and no exclude.")
@click.option("--regex", multiple=True, metavar="PAT",
              help="Take only files whose relative path matches this regular expression "
                   "(searched, not anchored); repeatable.")
@click.option("--ignore-glob", "ignore_glob", multiple=True, metavar="PAT",
              help="Leave out files (or whole folders) matching this glob; repeatable.")
@click.option("--ignore", multiple=True, metavar="PAT",
              help="Leave out files whose relative path matches this regular expression; "
                   "repeatable.")
@click.option("--md-mtime", "md_mtime", is_flag=True,
              help="Add the original modification time as mg.original_modify_time.")
@click.option("--md-path", "md_path", multiple=True, metavar="REGEX",
              help="Each named group matched on the relative path becomes an AVU mg.<group>, "
                   "e.g. 'sub-(?P<subject>[^/]+)'; repeatable.")
@click.option("--settle", type=float, default=DEFAULT_SETTLE, show_default=True,
              metavar="SECONDS",
              help="A watched file is uploaded once its size and time stayed the same this long.")
@click.option("--rescan", "--rescan-interval", "rescan", type=float,
              default=DEFAULT_RESCAN_INTERVAL, show_default=True, metavar="SECONDS",
              help="Also rescan the whole folder this often, for drives that miss events; 0: "
                   "never.")
@click.option("--log-dir", "log_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="Where the JSON log goes (default: the -p folder, as "
                                  "mango-ingest).")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="List what would be uploaded, with its metadata; change nothing (no log).")
@click.option("--threads", "-t", type=int, default=TransferOptions.threads, show_default=True,
              metavar="N", help="Files uploaded at once, each on its own iRODS connection.")
@click.option("--retries", type=int, default=TransferOptions.retries, show_default=True,
              metavar="N", help="Attempts after a transient failure.")
def ingest(**params: Any) -> None:
    """Upload a folder to iRODS and keep uploading what appears in it (mango-ingest's flags).

    Uploads are one-way: local deletions are not propagated and empty folders are not
    uploaded. A re-run uploads only new or modified files. Every run writes a JSON log with
    each file's status; --restart LOG.json retries exactly the failures.
    """
    _execute(params)
