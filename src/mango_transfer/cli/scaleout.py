"""``--celery`` on upload/download/sync, and ``mango-transfer worker``: thin click layers over
``mango_transfer.scaleout`` (imported only when used, so the default path needs no Celery)."""

from __future__ import annotations

import functools
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from mango_transfer.cli.exits import fail
from mango_transfer.cli.help import SectionOption
from mango_transfer.engine.options import parse_size

__all__ = ["celery_options", "scaled", "worker"]

F = TypeVar("F", bound=Callable[..., Any])
SECTION = "Scale-out (Celery)"
_DEFAULT_LEASE = 120.0  # mirrors scaleout.app.DEFAULT_LEASE without importing Celery


def _size(value: Any) -> int:
    return value if isinstance(value, int) else parse_size(str(value))


def celery_options(func: F) -> F:
    """The scale-out flags, grouped after the transfer options."""
    option = functools.partial(click.option, cls=SectionOption, section=SECTION)
    for decorator in reversed([
        option("--celery", "celery_broker", metavar="URL", envvar="MANGO_CELERY",
                     show_envvar=True, default=None,
                     help="Spread the run over Celery workers (mango-transfer worker) through "
                          "this Redis broker, e.g. redis://host:6379/0; this process coordinates."),
        option("--run-id", metavar="ID", default=None,
                     help="Name of the run; the same id continues an interrupted run "
                          "(default: derived from the command)."),
        option("--batch-files", type=int, default=200, show_default=True,
                     help="Most files per task."),
        option("--batch-bytes", default="512M", show_default=True, metavar="SIZE",
                     help="Most bytes per task of small files (a file above "
                          "--chunk-threshold is a task of its own)."),
        option("--lease", type=float, default=_DEFAULT_LEASE, show_default=True,
                     metavar="SECONDS",
                     help="A lost worker's task is taken over after about this long."),
        option("--split-from", default="8G", show_default=True, metavar="SIZE",
                     help="Share a file this large among the workers, in parts of "
                          "--part-size (0: never)."),
        option("--part-size", default="1G", show_default=True, metavar="SIZE",
                     help="Size of one shared part of a very large file."),
    ]):
        func = decorator(func)
    return func


def scaled(direction: str, src: str, dest: str,
           params: dict[str, Any]) -> Callable[[Any, Any, Any], Awaitable[Any]] | None:
    """The coordinator's start function when ``--celery`` was given, else None."""
    broker = params.get("celery_broker")
    if not broker:
        return None
    quiet = bool(params.get("quiet"))

    def notice(text: str) -> None:
        click.echo(f"mango-transfer: {text}", err=True)

    async def start(options: Any, stats: Any, bar: Any) -> Any:
        # Built here, inside the CLI's error handling: a bad value is a one-line error.
        from mango_transfer.scaleout.app import require_celery

        require_celery()  # the extra missing: one line naming it, not an ImportError
        from mango_transfer.scaleout.coordinator import ScaleOut, coordinate

        scale = ScaleOut(broker=broker, run_id=params.get("run_id"),
                         batch_files=params["batch_files"],
                         batch_bytes=_size(params["batch_bytes"]), lease=params["lease"],
                         split_from=_size(params["split_from"]),
                         part_size=_size(params["part_size"]))
        return await coordinate(direction, src, dest, options, scale, stats=stats, progress=bar,
                                notice=None if quiet else notice)

    return start


@click.command()
@click.option("--celery", "broker", metavar="URL", envvar="MANGO_CELERY", show_envvar=True,
              required=True, help="The Redis broker the coordinator uses, e.g. redis://host:6379/0.")
@click.option("--concurrency", "-c", type=int, default=2, show_default=True,
              help="Batches this worker moves at once (each with the run's --threads).")
@click.option("--name", "-n", default=None,
              help="Node name, unique per worker (default: mango@HOSTNAME).")
@click.option("--lease", type=float, default=_DEFAULT_LEASE, show_default=True, metavar="SECONDS",
              help="Keep equal to the coordinators' --lease.")
@click.option("--loglevel", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def worker(broker: str, concurrency: int, name: str | None, lease: float, loglevel: str) -> None:
    """Run transfer batches sent by a coordinator (upload/download/sync --celery URL).

    Needs the same local paths as the coordinator (a shared filesystem) and its own iRODS
    environment (IRODS_ENVIRONMENT_FILE, .irodsA): no credential travels through the broker.
    For a large upload to resume on another host, run the coordinator with --state-dir on
    storage every worker sees.
    """
    from mango_transfer.errors import MangoError
    from mango_transfer.scaleout.app import require_celery

    try:
        require_celery()
        from mango_transfer.scaleout.records import connect
        from mango_transfer.scaleout.worker import check_irods, start_worker

        if concurrency < 1:
            raise click.BadParameter("must be at least 1", param_hint="--concurrency")
        connect(broker).close()
        identity = check_irods()
    except MangoError as exc:
        fail(exc)
    node = name or f"mango@{socket.gethostname()}"
    click.echo(f"mango-transfer: worker {node} for {identity}, {concurrency} batch(es) at once",
               err=True)
    start_worker(broker, concurrency=concurrency, name=node, lease=lease, loglevel=loglevel.upper())
