"""The header of a ``--json-report``: what the command line knows about the run.

The engine writes the totals and the files (``engine/report.py``); the command adds what only
it knows: the command and its arguments as typed (a password in a broker URL blanked), the
options the run used, and the zone of the environment file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

import click

from mango_transfer.engine.report import RunHeader, options_dict
from mango_transfer.errors import MangoError

__all__ = ["redact_argv", "run_header", "zone_of_environment"]

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]*@", re.IGNORECASE)


def redact_argv(argv: list[str]) -> list[str]:
    """The arguments with any ``scheme://user:password@`` password blanked."""
    return [_URL_PASSWORD.sub(r"\1***@", arg) for arg in argv]


def zone_of_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """``{"name", "host", "port", "user"}`` of the environment file, None when unreadable."""
    from mango_transfer.irods.environment import load_environment

    try:
        env = load_environment(environ=environ)
    except MangoError:
        return None
    return {"name": env.zone, "host": env.host, "port": env.port, "user": env.user}


def run_header(command: str, src: str, dest: str, options: Any, *, exit_code: int,
               error: str | None = None) -> RunHeader:
    return RunHeader(command=command, source=src, destination=dest,
                     options=options_dict(options), zone=zone_of_environment(),
                     argv=redact_argv(typed_arguments()), exit_code=exit_code, error=error)


def typed_arguments() -> list[str]:
    """The command line after the program name (as the command group parsed it)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and "argv" in ctx.meta:
        return list(ctx.meta["argv"])
    return sys.argv[1:]
