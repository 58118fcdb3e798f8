"""``mango-transfer ingest``: all of mango-ingest's command line, on the transfer engine.

The same flags, environment variables (``MANGO_*``), YAML config file (``MANGO_INGEST_CONFIG``)
and helper subcommands (``generate-config``, ``show``, ``check-regex``, ``clean``,
``examples``) as mango-ingest, so a station's command line works with ``mango_ingest``
replaced by ``mango-transfer ingest``. ``ingest`` is a command group invoked without a
subcommand to ingest; its options come before a subcommand (``ingest -d /x -r show``), as in
mango-ingest. What a run does is ``ingest/session.py``; this module parses, checks everything
before any connection (one line naming the flag or file, exit 2), and prints.

Exit codes: 0 success (and a watch stopped with Ctrl-C or SIGTERM); 1 some file failed
(``-nw``); 2 the ingest could not start or had to stop; 130 an interrupted ``-nw`` run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import click

from mango_transfer.cli.display import parse_duration
from mango_transfer.cli.exits import EXIT_ERROR, EXIT_FAILED_FILES, EXIT_INTERRUPTED, fail
from mango_transfer.cli.ingest_config import CONFIG_VARIABLE, dump, envvar, load_config
from mango_transfer.engine.options import TransferOptions
from mango_transfer.errors import LocalNotFound, MangoError, UsageError
from mango_transfer.heap import return_large_blocks
from mango_transfer.ingest.filters import Filters, compile_glob
from mango_transfer.ingest.log import LOG_GLOBS, LOG_PREFIX, IngestLog, default_log_dir, read_failed
from mango_transfer.ingest.metadata import MetadataRules, file_avus
from mango_transfer.ingest.plugins import UserFunction
from mango_transfer.ingest.session import IngestPlan, IngestSession, supervise
from mango_transfer.ingest.watch import DEFAULT_RESCAN_INTERVAL, DEFAULT_SETTLE
from mango_transfer.irods.environment import load_environment

__all__ = ["ingest"]

_COMMAND = "mango-transfer ingest"  # how its one-line errors begin


class TerminalConsole:
    """The session's voice: lines by verbosity, and one status line that a terminal rewrites
    in place (a log file gets it as ordinary lines)."""

    def __init__(self, verbosity: int) -> None:
        self.verbosity = verbosity
        self.live = sys.stderr.isatty()
        self._open = False  # a status line is on screen without its newline

    def _close_status(self) -> None:
        if self._open:
            click.echo("", err=True)
            self._open = False

    def say(self, text: str, level: int = 0) -> None:
        if self.verbosity >= level:
            self._close_status()
            click.echo(text)

    def warn(self, text: str) -> None:
        self._close_status()
        click.echo(text, err=True)

    def status(self, text: str) -> None:
        if self.live:
            click.echo(f"\r\x1b[K{text}", err=True, nl=False)
            self._open = True
        else:
            click.echo(text, err=True)

    def status_end(self, text: str) -> None:
        if self.live:
            click.echo(f"\r\x1b[K{text}", err=True)
            self._open = False
        else:
            click.echo(text, err=True)


def _positive(value: float | None, flag: str) -> None:
    if value is not None and value < 0:
        raise UsageError(f"{flag} must not be negative, got {value:g}")


def build_plan(params: dict[str, Any]) -> IngestPlan:
    """Check every flag (no connection yet) and turn them into the session's plan."""
    if not params["destination"]:
        raise UsageError("no destination collection given",
                         hint="give -d /ZONE/home/USER/..., MANGO_DESTINATION, or destination: "
                              f"in the {CONFIG_VARIABLE} file")
    root = Path(params["path"]).absolute()
    if not root.is_dir():
        raise LocalNotFound("-p: the folder to ingest does not exist or is not a folder",
                            path=root)
    destination = str(params["destination"]).rstrip("/") or "/"
    if not destination.startswith("/"):
        raise UsageError(f"-d {params['destination']!r} must be an absolute iRODS path",
                         hint="write it as /ZONE/home/USER/...")
    for name, flag in (("settle", "--settle"), ("rescan_interval", "--rescan-interval"),
                       ("polling_interval", "--polling-interval")):
        _positive(params[name], flag)
    max_outage = (parse_duration(params["max_outage"], flag="--max-outage")
                  if params["max_outage"] else None)
    filters = Filters.build(glob=params["glob"], regex=params["regex"],
                            ignore_glob=(*params["ignore_glob"], *LOG_GLOBS),
                            ignore=params["ignore"])
    rules = MetadataRules.build(md_mtime=params["metadata_mtime"],
                                md_path=params["metadata_path"])
    filter_func = UserFunction.load(params["filter_func"], params["filter_func_kwargs"],
                                    "--filter-func", "--filter-func-kwargs")
    handler = UserFunction.load(params["metadata_handler"], params["metadata_handler_kwargs"],
                                "--metadata-handler", "--metadata-handler-kwargs")
    restart = Path(params["restart"]) if params["restart"] else None
    restart_files = tuple(read_failed(restart, root)) if restart is not None else ()
    dry_run = bool(params["do_dry_run"])
    options = TransferOptions(threads=params["threads"], retries=params["retries"],
                              verify=params["verify_checksum"], dry_run=dry_run)
    watch = not (params["no_watch"] or dry_run)
    return IngestPlan(
        root=root, destination=destination, recursive=params["recursive"], watch=watch,
        sync=params["sync"] or not watch, restart=restart, restart_files=restart_files,
        filters=filters, rules=rules, options=options, settle=params["settle"],
        rescan=params["rescan_interval"],
        log_dir=Path(params["log_dir"]) if params["log_dir"] else default_log_dir(root),
        polling=params["observer"] == "polling", polling_interval=params["polling_interval"],
        max_outage=max_outage, filter_func=filter_func, metadata_handler=handler)


