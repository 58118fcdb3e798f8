"""Transfer options: one frozen value passed explicitly, and the one table the CLI flags come from.

``TransferOptions`` holds the defaults; ``OPTION_TABLE`` adds, per field, the flag's help, its
``MANGO_*`` environment variable and the commands it applies to. ``mango_transfer.cli.options``
turns the table into click options, so a flag, its default, its variable and its help text are
written once (as rclone's option tables do). The engine never imports click.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mango_transfer.engine.decide import SkipRules
from mango_transfer.errors import UsageError
from mango_transfer.pathfilter import PathFilter, compiled

__all__ = [
    "ACL_LEVELS",
    "ENV_PREFIX",
    "MIB",
    "OPTION_TABLE",
    "AclGrant",
    "OptionSpec",
    "TransferOptions",
    "parse_acl",
    "parse_count",
    "parse_processes",
    "parse_size",
]

MIB = 1024 * 1024
ENV_PREFIX = "MANGO_"
ACL_LEVELS = ("read", "write", "own", "null")
MAX_SINGLE_BUFFER = 32 * MIB  # iRODS' own default maximum_size_for_single_buffer_in_megabytes
SMALL_FILE_CHOICES = ("auto", "single", "open")
_MAX_BACKOFF = 60.0  # seconds; a longer wait helps no transfer and looks like a hang
_ALL = frozenset({"upload", "download", "sync"})


@dataclass(frozen=True)
class AclGrant:
    """``--acl USER:LEVEL``: give ``user`` ``level`` on everything uploaded, recursively."""

    user: str
    level: str

    def __str__(self) -> str:
        return f"{self.user}:{self.level}"


def parse_acl(text: str) -> AclGrant:
    """Parse ``USER:LEVEL`` (``USER`` may be ``user#zone``); raise UsageError otherwise."""
    user, sep, level = text.rpartition(":")
    if not sep or not user or level not in ACL_LEVELS:
        raise UsageError(f"invalid --acl value {text!r}",
                         hint=f"use USER:LEVEL with LEVEL one of {', '.join(ACL_LEVELS)}")
    return AclGrant(user, level)


def parse_count(text: str) -> int:
    """``--max-delete N``: a whole number of files, -1 for no limit."""
    try:
        return int(text.strip())
    except ValueError:
        raise UsageError(f"invalid count {text!r}",
                         hint="use a whole number of files, or -1 for no limit") from None


_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)


def parse_processes(text: str) -> int:
    """``--processes``: ``auto`` (or 0) for the automatic choice, else a count of at least 1."""
    value = text.strip().lower()
    if value in ("auto", "0"):
        return 0
    if not value.isdigit():
        raise UsageError(f"invalid --processes value {text!r}",
                         hint="use a number of worker processes, e.g. 4, or auto")
    return int(value)


