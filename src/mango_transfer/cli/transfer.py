"""``upload``, ``download``, ``sync``, ``check`` and ``login``: thin click layers over the engine.

The CLI only parses, shows the run's progress (``cli/progress.py``: a bar on a terminal, plain
lines in a log, ``-v`` lines) fed from the engine's ``Stats`` snapshots, prints the summary,
writes the JSON report and maps the outcome to an exit code: 0 only when nothing failed, 1 when some file failed, 2 when the run
could not start or stopped (every ``MangoError``: one line on stderr, no traceback).

``sync SRC DEST`` picks the direction from which side is remote: a path starting with
``irods:`` or with ``/ZONE/`` (the zone of your environment file) is the iRODS side.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import click

from mango_transfer import engine
from mango_transfer.cli.display import parse_duration
from mango_transfer.cli.exits import EXIT_ERROR, EXIT_FAILED_FILES, EXIT_INTERRUPTED, fail
from mango_transfer.cli.help import SectionCommand, SectionOption
from mango_transfer.cli.options import options_from_params, transfer_options
from mango_transfer.cli.progress import RunView, echo, summary, verbose_line
from mango_transfer.cli.reporting import run_header
from mango_transfer.cli.scaleout import celery_options, scaled
from mango_transfer.engine import Stats, Status, TransferOptions
from mango_transfer.engine.report import check_report_path, write_report
from mango_transfer.errors import MangoError
from mango_transfer.pathfilter import rule_lines

__all__ = ["check", "download", "login", "output_options", "sync", "upload"]

def _execute(direction: str, src: str, dest: str, params: dict[str, Any]) -> None:
    """Run one command: on this machine, or on Celery workers with ``--celery``."""

    async def local(options: TransferOptions, stats: Stats, view: engine.Progress) -> Stats:
        return await engine.transfer(direction, src, dest, options, stats=stats, progress=view)

    start = scaled(direction, src, dest, params) or local
    quiet = bool(params.get("quiet"))
    report = params.get("json_report")
    try:
        params["filters"] = rule_lines(**{name: params.pop(name, ()) for name in _FILTER_FLAGS})
        options = options_from_params(params)
        if report:
            check_report_path(report)
    except MangoError as exc:
        fail(exc)
    # Keep every file's result only when it will be written or printed: a quiet dry run of a
    # million-entry collection must stay in bounded memory.
    stats = Stats(record_files=bool(report) or (options.dry_run and not quiet))
    view = RunView(direction, quiet=quiet, verbose=bool(params.get("verbose")),
                   stats_interval=params.get("stats", 60.0))
    stats.watch(view.result)
    error: MangoError | None = None
    interrupted = False
    try:
        anyio.run(start, options, stats, view)
    except MangoError as exc:
        error = exc
    except KeyboardInterrupt:
        interrupted = True
    view.close()
    code = (EXIT_ERROR if error else EXIT_INTERRUPTED if interrupted
            else EXIT_FAILED_FILES if stats.failures else 0)
    if report:
        why = error.user_message() if error else "interrupted" if interrupted else None
        header = run_header(direction, src, dest, options, exit_code=code, error=why)
        try:
            write_report(stats, report, header)
        except MangoError as exc:
            fail(exc)
    if options.dry_run and not quiet and not view.verbose and not interrupted:
        for result in stats.results:  # before a refusal too: what --delete would delete
            if result.status is Status.PLANNED:
                echo(verbose_line(result))
    if error is not None:
        fail(error)
    if interrupted:
        click.echo("mango-transfer: interrupted; run the same command again to resume",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    for failure in stats.failures:
        echo(f"failed: {failure.path}: {failure.reason}", err=True)
    if not quiet:
        echo(summary(stats.snapshot(), options.dry_run))
    sys.exit(code)


class _Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return parse_duration(str(value))
        except MangoError as exc:
            self.fail(exc.user_message(), param, ctx)


_output_option = functools.partial(click.option, cls=SectionOption, section="Output")


_FILTER_FLAGS = ("include", "exclude", "include_from", "exclude_from", "filter", "filter_from")
FILTER_HELP = """\b
Filters (rclone's rules): each pattern is matched against the path relative to
the source or destination root, with / on every OS. * is any run of characters
but /, ** any run including /, ? one character but /, [a-z] or [!a-z] one
character of (not of) the set, {jpg,png} either alternative, \\c the character c.
A pattern starting with / is anchored at the root; otherwise it matches the end
of the path at a folder boundary (*.csv takes a/b/x.csv; file.jpg not afile.jpg).
A pattern ending with / matches folders: --exclude 'tmp/' leaves out every tmp
folder with all it holds (never walked). First match wins, in this order: every
--include, --include-from, --exclude, --exclude-from, --filter, --filter-from;
any include implies '- **' at the end. Excluded files are neither transferred
nor deleted: --delete never deletes an excluded file."""


def _filters(func: Callable[..., Any]) -> Callable[..., Any]:
    """--include/--exclude/--filter and their -from files (``pathfilter.rule_lines``)."""
    flags = (
        ("--filter-from", "FILE", "Read --filter rules ('+ PAT', '- PAT') from FILE, one a "
                                  "line ('#' comments; '-' is standard input); repeatable."),
        ("--filter", "RULE", "A rule '+ PAT' (take) or '- PAT' (leave out), in the order given; "
                             "repeatable."),
        ("--exclude-from", "FILE", "Read --exclude patterns from FILE, one a line; repeatable."),
        ("--exclude", "PAT", "Leave out files (or, ending with /, folders) matching PAT; "
                             "repeatable, e.g. --exclude '*.tmp' --exclude 'scratch/'."),
        ("--include-from", "FILE", "Read --include patterns from FILE, one a line; repeatable."),
        ("--include", "PAT", "Take only files matching PAT (and those of other includes); "
                             "repeatable, e.g. --include '*.{nii,json}'."),
    )
    for flag, metavar, text in flags:
        name = flag[2:].replace("-", "_")
        func = click.option(flag, name, cls=SectionOption, section="Filters", multiple=True,
                            metavar=metavar, help=text, envvar=f"MANGO_{name.upper()}",
                            show_envvar=True)(func)
    return func


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--json-report``, ``--stats``, ``-v`` and ``-q``: what a run shows and keeps."""
    func = _output_option("--json-report", type=click.Path(dir_okay=False), default=None,
                        help="Write the run as JSON to FILE: a header (command, options, zone, "
                             "times, exit code), the totals and one entry per file "
                             "(schemas/report.schema.json).", metavar="FILE")(func)
    func = _output_option("--stats", type=_Duration(), default="60s", show_default=True,
                        metavar="DURATION", envvar="MANGO_STATS", show_envvar=True,
                        help="When stdout is not a terminal (cron, SLURM, a pipe), print a "
                             "progress line this often, e.g. 30s, 5m (0: never).")(func)
    func = _output_option("--verbose", "-v", is_flag=True,
                        help="One line per file: new, changed, resumed from N bytes, skipped "
                             "and why, verified, failed and why.")(func)
    return _output_option("--quiet", "-q", is_flag=True,
                        help="No progress bar and no summary; failures are still shown.")(func)


@click.command(cls=SectionCommand, epilog=FILTER_HELP)
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dest_coll")
@transfer_options("upload")
@_filters
@celery_options
@output_options
def upload(src: Path, dest_coll: str, **params: Any) -> None:
    """Upload the contents of SRC (a folder or a file) into the collection DEST_COLL.

    SRC/a/b.txt lands at DEST_COLL/a/b.txt; DEST_COLL is created when missing.
    """
    _execute("upload", str(src), dest_coll, params)


@click.command(cls=SectionCommand, epilog=FILTER_HELP)
@click.argument("src_coll")
@click.argument("dest_dir", type=click.Path(file_okay=False, path_type=Path))
@transfer_options("download")
@_filters
@celery_options
@output_options
def download(src_coll: str, dest_dir: Path, **params: Any) -> None:
    """Download the contents of SRC_COLL (or one data object) into the folder DEST_DIR.

    SRC_COLL/a/b.txt lands at DEST_DIR/a/b.txt; DEST_DIR is created when missing.
    """
    _execute("download", src_coll, str(dest_dir), params)


@click.command(cls=SectionCommand, epilog=FILTER_HELP)
@click.argument("src")
@click.argument("dest")
@transfer_options("sync")
@_filters
@celery_options
@output_options
def sync(src: str, dest: str, **params: Any) -> None:
    """Make DEST match SRC; exactly one side is iRODS (irods:/ZONE/... or /ZONE/...).

    Files only on DEST are deleted only with --delete, after every transfer succeeded, and
    into the iRODS trash; a run that would delete more than half of DEST (or anything, from
    an empty SRC) is refused unless --max-delete allows it. Try --dry-run first.
    """
    _execute("sync", src, dest, params)


@click.command()
@click.option("--fix", is_flag=True,
              help="Rewrite numbers written as strings (and a BOM); a backup is kept.")
def check(fix: bool) -> None:
    """Validate the iRODS environment file and connect, explaining every problem."""
    from mango_transfer.irods.environment import (
        _read_settings,
        environment_path,
        environment_problems,
        fix_environment,
        load_environment,
        open_session,
    )
    from mango_transfer.irods.errors import translate_irods_errors

    path = environment_path()
    try:
        if fix:
            result = fix_environment(path)
            for key, (old, new) in result.changes.items():
                click.echo(f'fixed "{key}": {old!r} → {new!r}')
            if result.backup is not None:
                click.echo(f"backup written to {result.backup}")
        problems = environment_problems(_read_settings(path), path)
    except MangoError as exc:
        fail(exc)
    if problems:
        for problem in problems:
            click.echo(f"mango-transfer: {problem.user_message()}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        env = load_environment(path)
        session = open_session(env)
        try:
            with translate_irods_errors(env.home):
                found = session.collections.exists(env.home)
        finally:
            session.cleanup()
    except MangoError as exc:
        fail(exc)
    click.echo(f"{path}: OK; connected to {env.host}:{env.port} as {env.user}#{env.zone}"
               + ("" if found else f" (home collection {env.home} not found)"))


@click.command()
@click.argument("user")
@click.argument("zone")
@click.argument("host")
@click.option("--port", type=int, default=None, help="Server port (default 1247).")
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None,
              help="CA certificate to trust for the server's TLS certificate.")
@click.option("--ttl", type=int, default=168, show_default=True,
              help="Hours the PAM login stays valid.")
def login(user: str, zone: str, host: str, port: int | None, ca_file: str | None,
          ttl: int) -> None:
    """Log in to ManGO (pam_interactive over TLS, mango-auth's settings) and write the
    environment file and .irodsA.

    Both files are written only after the server accepted the login, each atomically, the
    previous ones kept as *.bak; a failed login leaves both exactly as they were. The typed
    password is never stored in plain text: the .irodsA.json that mango-auth leaves beside
    .irodsA (holding it) is removed.
    """
    from mango_transfer.irods.environment import auth_file_path, environment_path
    from mango_transfer.irods.login import LoginTarget, pam_login

    overrides: dict[str, Any] = {}
    if port is not None:
        overrides["irods_port"] = port
    if ca_file is not None:
        overrides["irods_ssl_ca_certificate_file"] = os.path.abspath(ca_file)
    target = LoginTarget(environment_path(), auth_file_path({}))
    try:
        pam_login(user, zone, host, target, ttl=ttl, overrides=overrides)
    except MangoError as exc:
        fail(exc)
    click.echo(f"logged in as {user}#{zone} on {host}")
