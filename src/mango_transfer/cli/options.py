"""Click options generated from ``engine.options.OPTION_TABLE``.

Each flag gets its default from ``TransferOptions``, an explicit ``MANGO_<NAME>`` environment
variable (the same for every command, unlike click's ``auto_envvar_prefix`` which adds the
command name), and the table's help. ``options_from_params`` builds the frozen options back from
what click parsed, so a new option needs one table row and one dataclass field, nothing here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from mango_transfer.cli.help import SectionOption, size_text
from mango_transfer.engine.options import OPTION_TABLE, OptionSpec, TransferOptions, parse_size
from mango_transfer.errors import MangoError

__all__ = ["options_from_params", "transfer_options"]

F = TypeVar("F", bound=Callable[..., Any])


class _TableParam(click.ParamType):
    """Wrap a table ``parse`` function so its MangoError becomes a click usage error."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # already converted (a default)
        try:
            return self._parse(value)
        except MangoError as exc:
            self.fail(exc.user_message(), param, ctx)


def _click_type(spec: OptionSpec) -> Any:
    if spec.parse is not None:
        return _TableParam(spec.metavar or spec.name, spec.parse)
    default = spec.default
    return type(default) if not spec.multiple else None


def _make_option(spec: OptionSpec) -> Callable[[F], F]:
    decls = [spec.flag, *([spec.short] if spec.short else []), spec.name]
    kwargs: dict[str, Any] = {
        "help": spec.help,
        "envvar": spec.envvar,
        "show_envvar": True,
        "metavar": spec.metavar,
    }
    if isinstance(spec.default, bool):
        kwargs.update(is_flag=True, default=spec.default)
    elif spec.multiple:
        kwargs.update(multiple=True, type=_click_type(spec), default=())
    else:
        # A size default is given as the flag reads it (32M), so help shows it so.
        default = size_text(spec.default) if spec.parse is parse_size else spec.default
        kwargs.update(type=_click_type(spec), default=default, show_default=True)
    return click.option(*decls, cls=SectionOption, section=spec.group, **kwargs)


def transfer_options(command: str) -> Callable[[F], F]:
    """Decorator adding every table option that applies to ``command`` (upload/download/sync)."""

    def decorate(func: F) -> F:
        for spec in reversed(OPTION_TABLE):  # click lists options in decoration order, reversed
            if command in spec.commands:
                func = _make_option(spec)(func)
        return func

    return decorate


def options_from_params(params: Mapping[str, Any]) -> TransferOptions:
    """Build ``TransferOptions`` from click's parsed parameters; absent ones keep defaults.

    Unknown keys (the command's own arguments) are ignored. Invalid combinations raise
    ``UsageError`` from ``TransferOptions`` itself.
    """
    names = {field.name for field in dataclasses.fields(TransferOptions)}
    values = {key: value for key, value in params.items() if key in names}
    if "acl" in values:
        values["acl"] = tuple(values["acl"])
    return TransferOptions(**values)