def parse_size(text: str) -> int:
    """``32M``, ``1GiB``, ``4096`` → bytes (binary units, as rclone's SizeSuffix)."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise UsageError(f"invalid size {text!r}", hint="use a number with an optional K, M, G "
                                                        "or T suffix, e.g. 32M")
    power = "KMGT".find(match.group(2).upper()) + 1 if match.group(2) else 0
    return int(match.group(1)) << (10 * power)


@dataclass(frozen=True)
class TransferOptions:
    """Every knob of one run. Frozen and passed explicitly: no global configuration."""

    threads: int = 16
    processes: int = 0  # worker processes; 0: automatic (engine/processes.py)
    checksum: bool = False
    verify: bool = False
    force: bool = False
    size_only: bool = False
    ignore_existing: bool = False
    update: bool = False
    modify_window: int = 1
    dry_run: bool = False
    chunk_threshold: int = 32 * MIB
    chunk_connections: int = 4
    single_buffer: int = 32 * MIB
    small_files: str = "auto"
    retries: int = 3
    retry_backoff: float = 1.0
    acl: tuple[AclGrant, ...] = ()
    delete: bool = False
    no_trash: bool = False  # --delete removes remote objects for good instead of to the trash
    max_delete: int | None = None  # None: the guard's default (engine/deletions.py)
    backup_dir: str | None = None  # local files a run overwrites or deletes are moved here
    links: bool = False  # symbolic links kept as NAME.rclonelink objects (and made back)
    copy_links: bool = False  # symbolic links followed: what they point to is moved
    max_backlog: int = 10_000
    state_dir: str | None = None  # None: $XDG_STATE_HOME/mango-transfer (engine/resume.py)
    # --include/--exclude/--filter as rclone-ordered "+ PAT"/"- PAT" lines (pathfilter.py)
    filters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        minimum = {"threads": 1, "processes": 0, "chunk_connections": 1, "chunk_threshold": 1,
                   "retries": 0, "modify_window": 0, "max_backlog": 1}
        for name, low in minimum.items():
            if getattr(self, name) < low:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be at least {low}, got {getattr(self, name)}")
        if self.retry_backoff < 0:
            raise UsageError(f"--retry-backoff must not be negative, got {self.retry_backoff}")
        if self.links and self.copy_links:
            raise UsageError("--links and --copy-links exclude each other",
                             hint="--links keeps each symbolic link as a link, --copy-links "
                                  "moves what it points to; choose one")
        if self.single_buffer < 0 or self.single_buffer > MAX_SINGLE_BUFFER:
            raise UsageError(f"--single-buffer must be between 0 and 32M (the most an iRODS "
                             f"server takes in one request), got {self.single_buffer}")
        if self.small_files not in SMALL_FILE_CHOICES:
            raise UsageError(f"--small-files must be one of {', '.join(SMALL_FILE_CHOICES)}, "
                             f"got {self.small_files!r}")
        if self.max_delete is not None and self.max_delete < -1:
            raise UsageError(f"--max-delete must be a count of files, or -1 for no limit, "
                             f"got {self.max_delete}")
        if not isinstance(self.filters, tuple):  # a list, read back from a task's JSON
            object.__setattr__(self, "filters", tuple(self.filters))

    @property
    def link_mode(self) -> str:
        """What the local walk makes of a symbolic link (``localfs.walk``): ``store`` with
        ``--links``, ``follow`` with ``--copy-links``, else ``skip`` (reported, as rclone)."""
        return "store" if self.links else "follow" if self.copy_links else "skip"

    def path_filter(self) -> PathFilter | None:
        """The compiled ``filters`` (once per process), or None when there are none."""
        return compiled(self.filters) if self.filters else None

    def skip_rules(self) -> SkipRules:
        """The subset ``decide()`` needs, made once (asked once per file)."""
        rules: SkipRules | None = self.__dict__.get("_skip_rules")
        if rules is None:
            rules = SkipRules(checksum=self.checksum, force=self.force, size_only=self.size_only,
                              ignore_existing=self.ignore_existing, update=self.update,
                              delete=self.delete, modify_window=self.modify_window)
            object.__setattr__(self, "_skip_rules", rules)  # not a field: frozen, equal, same
        return rules

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): base × 2^(attempt−1)."""
        return min(self.retry_backoff * 2.0 ** max(attempt - 1, 0), _MAX_BACKOFF)


