"""The ``mango-transfer`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mango_transfer import __version__

# Each command's module, imported only when that command runs (or shows its help): a command
# loads what it needs, not the server, the bench and the engine of every other command.
COMMANDS = {
    "serve": "mango_transfer.cli.serve",
    "upload": "mango_transfer.cli.transfer",
    "download": "mango_transfer.cli.transfer",
    "sync": "mango_transfer.cli.transfer",
    "diff": "mango_transfer.cli.diff",
    "ls": "mango_transfer.cli.browse",
    "du": "mango_transfer.cli.browse",
    "check": "mango_transfer.cli.transfer",
    "login": "mango_transfer.cli.transfer",
    "bench": "mango_transfer.cli.bench",
    "demo": "mango_transfer.cli.demo",
    "ingest": "mango_transfer.cli.ingest",
    "worker": "mango_transfer.cli.scaleout",
}


_DEBUG_HELP = ("Log every step (engine and python-irodsclient) to stderr, one line per file, "
               "not per block; passwords and tokens are blanked.")


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from mango_transfer.cli.debug_log import enable_debug_logging

        enable_debug_logging()


def _debug_option() -> click.Option:
    """``--debug`` for a subcommand too, so it may come after it (as users type it)."""
    return click.Option(["--debug"], is_flag=True, expose_value=False, is_eager=True,
                        callback=_debug, help=_DEBUG_HELP)


class _OneLineUsage(click.ClickException):
    """A mistake on the command line, said in one line (click's own prints the usage, a hint
    and the error on three or four): what is wrong, and where the help is."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message())
        self.command = error.ctx.command_path if error.ctx is not None else "mango-transfer"

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.command}: {self.format_message().rstrip('.')}; see "
                   f"`{self.command} --help`",
                   err=True)


class _Main(click.Group):
    """The command group: commands are loaded on first use (:data:`COMMANDS`), the
    arguments are kept as typed (``ctx.meta["argv"]``) for reports, and a usage error of any
    command is one line (:class:`_OneLineUsage`)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _OneLineUsage(error) from error

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _OneLineUsage(error) from error

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx)
                             if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        if not any(param.name == "debug" for param in command.params):
            command.params.append(_debug_option())  # --debug after the command, too
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mango-transfer")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
              help=_DEBUG_HELP)
def main() -> None:
    """Move research data between this disk and an iRODS zone (ManGO): fast, resumable, verified."""
    _tolerant_output()


def _tolerant_output() -> None:
    """A name the console cannot show (a Windows code page, a name that is not UTF-8) is
    written with escapes instead of stopping the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream that cannot change any more
                pass