def _logged_options(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v not in (None, (), False)}


def _show_plan(session: IngestSession) -> None:
    plan = session.plan
    for result in sorted(session.planned, key=lambda r: r.path):
        click.echo(f"would upload: {result.path} ({result.size} bytes, {result.reason})")
        if not plan.rules.enabled:
            continue
        try:
            mtime = (plan.root / result.path).stat().st_mtime
        except OSError:
            continue
        for avu in file_avus(result.path, mtime, plan.rules):
            click.echo(f"  metadata: {avu.name} = {avu.value} [{avu.units}]")


def _execute(params: dict[str, Any]) -> None:
    return_large_blocks()  # a watcher runs for days: its memory must stay flat (heap.py)
    verbosity = max(params["verbose"], 1 if params["do_dry_run"] else 0)
    if verbosity >= 3:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        logging.getLogger("mango_transfer").addHandler(handler)
        logging.getLogger("mango_transfer").setLevel(logging.INFO)
    try:
        plan = build_plan(params)
        environment = load_environment()
        log = None if plan.options.dry_run else IngestLog.create(
            plan.log_dir, root=plan.root, destination=plan.destination,
            options=_logged_options(params))
    except MangoError as exc:
        fail(exc, _COMMAND)
    session = IngestSession(plan, environment, log, TerminalConsole(verbosity))
    begin = time.monotonic()
    stopped = False
    error: MangoError | None = None
    try:
        stopped = anyio.run(supervise, session)
    except MangoError as exc:
        error = exc
    except KeyboardInterrupt:  # a signal before the loop could take it over
        stopped = True
    if stopped or error is not None:
        session.interrupted()
    waiting = log.summary()["pending"] if log is not None else 0
    if stopped:
        click.echo("mango-transfer ingest: stopped" + (
            f"; {waiting} files not uploaded yet are logged as pending (--restart LOG takes "
            "them)" if waiting else ""), err=True)
    if log is not None:
        log.finish()
        try:
            log.write()
        except MangoError as exc:
            error = error or exc
    if plan.options.dry_run:
        _show_plan(session)
    if error is not None:
        fail(error, _COMMAND)
    click.echo(session.summary(time.monotonic() - begin))
    if stopped and not plan.watch:
        sys.exit(EXIT_INTERRUPTED)
    if not plan.watch and log is not None and log.summary()["failed"]:
        sys.exit(EXIT_FAILED_FILES)


