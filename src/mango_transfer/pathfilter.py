"""Which paths a run takes: rclone's glob dialect and filter rules, one matcher for every command.

Every pattern is matched against the path *relative to the run's root* (``SRC/a/b.csv`` is
``a/b.csv``), with ``/`` separators on every OS, case-sensitively. ``upload``, ``download`` and
``sync`` use the rules below (``--include``/``--exclude``/``--filter`` and their ``-from`` files);
``ingest`` keeps mango-ingest's flags and rule (``ingest/filters.py``) but compiles its globs
with :func:`glob_regex`, so both speak one dialect.

**Glob dialect** (a subset of rclone's, with rclone's meaning)::

    *        any run of characters except /          *.csv      a.csv, x/y/a.csv
    **       any run of characters including /       raw/**     raw/a, raw/a/b
    ?        one character except /                  run?.edf   run1.edf
    [a-z]    one character of the set, [!a-z] or [^a-z] one not in it; never /
    {a,b}    either alternative (each may hold globs; may nest)  *.{jpg,png}
    \\c       the character c itself (\\*, \\?, \\[, \\{, \\\\)

A pattern starting with ``/`` is anchored at the root (``/*.csv``: top level only); any other
pattern matches the end of the path at a component boundary (``file.jpg`` matches ``file.jpg``
and ``dir/file.jpg``, not ``afile.jpg``). A pattern ending with ``/`` is a *directory rule*: it
matches folders only (``tmp/`` matches the folder ``a/tmp``). More than two ``*`` in a row is
an error, as in rclone. Not supported: rclone's ``{{regexp}}``, ``--ignore-case`` and the
``[[:alpha:]]`` classes; an unclosed ``[`` or a lone ``]`` is taken literally (rclone refuses
them).

**Rules** (rclone's order and first-match semantics): the rules are every ``--include``, then
every line of each ``--include-from`` file, every ``--exclude``, every line of each
``--exclude-from`` file, every ``--filter`` (``+ PATTERN`` or ``- PATTERN``) and every line of each
``--filter-from`` file, in that order; when any include was given, ``- **`` is implied at the
end. A file is taken by the *first* rule that matches it (``+`` takes, ``-`` leaves out), and
taken when none matches. In the ``-from`` files, blank lines and lines starting with ``#`` or
``;`` are skipped; ``-`` names standard input.

**Folders**: excluding ``dir/`` means excluding ``dir/**``; a pattern holding ``**`` applies to
folders as well as files; an include also lets through the folders its files could be in
(``/a/*.jpg`` lets ``a`` through). A folder that the folder rules leave out is *pruned*: never
walked, nothing below it transferred, deleted or listed. So a file is in scope when every folder
above it passes the folder rules and the file passes the file rules — the same on both sides of
a run, which is why ``sync --delete`` never deletes an excluded file.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mango_transfer.errors import UsageError

__all__ = [
    "IMPLIED_EXCLUDE",
    "PathFilter",
    "Rule",
    "compile_glob",
    "compiled",
    "glob_regex",
    "read_patterns",
    "rule_lines",
]

IMPLIED_EXCLUDE = "- /**"  # added after the rules when any include is given
_DIR_CACHE = 65_536  # folder verdicts remembered; cleared when full (bounded memory)


class _Translator:
    """One glob → the body of a regular expression (no anchors)."""

    def __init__(self, pattern: str, flag: str) -> None:
        self.pattern, self.flag = pattern, flag
        self.out: list[str] = []
        self.depth = 0  # open ``{`` groups

    def fail(self, why: str) -> UsageError:
        return UsageError(f"{self.flag} {self.pattern!r} is not a valid pattern ({why})",
                          hint="see the filter dialect in `mango-transfer upload --help`")

    def run(self, text: str) -> str:
        i = 0
        while i < len(text):
            char = text[i]
            if char == "*":
                stars = len(text) - i - len(text[i:].lstrip("*"))
                if stars > 2:
                    raise self.fail("too many stars in a row")
                self.out.append("[^/]*" if stars == 1 else ".*")
                i += stars
                continue
            i += 1
            if char == "\\":
                if i == len(text):
                    raise self.fail("it ends with a lone \\")
                self.out.append(re.escape(text[i]))
                i += 1
            elif char == "?":
                self.out.append("[^/]")
            elif char == "[":
                i = self.char_class(text, i)
            elif char == "{":
                self.depth += 1
                self.out.append("(?:")
            elif char == "}" and self.depth:
                self.depth -= 1
                self.out.append(")")
            elif char == "}":
                raise self.fail("a '}' without its '{'")
            elif char == "," and self.depth:
                self.out.append("|")
            else:
                self.out.append(re.escape(char))
        if self.depth:
            raise self.fail("a '{' without its '}'")
        return "".join(self.out)

    def char_class(self, text: str, start: int) -> int:
        """``[...]`` after its ``[``; returns where it ends. Unclosed: a literal ``[``."""
        end = start
        if end < len(text) and text[end] in "!^":
            end += 1
        if end < len(text) and text[end] == "]":
            end += 1
        while end < len(text) and text[end] != "]":
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            self.out.append(re.escape("["))
            return start
        body = text[start:end]
        negate = body[:1] in ("!", "^")
        if negate:
            body = body[1:]
        parts: list[str] = []
        j = 0
        while j < len(body):
            if body[j] == "\\" and j + 1 < len(body):
                parts.append(re.escape(body[j + 1]))
                j += 2
                continue
            parts.append("-" if body[j] == "-" else re.escape(body[j]))
            j += 1
        self.out.append(f"(?!/)[{'^' if negate else ''}{''.join(parts)}]")
        return end + 1


def glob_regex(pattern: str, flag: str = "--include") -> str:
    """The anchored regular expression of one glob, for ``re.search`` with ``re.DOTALL`` (see
    :func:`compile_glob`); see the module docstring. A pattern that cannot compile is a
    UsageError naming ``flag``."""
    text = pattern[1:] if pattern.startswith("/") else pattern
    body = _Translator(pattern, flag).run(text)
    regex = ("^" if pattern.startswith("/") else "(?:^|/)") + body + r"\Z"
    try:
        re.compile(regex, re.DOTALL)
    except re.error as exc:  # e.g. a reversed range such as [z-a]
        raise UsageError(f"{flag} {pattern!r} is not a valid pattern ({exc})") from exc
    return regex


def compile_glob(pattern: str, flag: str = "--include") -> re.Pattern[str]:
    """:func:`glob_regex`, compiled: ``.search(path)`` tells whether ``pattern`` matches."""
    return re.compile(glob_regex(pattern, flag), re.DOTALL)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: ``include`` (``+``) or exclude (``-``) of the glob ``pattern``."""

    include: bool
    pattern: str
    regex: re.Pattern[str]

    def __str__(self) -> str:
        return f"{'+' if self.include else '-'} {self.pattern}"


def _dir_globs(pattern: str) -> list[str]:
    """The folder globs a file include implies: the folders its files can be in.

    For an anchored pattern, cut at each ``/`` or ``**`` from the right (``/a/b/*.jpg`` →
    ``/a/b/``, ``/a/``; the root itself is always walked), as rclone does. A floating pattern
    can match below any folder (``a/*.jpg`` takes ``x/a/p.jpg``), so it implies every folder
    (``/**``): rclone would prune ``x`` there on a local walk and miss that file. Too hard to
    split (a ``/`` or ``**`` inside ``{}``, nested ``{}``): every folder. Every folder prunes
    nothing, so it is always safe.
    """
    if not pattern.startswith("/") or re.search(r"\{[^{}]*(\*\*|/)[^{}]*\}|\{[^{}]*\{", pattern):
        return ["/**"]
    glob = re.sub("/{2,}", "/", pattern)
    out: list[str] = []
    while True:
        slash, stars = glob.rfind("/"), glob.rfind("**")
        cut, what = (stars, "**") if stars > slash else (slash, "")
        if cut < 0:
            break
        glob = glob[:cut]
        folder = glob + what + "/"
        if not out or out[-1] != folder:
            out.append(folder)
    return [folder for folder in out if folder != "/"]


@dataclass
class PathFilter:
    """The compiled rules of one run: file rules, folder rules and a bounded folder cache."""

    file_rules: tuple[Rule, ...] = ()
    dir_rules: tuple[Rule, ...] = ()
    implied: bool = False  # the last rule is the ``- /**`` an include implied
    _dirs: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> PathFilter:
        """Compile ``+ PATTERN``/``- PATTERN`` lines, in order (as :func:`rule_lines` makes)."""
        files: list[Rule] = []
        dirs: list[Rule] = []
        lines = list(lines)
        for line in lines:
            include, pattern = _parse_line(line)
            dir_rule = pattern.endswith("/")
            file_rule = not dir_rule
            if dir_rule and not include:
                pattern += "**"  # excluding dir/ excludes everything below it
            if "**" in pattern:
                dir_rule = file_rule = True
            flag = "--include" if include else "--exclude"
            rule = Rule(include, pattern, compile_glob(pattern, flag))
            if file_rule:
                files.append(rule)
                if include or pattern == "*":
                    dirs.extend(Rule(include, g, compile_glob(g, flag))
                                for g in _dir_globs(pattern))
            if dir_rule:
                dirs.append(rule)
        implied = bool(lines) and lines[-1] == IMPLIED_EXCLUDE
        return cls(tuple(files), tuple(dirs), implied)

    @property
    def active(self) -> bool:
        return bool(self.file_rules or self.dir_rules)

    def file_reason(self, path: str) -> str | None:
        """Why the file rules leave ``path`` out, or None when they take it."""
        for index, rule in enumerate(self.file_rules):
            if rule.regex.search(path):
                if rule.include:
                    return None
                if self.implied and index == len(self.file_rules) - 1:
                    return "matches no --include"
                return f"excluded by '{rule}'"
        return None

    def prunes(self, folder: str) -> bool:
        """True when the folder rules leave out ``folder`` or a folder above it."""
        if not self.dir_rules or not folder:
            return False
        known = self._dirs.get(folder)
        if known is not None:
            return known
        parent = folder.rpartition("/")[0]
        verdict = self.prunes(parent) or not self._dir_taken(folder + "/")
        if len(self._dirs) >= _DIR_CACHE:
            self._dirs.clear()
        self._dirs[folder] = verdict
        return verdict

    def _dir_taken(self, folder: str) -> bool:
        for rule in self.dir_rules:
            if rule.regex.search(folder):
                return rule.include
        return True

    def reason(self, path: str) -> str | None:
        """Why ``path`` is out of scope (its folder is pruned or a file rule leaves it out),
        or None when it is taken."""
        folder = path.rpartition("/")[0]
        if self.prunes(folder):
            return "inside an excluded folder"
        return self.file_reason(path)


def _parse_line(line: str) -> tuple[bool, str]:
    if line.startswith("+ "):
        return True, line[2:]
    if line.startswith("- "):
        return False, line[2:]
    raise UsageError(f"--filter {line!r} is not a rule",
                     hint="write '+ PATTERN' to take or '- PATTERN' to leave out")


@functools.lru_cache(maxsize=16)
def compiled(lines: tuple[str, ...]) -> PathFilter:
    """The :class:`PathFilter` of these rule lines, compiled once per process."""
    return PathFilter.from_lines(lines)


def read_patterns(source: str, flag: str) -> list[str]:
    """The patterns of a ``--*-from`` file (``-``: standard input), comments and blanks skipped,
    each line stripped. An unreadable file is a UsageError naming it."""
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{flag} {source}: cannot read the file ({reason})",
                         hint="give a UTF-8 text file with one pattern per line") from exc
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and line[0] not in "#;":
            out.append(line)
    return out


def rule_lines(*, include: Iterable[str] = (), exclude: Iterable[str] = (),
               include_from: Iterable[str] = (), exclude_from: Iterable[str] = (),
               filter: Iterable[str] = (), filter_from: Iterable[str] = ()) -> tuple[str, ...]:
    """The flags as one ordered list of ``+``/``-`` lines, in rclone's order, with the implied
    ``- /**`` when any include was given. Every pattern is compiled here, so a bad one fails
    before the run starts (a UsageError naming its flag or file)."""
    lines: list[str] = []
    includes = [*include]
    from_files = [(p, f"--include-from {f}") for f in include_from
                  for p in read_patterns(f, "--include-from")]
    for pattern in includes:
        lines.append(_checked(True, pattern, "--include"))
    for pattern, flag in from_files:
        lines.append(_checked(True, pattern, flag))
    for pattern in exclude:
        lines.append(_checked(False, pattern, "--exclude"))
    for source in exclude_from:
        for pattern in read_patterns(source, "--exclude-from"):
            lines.append(_checked(False, pattern, f"--exclude-from {source}"))
    for rule in filter:
        lines.extend(_filter_rule(rule, "--filter"))
    for source in filter_from:
        for rule in read_patterns(source, "--filter-from"):
            lines.extend(_filter_rule(rule, f"--filter-from {source}"))
    if includes or from_files:
        lines.append(IMPLIED_EXCLUDE)
    return tuple(lines)


def _filter_rule(rule: str, flag: str) -> list[str]:
    if rule.startswith(("+ ", "- ")):
        return [_checked(rule[0] == "+", rule[2:], flag)]
    raise UsageError(f"{flag} {rule!r} is not a rule",
                     hint="write '+ PATTERN' to take or '- PATTERN' to leave out")


def _checked(include: bool, pattern: str, flag: str) -> str:
    if not pattern:
        raise UsageError(f"{flag}: an empty pattern matches nothing",
                         hint="give a pattern such as '*.tmp'")
    glob_regex(pattern + ("**" if pattern.endswith("/") and not include else ""), flag)
    return f"{'+' if include else '-'} {pattern}"
