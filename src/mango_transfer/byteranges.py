"""Byte ranges of one file, and the resume state made of them, for both directions.

A large file moves in ranges ``[start, end)`` over several connections. What is already safe
(acknowledged by the server for an upload, flushed to the local disk for a download) is kept
as a :class:`ResumeState`: the identity of what is being moved (:class:`RemoteIdentity`:
path, size, mtime, checksum) and its finished ranges, merged. A later attempt resumes only
when the identity still matches, and moves only :meth:`ResumeState.missing`.

Pure values: where a state is stored is the business of ``localfs/partial.py`` (a download's
state file beside it) and ``engine/resume.py`` (an upload's, in the state folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

__all__ = ["Range", "RemoteIdentity", "ResumeState", "merge_ranges"]

Range = tuple[int, int]  # [start, end): end exclusive
_STATE_VERSION = 1


def merge_ranges(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sort and coalesce overlapping or touching ranges."""
    merged: list[Range] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class RemoteIdentity:
    """What must not have changed on the server for the saved bytes to still be valid."""

    path: str
    size: int
    mtime: int
    checksum: str | None = None


@dataclass(frozen=True)
class ResumeState:
    """The remote identity and the byte ranges of it already safely on local disk."""

    identity: RemoteIdentity
    ranges: tuple[Range, ...] = ()

    def with_range(self, start: int, end: int) -> ResumeState:
        return replace(self, ranges=merge_ranges((*self.ranges, (start, end))))

    @property
    def done_bytes(self) -> int:
        return sum(end - start for start, end in self.ranges)

    def missing(self) -> tuple[Range, ...]:
        """The ranges still to download, in order."""
        gaps: list[Range] = []
        position = 0
        for start, end in self.ranges:
            if start > position:
                gaps.append((position, start))
            position = max(position, end)
        if position < self.identity.size:
            gaps.append((position, self.identity.size))
        return tuple(gaps)

    @property
    def complete(self) -> bool:
        return not self.missing()

    def to_json(self) -> str:
        return json.dumps({"version": _STATE_VERSION, "remote": asdict(self.identity),
                           "ranges": [list(r) for r in self.ranges]})

    @classmethod
    def from_json(cls, text: str) -> ResumeState | None:
        """Parse a state file; None for anything unexpected (then the download starts over)."""
        try:
            data = json.loads(text)
            if data.get("version") != _STATE_VERSION:
                return None
            identity = RemoteIdentity(**data["remote"])
            ranges = merge_ranges((int(s), int(e)) for s, e in data["ranges"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return cls(identity, ranges)
