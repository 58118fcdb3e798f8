"""Whether one file needs transferring: a pure function, apart from the code that moves bytes.

The rules follow rclone's ``NeedTransfer``/``equal`` in the same order, so users who know
rsync/rclone flags get the behaviour they expect, and every outcome carries a :class:`Reason`
(dry runs and reports need no extra code).

Checksum mode needs both checksums, but they cost I/O (hashing a local file, asking the server
to compute one). ``decide`` does no I/O, so when one is missing it answers
:attr:`Action.NEED_CHECKSUM` with the missing :class:`Side` s in ``Decision.need``; the caller
obtains them and calls ``decide`` again with the completed :class:`FileInfo`. If a checksum
cannot be obtained at all, the caller transfers the file
(``Decision(Action.CHANGED, Reason.CHECKSUM_UNAVAILABLE)``): copying is the safe answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mango_transfer.fileinfo import FileInfo
from mango_transfer.localfs.hashing import checksum_algorithm

__all__ = ["Action", "Decision", "FileInfo", "Reason", "Side", "SkipRules", "decide"]


class Action(enum.Enum):
    """What to do with one file."""

    NEW = "new"
    CHANGED = "changed"
    SKIP = "skip"
    DELETE = "delete"
    NEED_CHECKSUM = "need-checksum"


class Reason(enum.Enum):
    """Why, in words a report can show."""

    MISSING_ON_DESTINATION = "not on the destination"
    ONLY_ON_DESTINATION = "only on the destination"
    IGNORE_EXISTING = "exists on the destination (--ignore-existing)"
    FORCED = "transfer forced (--force)"
    DESTINATION_NEWER = "destination is newer (--update)"
    SIZE_DIFFERS = "sizes differ"
    SIZE_MATCH = "sizes match (--size-only)"
    CHECKSUM_MISSING = "checksum needed to compare"
    CHECKSUM_MATCH = "sizes and checksums match"
    CHECKSUM_DIFFERS = "checksums differ"
    CHECKSUM_UNAVAILABLE = "checksum unavailable; transferring to be safe"
    NO_COMMON_HASH = "sizes match; checksums use different algorithms"
    MTIME_MATCH = "sizes and modification times match"
    MTIME_DIFFERS = "modification times differ"
    MTIME_DIFFERS_CHECKSUM_MATCH = "contents match; only the modification time differs"
    WRITTEN_AFTER_CHANGE = "sizes match; destination written after the source last changed"
    DESTINATION_INCOMPLETE = "destination replica is stale or incomplete (interrupted upload?)"


class Side(enum.Enum):
    """Which side of the pair a missing checksum belongs to."""

    SRC = "source"
    DST = "destination"


@dataclass(frozen=True)
class SkipRules:
    """The flags that change the decision; see ``TransferOptions.skip_rules()``.

    ``modify_window`` is in whole seconds: iRODS keeps whole-second mtimes, so 1 s absorbs the
    truncation of a local sub-second mtime.
    """

    checksum: bool = False
    force: bool = False
    size_only: bool = False
    ignore_existing: bool = False
    update: bool = False
    delete: bool = False
    modify_window: int = 1


@dataclass(frozen=True)
class Decision:
    """The outcome for one file; ``need`` is set only with ``Action.NEED_CHECKSUM``."""

    action: Action
    reason: Reason
    need: frozenset[Side] = frozenset()

    @property
    def transfers(self) -> bool:
        """True when bytes will move."""
        return self.action in (Action.NEW, Action.CHANGED)

    @property
    def fix_mtime(self) -> bool:
        """True when the contents match but the destination's mtime should be set to the source's."""
        return self.reason is Reason.MTIME_DIFFERS_CHECKSUM_MATCH


def _missing_checksums(src: FileInfo, dst: FileInfo) -> frozenset[Side]:
    missing: set[Side] = set()
    if src.checksum is None:
        missing.add(Side.SRC)
    if dst.checksum is None:
        missing.add(Side.DST)
    return frozenset(missing)


def _same_contents(src: FileInfo, dst: FileInfo) -> bool | None:
    """True/False when both checksums are known and of one algorithm; None otherwise.

    A SHA-256 and an MD5 of the same bytes differ, so only like is compared with like.
    """
    a, b = src.checksum, dst.checksum
    if a is None or b is None:
        return None
    algorithm = checksum_algorithm(a)
    if algorithm == "unknown" or algorithm != checksum_algorithm(b):
        return None
    return a == b


def _compare_checksums(src: FileInfo, dst: FileInfo) -> Decision:
    """``--checksum``: sizes already equal; decide on the hashes, asking for missing ones."""
    if missing := _missing_checksums(src, dst):
        return Decision(Action.NEED_CHECKSUM, Reason.CHECKSUM_MISSING, missing)
    same = _same_contents(src, dst)
    if same is None:
        # rclone: no hash in common → fall back to size (the caller warns once).
        return Decision(Action.SKIP, Reason.NO_COMMON_HASH)
    if same:
        return Decision(Action.SKIP, Reason.CHECKSUM_MATCH)
    return Decision(Action.CHANGED, Reason.CHECKSUM_DIFFERS)


def _compare_mtimes(src: FileInfo, dst: FileInfo, window: int) -> Decision:
    """Default mode: sizes already equal; equal mtimes, or known equal hashes, mean equal.

    An upload that costs one request leaves the object with the server's modify time (the time
    it was written), not the local mtime: setting that would cost a second request and, on
    iRODS 5, as much server work as a third of the upload. So a destination whose modify time
    is later than the local file's last change (``changed``: mtime or ctime, the ctime being
    something nobody can set back) by more than the window also counts as equal: nothing
    changed locally since it was written. The window absorbs clock skew between client and
    server; the upload sets the mtime itself for a file that changed so recently that this
    would not hold (``file_transfer``).

    Checksums are used only when both are already known: hashing here would make the default
    mode as slow as ``--checksum``.
    """
    if abs(src.mtime - dst.mtime) <= window:
        return Decision(Action.SKIP, Reason.MTIME_MATCH)
    if src.changed is not None and dst.mtime - src.changed > window:
        return Decision(Action.SKIP, Reason.WRITTEN_AFTER_CHANGE)
    if _same_contents(src, dst):
        return Decision(Action.SKIP, Reason.MTIME_DIFFERS_CHECKSUM_MATCH)
    return Decision(Action.CHANGED, Reason.MTIME_DIFFERS)


def decide(src: FileInfo | None, dst: FileInfo | None, rules: SkipRules) -> Decision:
    """Decide for one source/destination pair, in rclone's order (first match wins).

    1. no destination → NEW; no source → DELETE with ``rules.delete``, else SKIP
    2. ``ignore_existing`` → SKIP
    3. ``force`` → CHANGED
    4. ``update`` and the destination newer by more than the window → SKIP
    5. sizes differ → CHANGED
    6. ``size_only`` → SKIP
    7. ``checksum`` → compare checksums (NEED_CHECKSUM when one is missing)
    8. mtimes within the window → SKIP; destination written after the source's last change
       (more than the window later) → SKIP; else equal known checksums → SKIP (fix mtime);
       else CHANGED
    """
    if src is None and dst is None:
        raise ValueError("decide() needs at least one side")
    if dst is None:
        return Decision(Action.NEW, Reason.MISSING_ON_DESTINATION)
    if src is None:
        return Decision(Action.DELETE if rules.delete else Action.SKIP,
                        Reason.ONLY_ON_DESTINATION)
    if rules.ignore_existing:
        return Decision(Action.SKIP, Reason.IGNORE_EXISTING)
    if rules.force:
        return Decision(Action.CHANGED, Reason.FORCED)
    if rules.update and dst.mtime - src.mtime > rules.modify_window:
        return Decision(Action.SKIP, Reason.DESTINATION_NEWER)
    if src.size != dst.size:
        return Decision(Action.CHANGED, Reason.SIZE_DIFFERS)
    if rules.size_only:
        return Decision(Action.SKIP, Reason.SIZE_MATCH)
    if rules.checksum:
        return _compare_checksums(src, dst)
    return _compare_mtimes(src, dst, rules.modify_window)
