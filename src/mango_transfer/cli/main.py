"""The ``mango-transfer`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from mango_transfer import __version__
from mango_transfer.cli.bench import bench
from mango_transfer.cli.browse import du, ls
from mango_transfer.cli.debug_log import enable_debug_logging
from mango_transfer.cli.demo import demo
from mango_transfer.cli.diff import diff
from mango_transfer.cli.ingest import ingest
from mango_transfer.cli.scaleout import worker
from mango_transfer.cli.serve import serve
from mango_transfer.cli.transfer import check, download, login, sync, upload


class _Main(click.Group):
    """The command group; keeps the arguments as typed (``ctx.meta["argv"]``) for reports."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mango-transfer")
@click.option("--debug", is_flag=True, help="Log every step (engine and python-irodsclient) to "
              "stderr; passwords and tokens are blanked.")
def main(debug: bool) -> None:
    """Move research data between this disk and an iRODS zone (ManGO): fast, resumable, verified."""
    if debug:
        enable_debug_logging()


for _command in (serve, upload, download, sync, diff, ls, du, check, login, bench, demo, ingest,
                 worker):
    main.add_command(_command)
