"""Which files an ingest takes: ``--glob``/``--regex`` include, ``--ignore-glob``/``--ignore`` exclude.

**The rule** (one sentence, the same for the initial sync, the watcher and ``--restart``): a file
is taken when it matches *any* include — or no include is given — and *no* exclude. Every
pattern is matched against the path relative to ``-p``, with ``/`` separators on every OS, and
case-sensitively.

- ``--regex``/``--ignore`` are Python regular expressions, searched (``re.search``, not anchored)
  in the relative path: ``\\.csv$``, ``(^|/)tmp/``.
- ``--glob``/``--ignore-glob`` are globs in the dialect every mango-transfer filter speaks
  (``mango_transfer.pathfilter``, rclone's): ``*``, ``?`` and ``[...]`` stay inside one folder
  level, ``**`` matches across levels (``raw/**``; ``sub-*/**/*.edf`` needs at least one folder
  between), ``{a,b}`` gives alternatives and ``\\`` escapes. A glob floats: it may match the last
  components of the path (``*.csv`` takes ``a/b/x.csv``; ``eeg/*.edf`` takes
  ``sub-01/eeg/r.edf``); a leading ``/`` anchors it at ``-p`` (``/*.csv``: top level only). A
  trailing ``/`` matches folders, and so every file below them (``--glob raw/`` takes everything
  in any ``raw`` folder). An ``--ignore-glob`` also excludes everything below a folder it
  matches (``--ignore-glob tmp`` skips all under any ``tmp`` folder), as rsync's excludes do; an
  include glob without ``/`` at the end matches files only, so ``--glob '[!.]*'`` does not take
  a folder's hidden files.

**How mango-ingest differs** (0.9.2, why our users' flags keep working but behave correctly):
it matches the *absolute* local path (``re.search`` for regexes; globs through
``fnmatch.translate``, whose ``*`` also crosses ``/``), so a ``^`` anchor there refers to ``/``
of the disk. In its initial sync / ``-nw`` run the include patterns are not applied at all unless
exactly one ``--glob`` and no ``--regex`` are given: with two globs, or a regex that matches
nothing, every non-ignored file is uploaded (its filter falls through to "accept"). Its watcher
does apply them (ignore first, then include). Here the same rule holds everywhere.

The glob translation is shared with the transfer commands' ``--include``/``--exclude``; the
rule (any include, no exclude) is mango-ingest's and lives here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mango_transfer import pathfilter
from mango_transfer.errors import UsageError

__all__ = ["Filters", "GlobPattern", "compile_glob"]


@dataclass(frozen=True, slots=True)
class GlobPattern:
    """One compiled glob. ``dirs_only``: written with a trailing ``/``, it matches folders (and
    so the files below them). ``folders``: a match on a file's folder counts (excludes)."""

    text: str
    regex: re.Pattern[str]
    dirs_only: bool
    folders: bool = False

    def matches(self, relative: str) -> bool:
        """True when this file (relative to ``-p``) is matched."""
        if self.dirs_only:
            candidates: Iterator[str] = _folders(relative)
        elif self.folders:
            candidates = _self_and_folders(relative)
        else:
            return self.regex.search(relative) is not None
        return any(self.regex.search(candidate) for candidate in candidates)

    def matches_folder(self, relative_dir: str) -> bool:
        """True when this folder or one above it matches: everything below it is matched."""
        return any(self.regex.search(c) for c in _self_and_folders(relative_dir))


def _folders(relative: str) -> Iterator[str]:
    """``a/b/c`` → ``a``, ``a/b`` (the folders a file sits in, relative)."""
    index = relative.find("/")
    while index != -1:
        yield relative[:index]
        index = relative.find("/", index + 1)


def _self_and_folders(relative: str) -> Iterator[str]:
    yield relative
    yield from _folders(relative)


def compile_glob(pattern: str, flag: str = "--glob", *, folders: bool = False) -> GlobPattern:
    """Compile a glob (see the module docstring); a UsageError names ``flag``. ``folders``:
    also match files whose folder matches (what an exclude means)."""
    text = pattern.strip()
    dirs_only = text.endswith("/") and text.strip("/") != ""
    body = text.rstrip("/") if dirs_only else text
    if not body.strip("/"):
        raise UsageError(f"{flag} {pattern!r} matches nothing", hint="give a pattern such as *.csv")
    return GlobPattern(pattern, pathfilter.compile_glob(body, flag), dirs_only, folders)


def _compile_regex(pattern: str, flag: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"{flag} {pattern!r} is not a valid regular expression ({exc})",
                         hint="see https://docs.python.org/3/library/re.html") from exc


@dataclass(frozen=True)
class Filters:
    """The compiled include/exclude rules of one ingest; build with :meth:`build`."""

    include_globs: tuple[GlobPattern, ...] = ()
    include_regexes: tuple[re.Pattern[str], ...] = ()
    exclude_globs: tuple[GlobPattern, ...] = ()
    exclude_regexes: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def build(cls, *, glob: Iterable[str] = (), regex: Iterable[str] = (),
              ignore_glob: Iterable[str] = (), ignore: Iterable[str] = ()) -> Filters:
        """Compile the four repeatable flags; a bad pattern is a UsageError naming its flag."""
        return cls(
            include_globs=tuple(compile_glob(p, "--glob") for p in glob),
            include_regexes=tuple(_compile_regex(p, "--regex") for p in regex),
            exclude_globs=tuple(compile_glob(p, "--ignore-glob", folders=True)
                                for p in ignore_glob),
            exclude_regexes=tuple(_compile_regex(p, "--ignore") for p in ignore),
        )

    @property
    def has_includes(self) -> bool:
        return bool(self.include_globs or self.include_regexes)

    def reason(self, relative: str) -> str | None:
        """Why ``relative`` is filtered out (for the log), or None when it is taken."""
        for glob in self.exclude_globs:
            if glob.matches(relative):
                return f"matches --ignore-glob {glob.text!r}"
        for regex in self.exclude_regexes:
            if regex.search(relative):
                return f"matches --ignore {regex.pattern!r}"
        if not self.has_includes or self._included(relative):
            return None
        return "matches no --glob/--regex"

    def accepts(self, relative: str) -> bool:
        """The documented rule: any include (or none given) and no exclude."""
        return self.reason(relative) is None

    def prunes(self, relative_dir: str) -> bool:
        """True when every file below this folder is excluded, so a walk need not enter it.

        Only an ``--ignore-glob`` matching the folder (or one above) can say so: a regex might
        match a deeper path and not this one.
        """
        return any(glob.matches_folder(relative_dir) for glob in self.exclude_globs)

    def _included(self, relative: str) -> bool:
        return (any(glob.matches(relative) for glob in self.include_globs)
                or any(regex.search(relative) for regex in self.include_regexes))
