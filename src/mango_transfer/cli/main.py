"""The ``mango-transfer`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from .. import __version__
from .debug_log import enable_debug_logging
from .serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mango-transfer")
@click.option("--debug", is_flag=True, help="Log every step (engine and python-irodsclient) to "
              "stderr; passwords and tokens are blanked.")
def main(debug: bool) -> None:
    """Move research data between this disk and an iRODS zone (ManGO): fast, resumable, verified."""
    if debug:
        enable_debug_logging()


main.add_command(serve)
# -- further commands are registered below --
from .transfer import check, download, login, sync, upload  # noqa: E402

for _command in (upload, download, sync, check, login):
    main.add_command(_command)

from .bench import bench  # noqa: E402

main.add_command(bench)

from .demo import demo  # noqa: E402

main.add_command(demo)

from .ingest import ingest  # noqa: E402

main.add_command(ingest)

from .scaleout import worker  # noqa: E402

main.add_command(worker)
