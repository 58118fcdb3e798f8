"""``diff SRC DEST [--checksum]``: compare both sides without moving anything (rclone's ``check``).

One side is local, the other iRODS, either way round (the iRODS side written ``irods:...`` or
``/ZONE/...``, as for ``sync``). Each difference is printed as it is found (``missing on
destination: PATH``, ``missing on source: PATH``, ``differs: PATH (why)``; ``-v`` also prints
the identical ones), then the counts. Files compare by size, or by size and SHA-256 with
``--checksum``. Exit 0 when both sides hold the same files, 1 when anything differs or could
not be compared, 2 when the comparison could not run.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import click

from mango_transfer import engine
from mango_transfer.cli.display import format_count
from mango_transfer.cli.exits import EXIT_ERROR, EXIT_FAILED_FILES, EXIT_INTERRUPTED, fail
from mango_transfer.cli.help import SectionCommand
from mango_transfer.cli.progress import RunView, echo, verbose_line
from mango_transfer.cli.reporting import run_header
from mango_transfer.cli.transfer import output_options
from mango_transfer.engine import FileResult, Stats, Status
from mango_transfer.engine.report import check_report_path, write_report
from mango_transfer.errors import MangoError

__all__ = ["diff"]

_DIFFERENCES = frozenset({Status.DIFFERS, Status.MISSING_ON_DESTINATION,
                          Status.MISSING_ON_SOURCE, Status.FAILED})


def diff_summary(stats: Stats, checksum: bool) -> str:
    snap = stats.snapshot()
    compared = "sizes and SHA-256" if checksum else "sizes"
    return (f"diff: {format_count(snap.files_identical)} identical, "
            f"{format_count(snap.files_differ)} differ, "
            f"{format_count(snap.missing_on_destination)} missing on destination, "
            f"{format_count(snap.missing_on_source)} missing on source, "
            f"{format_count(snap.files_failed)} failed ({compared} compared)")


@click.command(cls=SectionCommand)
@click.argument("src")
@click.argument("dest")
@click.option("--checksum", "-c", is_flag=True,
              help="Compare sizes and SHA-256 (local files are hashed; the server computes an "
                   "object's checksum when the catalog has none), not only sizes.")
@click.option("--threads", "-t", type=int, default=16, show_default=True, metavar="N",
              help="Files compared at once.")
@output_options
def diff(src: str, dest: str, checksum: bool, threads: int, **params: Any) -> None:
    """Compare SRC with DEST without changing either; exit 1 when anything differs.

    One side is iRODS (irods:..., /ZONE/..., irods:~/...), the other a local folder.
    """
    quiet, verbose = bool(params.get("quiet")), bool(params.get("verbose"))
    report = params.get("json_report")
    try:
        options = engine.TransferOptions(threads=threads, checksum=checksum)
        if report:
            check_report_path(report)
    except MangoError as exc:
        fail(exc)
    stats = Stats(record_files=bool(report))
    view = RunView("diff", quiet=quiet, verbose=False, stats_interval=params.get("stats", 60.0))

    def show(result: FileResult) -> None:
        if result.status in _DIFFERENCES or (verbose and not quiet):
            line = verbose_line(result)
            if view.output is not None:
                view.output.write(line)
            else:
                echo(line)

    stats.watch(show)
    error: MangoError | None = None
    interrupted = False
    try:
        anyio.run(lambda: engine.compare(src, dest, options, stats=stats, progress=view))
    except MangoError as exc:
        error = exc
    except KeyboardInterrupt:
        interrupted = True
    view.close()
    snap = stats.snapshot()
    differs = (snap.files_differ + snap.missing_on_destination + snap.missing_on_source
               + snap.files_failed)
    code = (EXIT_ERROR if error else EXIT_INTERRUPTED if interrupted
            else EXIT_FAILED_FILES if differs else 0)
    if report:
        why = error.user_message() if error else "interrupted" if interrupted else None
        try:
            write_report(stats, report, run_header("diff", src, dest, options, exit_code=code,
                                                   error=why))
        except MangoError as exc:
            fail(exc)
    if error is not None:
        fail(error)
    if interrupted:
        click.echo("mango-transfer: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet:
        echo(diff_summary(stats, checksum))
    sys.exit(code)