class _IngestGroup(click.Group):
    """Reads the ``MANGO_INGEST_CONFIG`` file into click's ``default_map`` (below the command
    line and the environment variables, above the defaults), checked against the options."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        source = os.environ.get(CONFIG_VARIABLE)
        if source and "default_map" not in extra:
            try:
                extra["default_map"] = load_config(source, self.params)
            except MangoError as exc:
                click.echo(f"mango-transfer ingest: {exc.user_message()}", err=True)
                raise click.exceptions.Exit(EXIT_ERROR) from exc
        return super().make_context(info_name, args, parent, **extra)


def _option(*decls: str, **kwargs: Any) -> Any:
    """A click option with its ``MANGO_<NAME>`` environment variable shown in ``--help``."""
    name = kwargs.pop("name", None) or next(d for d in decls if d.startswith("--"))[2:].replace(
        "-", "_")
    kwargs.setdefault("envvar", envvar(name))
    return click.option(*decls, name, show_envvar=True, **kwargs)


@click.group(cls=_IngestGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@_option("-v", "--verbose", count=True,
         help="More lines: -v each file's outcome, -vv also filtered and seen files, -vvv also "
              "the engine's log.")
@_option("-r", "--recursive", is_flag=True,
         help="Include sub-folders (watched too). Without it only the top level counts.")
@_option("-p", "--path", default=".", show_default=True, metavar="LOCAL_PATH",
         help="The local folder to ingest (and watch).")
@_option("-d", "--destination", default=None, metavar="DEST_COLL",
         help="The iRODS collection to upload into, e.g. /ZONE/home/USER/study; created when "
              "missing. LOCAL_PATH/a/b lands at DEST_COLL/a/b.")
@_option("--observer", type=click.Choice(["native", "polling"]), default="native",
         show_default=True,
         help="How changes are noticed: native file-system events (instant on local disks), or "
              "polling the folder every --polling-interval seconds (network drives, many Windows "
              "shares). Either way the folder is also rescanned every --rescan-interval.")
@_option("--polling-interval", type=float, default=5.0, show_default=True, metavar="SECONDS",
         help="Seconds between polls with --observer polling.")
@_option("--regex", multiple=True, metavar="PAT",
         help="Take only files whose relative path matches this regular expression "
              "(searched, not anchored); repeatable.")
@_option("--glob", multiple=True, metavar="PAT",
         help="Take only files matching this glob (relative to -p; see the dialect below); "
              "repeatable. Rule: any include (or none given) and no exclude.")
@_option("--filter-func", default=None, metavar="MODULE.FUNCTION",
         help="Also ask your function, called with the file's pathlib.Path (after the "
              "patterns): a true answer takes the file. Imported from PYTHONPATH or the "
              "current folder.")
@_option("--filter-func-kwargs", default=None, metavar="JSON",
         help='Keyword arguments for --filter-func, as a JSON object: \'{"min_size": 10}\'.')
@_option("--ignore", multiple=True, metavar="PAT",
         help="Leave out files whose relative path matches this regular expression; "
              "repeatable.")
@_option("--ignore-glob", multiple=True, metavar="PAT",
         help="Leave out files (or whole folders) matching this glob; repeatable.")
@_option("--sync", is_flag=True,
         help="Before watching, upload what is already there (new or modified files).")
@_option("--verify-checksum", is_flag=True,
         help="Compare the SHA-256 computed while streaming with the server's checksum; a "
              "mismatch fails the file, with the reason in the log.")
@_option("--restart", type=click.Path(dir_okay=False), default=None, metavar="LOG.json",
         help="Upload exactly the files LOG.json lists as failed or pending (a log of this "
              "command or of mango-ingest), then watch unless -nw. Writes a new log.")
@_option("--dry-run", name="do_dry_run", is_flag=True,
         envvar=[envvar("do_dry_run"), envvar("dry_run")],
         help="List what would be uploaded, with its metadata; change nothing (no log).")
@_option("-nw", "--no-watch", is_flag=True,
         help="Upload once and exit (implies --sync); without it the folder stays watched and "
              "new or modified files are uploaded once they settle.")
@_option("--metadata-path", "--md-path", multiple=True, metavar="REGEX",
         help="Each named group matched on the relative path becomes an AVU mg.<group>, e.g. "
              "'sub-(?P<subject>[^/]+)'; repeatable.")
@_option("--metadata-mtime", "--md-mtime", is_flag=True,
         help="Add the original modification time as mg.original_modify_time.")
@_option("--metadata-handler", "--md-handler", default=None, metavar="MODULE.FUNCTION",
         help="Your function, called with the file's path (text), returns {name: value or "
              "[values]}: each becomes mg.<name>. --metadata-path/-mtime win for the same name.")
@_option("--metadata-handler-kwargs", "--md-handler-kwargs", default=None, metavar="JSON",
         help="Keyword arguments for --metadata-handler, as a JSON object.")
@_option("--settle", type=float, default=DEFAULT_SETTLE, show_default=True, metavar="SECONDS",
         help="A watched file is uploaded once its size and time stayed the same this long.")
@_option("--rescan-interval", "--rescan", type=float, default=DEFAULT_RESCAN_INTERVAL,
         show_default=True, metavar="SECONDS",
         help="Also rescan the whole folder this often, for drives that miss events; 0: never.")
@_option("--max-outage", default=None, metavar="DURATION",
         help="Stop (exit 2) when the server or the watched folder stays away longer than "
              "this, e.g. 30m or 1h30m; by default the watcher waits for them forever.")
@_option("--log-dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
         help="Where the JSON log goes (default: the -p folder, as mango-ingest).")
@_option("-t", "--threads", type=int, default=TransferOptions.threads, show_default=True,
         metavar="N", help="Files uploaded at once, each on its own iRODS connection.")
@_option("--retries", type=int, default=TransferOptions.retries, show_default=True,
         metavar="N", help="Attempts after a transient failure, per file and run.")
@click.pass_context
def ingest(ctx: click.Context, **params: Any) -> None:
    """Upload a folder to iRODS and keep uploading what appears in it (mango-ingest's flags).

    Uploads are one-way: local deletions are not propagated and empty folders are not
    uploaded. A re-run uploads only new or modified files. Every run writes a JSON log with
    each file's status; --restart LOG.json retries exactly what it did not upload.

    \b
    Watching outlives outages: when the server is unreachable the watcher keeps collecting
    files, retries with a backoff (at most 60 s apart) and uploads everything waiting once the
    server is back; a vanished folder (an unplugged disk) is waited for the same way. Only
    refused credentials, a destination that cannot be written, or --max-outage stop it.

    \b
    Globs (--glob, --ignore-glob): * and ? stay within one folder level, ** crosses levels,
    [a-z] and [!a-z] match one character, {a,b} either alternative, \\ escapes; a leading /
    anchors at -p, otherwise the end of the relative path is matched (*.csv takes a/b/x.csv);
    a trailing / matches folders. The same dialect as upload's --include/--exclude.

    \b
    Every option can also be set with MANGO_<NAME> (MANGO_DESTINATION, MANGO_GLOB='*.csv
    *.json', ...) or in the YAML file named by MANGO_INGEST_CONFIG (see generate-config);
    the command line wins over the variable, the variable over the file.
    """
    ctx.obj = dict(params)
    if ctx.invoked_subcommand is None:
        _execute(params)


@ingest.command("generate-config")
@click.option("-o", "--output", default="mango_ingest_config.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="The YAML file to write.")
@click.option("--force", is_flag=True, help="Overwrite the file when it exists.")
@click.pass_context
def generate_config(ctx: click.Context, output: str, force: bool) -> None:
    """Write the options as they stand (flags, variables, config file, defaults) to a YAML
    config file for MANGO_INGEST_CONFIG, and print it."""
    text = dump(ctx.obj)
    target = Path(output)
    try:
        with open(target, "w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        fail(UsageError(f"{target} exists; not overwritten", hint="use --force to replace it"),
             _COMMAND)
    except OSError as exc:
        fail(UsageError(f"{target}: cannot write it ({exc.strerror})"), _COMMAND)
    click.echo(text, nl=False)


@ingest.command()
@click.pass_context
def show(ctx: click.Context) -> None:
    """Show the options as a run would use them (command line, MANGO_* variables, the
    MANGO_INGEST_CONFIG file, then the defaults), as YAML."""
    click.echo(dump(ctx.obj), nl=False)


@ingest.command("check-regex")
@click.option("--regex", default=None, metavar="REGEX", help="A regular expression (Python "
              "syntax), searched in FILENAME as --regex/--ignore/--metadata-path search.")
@click.option("--glob", default=None, metavar="GLOB", help="Or a glob, matched as --glob.")
@click.argument("filename")
def check_regex(regex: str | None, glob: str | None, filename: str) -> None:
    """Test a pattern against a file name or relative path: exit 0 and show the named groups
    (the AVUs --metadata-path would add) when it matches, exit 1 when it does not."""
    if (regex is None) == (glob is None):
        fail(UsageError("give exactly one of --regex and --glob"), _COMMAND)
    relative = filename.replace("\\", "/")
    if glob is not None:
        try:
            matched = compile_glob(glob).matches(relative)
        except MangoError as exc:
            fail(exc, _COMMAND)
        click.echo(f"glob {glob!r} {'matches' if matched else 'does not match'} {relative!r}")
        sys.exit(0 if matched else 1)
    assert regex is not None
    try:
        found = re.search(regex, relative)
    except re.error as exc:
        fail(UsageError(f"--regex {regex!r} is not a valid regular expression ({exc})"),
             _COMMAND)
    if found is None:
        click.echo(f"re.search({regex!r}, {relative!r}): no match")
        sys.exit(1)
    click.echo(f"re.search({regex!r}, {relative!r}): matches {found.group(0)!r}")
    for name, value in found.groupdict().items():
        click.echo(f"  {name} = {value!r}" + (f"  → AVU mg.{name}" if value else ""))


@ingest.command()
@click.option("-a", "clean_all", is_flag=True, help="Remove every result file, the newest too.")
@click.option("--path", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The folder holding the result files (the ingested folder or --log-dir).")
def clean(clean_all: bool, path: str) -> None:
    """Remove older result files (mango_ingest_results-*.json), keeping the newest one (or
    none with -a)."""
    folder = Path(path)
    try:
        logs = sorted((p for p in folder.glob(f"{LOG_PREFIX}*.json") if p.is_file()),
                      key=lambda p: p.stat().st_mtime)
    except OSError as exc:
        fail(UsageError(f"{folder}: cannot list it ({exc.strerror})"), _COMMAND)
    for log_file in logs if clean_all else logs[:-1]:
        try:
            log_file.unlink()
        except OSError as exc:
            fail(UsageError(f"{log_file}: cannot remove it ({exc.strerror})"), _COMMAND)
        click.echo(f"removed {log_file}")


@ingest.command()
def examples() -> None:
    """Examples of ingest command lines."""
    click.echo("""\
Watch the current folder recursively, upload new CSV files (sub-folders become collections):
  mango-transfer ingest -v -r --glob "*.csv" -d /zone/home/project/ingest
The same, uploading what is already there first:
  mango-transfer ingest -v -r --glob "*.csv" -d /zone/home/project/ingest --sync
Several file types, some left out:
  mango-transfer ingest -r --regex "\\.dat$" --regex "\\.log$" --ignore "^tmp/" \\
      -d /zone/home/project/ingest --sync
Once, with BIDS metadata from the path and the modification time, verified:
  mango-transfer ingest -nw -r --md-path "sub-(?P<subject>[^/]+)/ses-(?P<session>[^/]+)/" \\
      --md-mtime --verify-checksum -p ./bids -d /zone/home/project/bids
A network drive, polled every 10 s, never waiting more than 2 h for the server:
  mango-transfer ingest -r --observer polling --polling-interval 10 --max-outage 2h \\
      -p //server/share/raw -d /zone/home/project/raw
Retry what a previous run did not upload:
  mango-transfer ingest -nw --restart mango_ingest_results-2024-10-01T123456+0000.json \\
      -d /zone/home/project/ingest
Keep the settings of a station in a file:
  mango-transfer ingest -d /zone/home/project/ingest -r --glob "*.edf" generate-config
  export MANGO_INGEST_CONFIG=$PWD/mango_ingest_config.yaml; mango-transfer ingest show""")
