"""The AVUs an ingest puts on each uploaded file, with mango-ingest's exact names and units.

Existing ManGO searches (and ManGO Flow rules) look for what mango-ingest 0.9.2 wrote, so:

- every attribute is ``mg.`` + a name, every unit is ``analysis/mango_ingest``;
- ``--md-mtime`` writes ``mg.original_modify_time`` = the file's modification time in ISO 8601,
  UTC, whole seconds (truncated): ``2024-10-01T12:34:56+00:00``;
- ``--md-path REGEX`` (repeatable) searches the path (``re.search``) and writes one AVU per named
  group: ``(?P<subject>...)`` → ``mg.subject``. When several regexes give the same group, the
  later one wins; ``--md-mtime`` is applied last, as in mango-ingest;
- a ``--metadata-handler``'s values (``ingest/plugins.py``) come first, so the two above win
  for the same name, as in mango-ingest; a handler's list value gives one AVU per item.

Where we deliberately differ: the regex is searched in the path relative to ``-p`` with ``/``
separators (mango-ingest searched the absolute local path, with ``\\`` on Windows; unanchored
patterns such as ``sub-(?P<subject>[^/]+)`` give the same result). A group that did not take part
in the match, or matched an empty string, is left out (mango-ingest crashed on the first and
iRODS refuses empty values). A ``--md-path`` without a named group is refused up front.

Re-ingesting never duplicates AVUs: the engine reconciles them with
:func:`mango_transfer.avus.metadata_operations`, which turns "what is on the object" and "what
should be" into one list of atomic remove/add operations for the attributes we manage, here
every ``mg.`` name a file's AVUs carry. (mango-ingest meant to do this but compared unprefixed
names with the ``mg.`` names on the object, so a changed mtime added a second
``mg.original_modify_time``.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from mango_transfer import avus
from mango_transfer.errors import UsageError

__all__ = [
    "MTIME_ATTRIBUTE",
    "PREFIX",
    "UNITS",
    "Avu",
    "MetadataRules",
    "file_avus",
    "mtime_value",
    "path_values",
]

PREFIX = "mg."
UNITS = "analysis/mango_ingest"
MTIME_ATTRIBUTE = PREFIX + "original_modify_time"


class Avu(avus.Avu):
    """An AVU as mango-ingest writes it: the units default to :data:`UNITS`. It equals the
    plain :class:`mango_transfer.avus.Avu` with the same three values."""

    __slots__ = ()

    def __new__(cls, name: str, value: str, units: str = UNITS) -> Avu:
        return super().__new__(cls, name, value, units)


@dataclass(frozen=True)
class MetadataRules:
    """``--md-mtime`` and the compiled ``--md-path`` regexes; build with :meth:`build`."""

    mtime: bool = False
    path_patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def build(cls, *, md_mtime: bool = False, md_path: Iterable[str] = ()) -> MetadataRules:
        """Compile the flags; a bad or group-less regex is a UsageError naming it."""
        return cls(mtime=md_mtime, path_patterns=tuple(_compile(p) for p in md_path))

    @property
    def enabled(self) -> bool:
        """False when no metadata flag is given: the engine then needs no metadata call."""
        return self.mtime or bool(self.path_patterns)


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"--md-path {pattern!r} is not a valid regular expression ({exc})",
                         hint="see https://docs.python.org/3/library/re.html") from exc
    if not compiled.groupindex:
        raise UsageError(f"--md-path {pattern!r} has no named group, so it adds no metadata",
                         hint="name each part to keep, e.g. sub-(?P<subject>[^/]+)")
    return compiled


def mtime_value(mtime: float) -> str:
    """mango-ingest's time format: ISO 8601 in UTC, truncated to whole seconds."""
    return datetime.fromtimestamp(mtime, tz=timezone.utc).isoformat(timespec="seconds")


def path_values(relative: str, patterns: Sequence[re.Pattern[str]]) -> dict[str, str]:
    """Named groups of every matching pattern, later patterns overriding earlier ones."""
    values: dict[str, str] = {}
    for pattern in patterns:
        match = pattern.search(relative)
        if match is None:
            continue
        values.update({name: value for name, value in match.groupdict().items() if value})
    return values


def file_avus(relative: str, mtime: float, rules: MetadataRules,
              handled: Mapping[str, Sequence[str]] | None = None) -> list[Avu]:
    """The AVUs one file should carry, in mango-ingest's order (a handler's values, path
    groups, then mtime; a later source replaces an earlier one's values for the same name).

    ``relative`` is the path below ``-p`` with ``/`` separators; ``mtime`` is seconds since the
    epoch (``FileInfo.mtime`` will do); ``handled`` what a ``--metadata-handler`` returned for
    the file. Pure: no I/O, so ``--dry-run`` can show it.
    """
    values: dict[str, list[str]] = {name: list(texts) for name, texts in (handled or {}).items()}
    values.update({name: [value] for name, value in
                   path_values(relative, rules.path_patterns).items()})
    if rules.mtime:
        values["original_modify_time"] = [mtime_value(mtime)]
    return [Avu(PREFIX + name, value) for name, texts in values.items() for value in texts]
