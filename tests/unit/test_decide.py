"""Table-driven tests of the pure skip decision (rclone's order), no server."""

from __future__ import annotations

import pytest

from mango_transfer.engine.decide import (
    Action,
    Decision,
    FileInfo,
    Reason,
    Side,
    SkipRules,
    decide,
)
from mango_transfer.localfs.hashing import irods_sha256

A = irods_sha256(b"a")
B = irods_sha256(b"b")
MD5 = "0cc175b9c0f1b6a831c399e269772661"


def f(size: int = 10, mtime: int = 1000, checksum: str | None = None) -> FileInfo:
    return FileInfo("x.txt", size, mtime, checksum)


CASES = [
    # id, src, dst, rules, action, reason
    ("new", f(), None, SkipRules(), Action.NEW, Reason.MISSING_ON_DESTINATION),
    ("new-even-ignore-existing", f(), None, SkipRules(ignore_existing=True), Action.NEW,
     Reason.MISSING_ON_DESTINATION),
    ("dst-only", None, f(), SkipRules(), Action.SKIP, Reason.ONLY_ON_DESTINATION),
    ("dst-only-delete", None, f(), SkipRules(delete=True), Action.DELETE,
     Reason.ONLY_ON_DESTINATION),
    ("same", f(), f(), SkipRules(), Action.SKIP, Reason.MTIME_MATCH),
    ("mtime-in-window", f(mtime=1000), f(mtime=1001), SkipRules(), Action.SKIP,
     Reason.MTIME_MATCH),
    ("mtime-out-of-window", f(mtime=1000), f(mtime=1002), SkipRules(), Action.CHANGED,
     Reason.MTIME_DIFFERS),
    ("window-zero", f(mtime=1000), f(mtime=1001), SkipRules(modify_window=0), Action.CHANGED,
     Reason.MTIME_DIFFERS),
    ("wide-window", f(mtime=1000), f(mtime=1005), SkipRules(modify_window=5), Action.SKIP,
     Reason.MTIME_MATCH),
    ("size-differs", f(size=1), f(size=2), SkipRules(), Action.CHANGED, Reason.SIZE_DIFFERS),
    ("mtime-differs-known-equal-hash", f(mtime=1, checksum=A), f(mtime=9, checksum=A),
     SkipRules(), Action.SKIP, Reason.MTIME_DIFFERS_CHECKSUM_MATCH),
    ("mtime-differs-hash-differs", f(mtime=1, checksum=A), f(mtime=9, checksum=B), SkipRules(),
     Action.CHANGED, Reason.MTIME_DIFFERS),
    ("mtime-differs-one-hash", f(mtime=1), f(mtime=9, checksum=A), SkipRules(), Action.CHANGED,
     Reason.MTIME_DIFFERS),
    ("mtime-differs-md5-vs-sha", f(mtime=1, checksum=A), f(mtime=9, checksum=MD5), SkipRules(),
     Action.CHANGED, Reason.MTIME_DIFFERS),
    ("ignore-existing", f(size=1), f(size=2), SkipRules(ignore_existing=True), Action.SKIP,
     Reason.IGNORE_EXISTING),
    ("ignore-existing-beats-force", f(), f(), SkipRules(ignore_existing=True, force=True),
     Action.SKIP, Reason.IGNORE_EXISTING),
    ("force", f(), f(), SkipRules(force=True), Action.CHANGED, Reason.FORCED),
    ("force-beats-update", f(mtime=1), f(mtime=100), SkipRules(force=True, update=True),
     Action.CHANGED, Reason.FORCED),
    ("update-dst-newer", f(size=1, mtime=1000), f(size=2, mtime=1002), SkipRules(update=True),
     Action.SKIP, Reason.DESTINATION_NEWER),
    ("update-dst-newer-within-window", f(size=1, mtime=1000), f(size=2, mtime=1001),
     SkipRules(update=True), Action.CHANGED, Reason.SIZE_DIFFERS),
    ("update-src-newer", f(mtime=1002), f(mtime=1000), SkipRules(update=True), Action.CHANGED,
     Reason.MTIME_DIFFERS),
    ("size-only-equal", f(mtime=1), f(mtime=999), SkipRules(size_only=True), Action.SKIP,
     Reason.SIZE_MATCH),
    ("size-only-differs", f(size=1), f(size=2), SkipRules(size_only=True), Action.CHANGED,
     Reason.SIZE_DIFFERS),
    ("size-only-beats-checksum", f(checksum=A), f(checksum=B),
     SkipRules(size_only=True, checksum=True), Action.SKIP, Reason.SIZE_MATCH),
    ("checksum-match-mtime-differs", f(mtime=1, checksum=A), f(mtime=9, checksum=A),
     SkipRules(checksum=True), Action.SKIP, Reason.CHECKSUM_MATCH),
    ("checksum-catches-same-size-same-mtime", f(checksum=A), f(checksum=B),
     SkipRules(checksum=True), Action.CHANGED, Reason.CHECKSUM_DIFFERS),
    ("checksum-size-first", f(size=1), f(size=2), SkipRules(checksum=True), Action.CHANGED,
     Reason.SIZE_DIFFERS),
    ("checksum-no-common-hash", f(checksum=A), f(checksum=MD5), SkipRules(checksum=True),
     Action.SKIP, Reason.NO_COMMON_HASH),
    ("checksum-unknown-format", f(checksum="weird"), f(checksum="weird"),
     SkipRules(checksum=True), Action.SKIP, Reason.NO_COMMON_HASH),
]


@pytest.mark.parametrize(
    ("src", "dst", "rules", "action", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decide(
    src: FileInfo | None, dst: FileInfo | None, rules: SkipRules, action: Action, reason: Reason
) -> None:
    decision = decide(src, dst, rules)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.need == frozenset()


@pytest.mark.parametrize(
    ("src_sum", "dst_sum", "need"),
    [
        pytest.param(None, A, {Side.SRC}, id="src-missing"),
        pytest.param(A, None, {Side.DST}, id="dst-missing"),
        pytest.param(None, None, {Side.SRC, Side.DST}, id="both-missing"),
    ],
)
def test_checksum_mode_asks_for_missing_checksums(
    src_sum: str | None, dst_sum: str | None, need: set[Side]
) -> None:
    decision = decide(f(checksum=src_sum), f(checksum=dst_sum), SkipRules(checksum=True))
    assert decision == Decision(Action.NEED_CHECKSUM, Reason.CHECKSUM_MISSING, frozenset(need))
    assert not decision.transfers


def test_checksum_round_trip_after_filling_in() -> None:
    rules = SkipRules(checksum=True)
    first = decide(f(), f(checksum=A), rules)
    assert first.action is Action.NEED_CHECKSUM
    assert decide(f(checksum=A), f(checksum=A), rules).action is Action.SKIP


def test_both_missing_is_a_bug() -> None:
    with pytest.raises(ValueError):
        decide(None, None, SkipRules())


def test_decision_properties() -> None:
    assert Decision(Action.NEW, Reason.MISSING_ON_DESTINATION).transfers
    assert Decision(Action.CHANGED, Reason.FORCED).transfers
    assert not Decision(Action.SKIP, Reason.MTIME_MATCH).transfers
    assert Decision(Action.SKIP, Reason.MTIME_DIFFERS_CHECKSUM_MATCH).fix_mtime
    assert not Decision(Action.SKIP, Reason.CHECKSUM_MATCH).fix_mtime
