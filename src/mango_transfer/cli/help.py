"""``--help`` in sections, as rclone groups its flags: each option names its section.

:class:`SectionOption` carries a ``section``; :class:`SectionCommand` prints the options of each
section under its own heading, in the order the sections first appear (the command's own
options first, then e.g. ``Skip rules``, ``Performance``, ``Scale-out (Celery)``, ``Output``).
Options without a section are listed under ``Options``. Sizes are shown as the flags read
them (``32M``, not ``33554432``: :func:`size_text`).
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["SectionCommand", "SectionOption", "size_text"]

_SUFFIXES = ((40, "T"), (30, "G"), (20, "M"), (10, "K"))


def size_text(count: int) -> str:
    """``33554432`` → ``32M``, ``1536`` → ``1536`` unless a binary suffix divides it exactly
    (``1024`` → ``1K``): the form ``parse_size`` reads back."""
    for shift, suffix in _SUFFIXES:
        if count and count % (1 << shift) == 0:
            return f"{count >> shift}{suffix}"
    return str(count)


class SectionOption(click.Option):
    def __init__(self, *args: Any, section: str = "Options", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section


class SectionCommand(click.Command):
    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            section = getattr(param, "section", "Options")
            sections.setdefault(section, []).append(record)
        general = sections.pop("Options", [])
        ordered = [(name, records) for name, records in [*sections.items(),
                                                          ("Options", general)] if records]
        # One column width for every section, as a single list would have.
        width = min(30, max((len(term) for _, records in ordered for term, _ in records),
                            default=0))
        for name, records in ordered:
            with formatter.section(name):
                formatter.write_dl([(term.ljust(width), text) for term, text in records])
