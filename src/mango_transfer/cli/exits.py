"""How a command ends: its exit codes, and the one line that names an error which stops it.

0 only when nothing failed; :data:`EXIT_FAILED_FILES` when the run ended but some files failed
(each is named on stderr); :data:`EXIT_ERROR` when the run could not start or stopped (every
``MangoError``: one line, no traceback; ``--debug`` shows one); :data:`EXIT_INTERRUPTED` on
Ctrl-C, as a shell reports SIGINT.
"""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click

from mango_transfer.errors import MangoError

__all__ = ["EXIT_ERROR", "EXIT_FAILED_FILES", "EXIT_INTERRUPTED", "fail"]

EXIT_FAILED_FILES = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT


def fail(exc: MangoError, command: str = "mango-transfer") -> NoReturn:
    """Print ``exc`` as one line on stderr, prefixed with ``command``, and exit. With
    ``--debug`` its traceback goes to the debug log first."""
    logging.getLogger("mango_transfer").debug("the command stops: %s", exc.user_message(),
                                              exc_info=exc)
    click.echo(f"{command}: {exc.user_message()}", err=True)
    sys.exit(EXIT_ERROR)