@dataclass(frozen=True)
class OptionSpec:
    """One row of the option table. The default comes from ``TransferOptions`` itself."""

    name: str
    help: str
    short: str | None = None
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None
    multiple: bool = False
    commands: frozenset[str] = _ALL
    group: str = "Transfer"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def envvar(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def default(self) -> Any:
        field = {f.name: f for f in dataclasses.fields(TransferOptions)}[self.name]
        return field.default


OPTION_TABLE: tuple[OptionSpec, ...] = (
    OptionSpec("threads", "Files moved at once, each on its own iRODS connection. Raise it for "
               "many small files over a slow link, e.g. --threads 32.", short="-t", metavar="N",
               group="Performance"),
    OptionSpec("processes", "Worker processes that move the files (each with its share of "
               "--threads and its own connections), fed by the one walk of this process; "
               "'auto' (shown as 0): one on a machine of fewer than 4 cores, else half the "
               "cores, at most 8. More than one pays for many small files on a client with "
               "cores to spare.", metavar="N|auto", parse=parse_processes,
               commands=frozenset({"upload", "download", "sync"}), group="Performance"),
    OptionSpec("checksum", "Skip a file only when size and SHA-256 match, instead of size and "
               "modification time. Slower (files are hashed) but catches same-size edits.",
               short="-c", group="Skip rules"),
    OptionSpec("size_only", "Skip a file when the sizes match, ignoring times and checksums.",
               group="Skip rules"),
    OptionSpec("ignore_existing", "Skip every file that already exists on the destination.",
               group="Skip rules"),
    OptionSpec("update", "Skip files that are newer on the destination than on the source.",
               short="-u", group="Skip rules"),
    OptionSpec("force", "Transfer every file, even when it looks unchanged.", group="Skip rules"),
    OptionSpec("modify_window", "Seconds two modification times may differ and still count as "
               "equal. iRODS keeps whole seconds, hence 1.", metavar="SECONDS",
               group="Skip rules"),
    OptionSpec("verify", "After each transfer compare the SHA-256 computed while streaming with "
               "the server's checksum; a mismatch fails the file (retried once).",
               group="Safety"),
    OptionSpec("dry_run", "Show what would be transferred (and deleted) without changing "
               "anything.", short="-n", group="Safety"),
    OptionSpec("chunk_threshold", "Files at least this large move in parallel byte ranges over "
               "several connections, e.g. 64M.", metavar="SIZE", parse=parse_size,
               group="Performance"),
    OptionSpec("chunk_connections", "Connections per large file above --chunk-threshold.",
               metavar="N", group="Performance"),
    OptionSpec("max_backlog", "Files the walk may run ahead of the transfers; the progress "
               "totals are known once the walk is this close to its end.", metavar="N",
               group="Performance"),
    OptionSpec("single_buffer", "Files below this size (and below --chunk-threshold) are read "
               "whole into memory and can move in one request, as iput and iget do; 0 streams "
               "them in 4 MiB blocks. At most 32M, the server's own limit.", metavar="SIZE",
               parse=parse_size, group="Performance"),
    OptionSpec("small_files", "How a small file crosses the wire: 'single' (one request: "
               "DATA_OBJ_PUT/GET with the bytes inside), 'open' (open, write or read, close: "
               "less work for an iRODS 5 server), or 'auto' (time both on the first files and "
               "keep the faster).", metavar="auto|single|open", parse=str,
               group="Performance"),
    OptionSpec("retries", "Attempts after a transient failure (connection reset, timeout, busy "
               "server); permanent errors fail at once.", metavar="N", group="Safety"),
    OptionSpec("retry_backoff", "Seconds before the first retry; doubled for each further one.",
               metavar="SECONDS", group="Safety"),
    OptionSpec("acl", "After upload, grant USER LEVEL (read, write, own, null) on everything "
               "uploaded; repeatable, e.g. --acl alice:read.", metavar="USER:LEVEL",
               parse=parse_acl, multiple=True, commands=frozenset({"upload", "sync"}),
               group="Upload"),
    OptionSpec("state_dir", "Folder where large uploads record the byte ranges already sent, "
               "so an interrupted upload resumes (default: $XDG_STATE_HOME/mango-transfer or "
               "~/.local/state/mango-transfer).", metavar="DIR", parse=str, group="Safety"),
    OptionSpec("links", "Keep each symbolic link as a link: uploaded as a small object "
               "NAME.rclonelink holding its target (as rclone does), made a link again on "
               "download.", short="-l", group="Links"),
    OptionSpec("copy_links", "Follow symbolic links: move what they point to, files and "
               "folders (a broken link fails, named). Without --links or --copy-links a link is "
               "skipped and named.", short="-L", group="Links"),
    OptionSpec("delete", "Delete destination files missing from the source, after every "
               "transfer of the run succeeded (none when one failed). Remote objects go to the "
               "iRODS trash; keep local ones with --backup-dir. Try with --dry-run first.",
               commands=frozenset({"sync"}), group="Sync"),
    OptionSpec("no_trash", "With --delete, remove remote objects for good (irm -f) instead of "
               "moving them to /ZONE/trash/home/USER/.", commands=frozenset({"sync"}),
               group="Sync"),
    OptionSpec("max_delete", "With --delete, refuse (exit 2, nothing deleted) a run that would "
               "delete more than N files. Default: refuse more than half of the destination's "
               "files, or any file when the source is empty; -1: no limit.", metavar="N",
               parse=parse_count, commands=frozenset({"sync"}), group="Sync"),
    OptionSpec("backup_dir", "Move each local file that a download or sync would overwrite or "
               "delete into DIR, under its relative path (rclone's --backup-dir), instead of "
               "losing it. DIR must be outside the destination folder.", metavar="DIR",
               parse=str, commands=frozenset({"download", "sync"}), group="Safety"),
    # No flag of its own: the CLI composes it from --include/--exclude/--filter and their
    # -from files (cli/transfer.py, pathfilter.rule_lines).
    OptionSpec("filters", "The filter rules, '+ PAT'/'- PAT' lines in rclone's order.",
               commands=frozenset(), group="Filters"),
)
