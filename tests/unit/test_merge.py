"""Table tests of the merge of the source walk and the destination listing (no server).

The merge decides which files exist on one side only, so it guards ``--delete``: a file on
both sides must pair up, and a listing out of catalog order must stop the run before one of
its entries is taken for a file missing from the other side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import anyio
import pytest

from mango_transfer.engine.merge import Item, catalog_key, merge
from mango_transfer.errors import LocalNotFound, TransferFailed
from mango_transfer.fileinfo import DirInfo, FileInfo, ListedFile, Skipped, WalkError, WalkItem

NOT_THERE = LocalNotFound("gone")


def src(path: str) -> FileInfo:
    return FileInfo(path, 1, 10)


def dst(path: str, good: bool = True) -> ListedFile:
    return ListedFile(FileInfo(path, 2, 20), good)


async def _stream(entries: Sequence[object]) -> AsyncIterator[object]:
    for entry in entries:
        await anyio.lowlevel.checkpoint()
        yield entry


def _shape(entry: Item | DirInfo) -> tuple[object, ...]:
    """An outcome as ``("dir", path)`` or ``(path, on source, on destination, complete)``."""
    if isinstance(entry, DirInfo):
        return ("dir", entry.path)
    if entry.error is not None:
        return (entry.path, "error")
    if entry.skip is not None:
        return (entry.path, "skipped")
    return (entry.path, entry.src is not None, entry.dst is not None, entry.dst_complete)


async def _merged(source: Sequence[WalkItem], destination: Sequence[ListedFile],
                  until_error: list[tuple[object, ...]] | None = None) -> list[tuple[object, ...]]:
    seen = until_error if until_error is not None else []
    async for entry in merge(_stream(source), _stream(destination)):  # type: ignore[arg-type]
        seen.append(_shape(entry))
    return seen


CASES = [
    # id, source, destination, outcomes (path, on source, on destination, destination good)
    ("both-empty", [], [], []),
    ("source-only", [src("a"), src("b")], [],
     [("a", True, False, True), ("b", True, False, True)]),
    ("destination-only", [], [dst("a"), dst("b")],
     [("a", False, True, True), ("b", False, True, True)]),
    ("pairs", [src("a"), src("b")], [dst("a"), dst("b")],
     [("a", True, True, True), ("b", True, True, True)]),
    ("interleaved", [src("a"), src("c"), src("e")], [dst("b"), dst("c"), dst("d")],
     [("a", True, False, True), ("b", False, True, True), ("c", True, True, True),
      ("d", False, True, True), ("e", True, False, True)]),
    ("stale-destination", [src("a")], [dst("a", good=False)], [("a", True, True, False)]),
    ("root-files-before-folders",  # ("", "z") sorts before ("a", "x")
     [src("z"), DirInfo("a"), src("a/x")], [dst("z"), dst("a/x")],
     [("z", True, True, True), ("dir", "a"), ("a/x", True, True, True)]),
    ("folder-files-before-subfolders",  # "a/b/x" < "a/z" as text, but it is in folder "a/b"
     [src("a/z"), DirInfo("a/b"), src("a/b/x")], [dst("a/z"), dst("a/b/x")],
     [("a/z", True, True, True), ("dir", "a/b"), ("a/b/x", True, True, True)]),
    ("folders-pass-through", [DirInfo("d"), DirInfo("e")], [dst("d/x")],
     [("dir", "d"), ("dir", "e"), ("d/x", False, True, True)]),
    ("walk-error-in-place", [src("a"), WalkError("b", NOT_THERE), src("c")], [dst("c")],
     [("a", True, False, True), ("b", "error"), ("c", True, True, True)]),
    # What the source could not read or left out says nothing about the destination: an
    # entry of its name, or below it, is never offered as only-on-destination (--delete).
    ("unread-file-keeps-its-copy", [WalkError("b", NOT_THERE), src("c")], [dst("b"), dst("c")],
     [("b", "error"), ("c", True, True, True)]),
    ("unread-folder-keeps-what-is-below",
     [src("a"), src("e"), DirInfo("d"), WalkError("d", NOT_THERE)],  # as the walk yields
     [dst("a"), dst("e"), dst("f"), dst("d/x"), dst("d/sub/y")],
     [("a", True, True, True), ("e", True, True, True), ("dir", "d"), ("d", "error"),
      ("f", False, True, True)]),
    ("skipped-link-keeps-its-copy", [Skipped("l", "a link"), Skipped("m", "a folder link")],
     [dst("l"), dst("mm"), dst("m/x")],
     [("l", "skipped"), ("m", "skipped"), ("mm", False, True, True)]),
    ("bytewise-order", [src("B"), src("a"), src("é")], [dst("B"), dst("a"), dst("é")],
     [("B", True, True, True), ("a", True, True, True), ("é", True, True, True)]),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "destination", "outcomes"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_merge(source: list[WalkItem], destination: list[ListedFile],
                     outcomes: list[tuple[object, ...]]) -> None:
    assert await _merged(source, destination) == outcomes


def test_catalog_key_groups_a_folder() -> None:
    assert catalog_key("a/b/c.txt") == ("a/b", "c.txt")
    assert catalog_key("top.txt") == ("", "top.txt")
    assert sorted(["a/b/x", "a/z", "b"], key=catalog_key) == ["b", "a/z", "a/b/x"]


OUT_OF_ORDER = [
    # id, source, destination, outcomes before the error. The source's order is made, not
    # only checked (the local walk sorts each folder, GenQuery orders by collection and name),
    # so its check reports a bug; a destination entry is checked before it is paired.
    ("destination-swapped", [src("a"), src("b"), src("c")], [dst("a"), dst("c"), dst("b")],
     [("a", True, True, True), ("b", True, False, True), ("c", True, True, True)]),
    ("destination-repeated", [src("a"), src("b")], [dst("a"), dst("a"), dst("b")],
     [("a", True, True, True)]),
    ("destination-folder-order", [src("z"), src("a/x")], [dst("a/x"), dst("z")],
     [("z", True, False, True), ("a/x", True, True, True)]),
    ("source-swapped", [src("b"), src("a")], [], [("b", True, False, True)]),
    ("source-repeated", [src("a"), src("a")], [dst("a")], [("a", True, True, True)]),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "destination", "before"),
                         [case[1:] for case in OUT_OF_ORDER], ids=[case[0] for case in OUT_OF_ORDER])
async def test_a_listing_out_of_order_stops_the_merge(
        source: list[WalkItem], destination: list[ListedFile],
        before: list[tuple[object, ...]]) -> None:
    seen: list[tuple[object, ...]] = []
    with pytest.raises(TransferFailed, match="not in catalog order"):
        await _merged(source, destination, seen)
    assert seen == before
    on_source = {entry.path for entry in source if isinstance(entry, FileInfo)}
    # No file of the source was ever reported as only on the destination (--delete's case).
    assert [o for o in seen if o[0] in on_source and o[1:3] == (False, True)] == []
