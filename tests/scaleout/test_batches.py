"""Batch packing: small files by count and bytes, a large file alone, empty folders kept, and the
same walk always giving the same batches (what lets a restarted coordinator recognise them)."""

from __future__ import annotations

from collections.abc import Iterable

from mango_transfer.fileinfo import FileInfo
from mango_transfer.scaleout.batches import Batch, Batcher, batch_key

Entry = tuple[str, int] | str  # (file, size) or a folder


def _pack(entries: Iterable[Entry], files: int = 3, size: int = 1000, alone: int = 500) -> list[Batch]:
    batcher = Batcher(files, size, alone)
    out: list[Batch] = []
    for entry in entries:
        if isinstance(entry, str):
            out.extend(batcher.add_dir(entry))
        else:
            out.extend(batcher.add_file(FileInfo(entry[0], entry[1], 0)))
    out.extend(batcher.finish())
    return out


def test_small_files_are_packed_by_count() -> None:
    batches = _pack([(f"f{i}", 10) for i in range(7)])
    assert [b.files for b in batches] == [["f0", "f1", "f2"], ["f3", "f4", "f5"], ["f6"]]
    assert [b.size for b in batches] == [30, 30, 10]


def test_small_files_are_packed_by_bytes() -> None:
    batches = _pack([("a", 400), ("b", 400), ("c", 400)], files=10)
    assert [b.files for b in batches] == [["a", "b"], ["c"]]


def test_a_file_at_the_threshold_travels_alone_without_breaking_the_small_batch() -> None:
    batches = _pack([("a", 10), ("big", 500), ("b", 10)])
    assert [b.files for b in batches] == [["big"], ["a", "b"]]


def test_folders_without_files_of_their_own_are_carried_as_dirs() -> None:
    batches = _pack(["d", ("d/x", 1), "d/empty", "e", "e/f", ("e/f/y", 1)], files=10)
    assert len(batches) == 1
    assert batches[0].files == ["d/x", "e/f/y"]
    assert batches[0].dirs == ["d/empty", "e"]


def test_only_empty_folders_still_make_a_batch() -> None:
    batches = _pack(["a", "b"])
    assert [(b.files, b.dirs) for b in batches] == [([], ["a", "b"])]


def test_the_same_walk_gives_the_same_keys_and_another_walk_other_keys() -> None:
    walk: list[Entry] = ["d", *[(f"d/f{i}", 5) for i in range(5)]]
    keys = [batch_key("upload", "/src", "/zone/c", b) for b in _pack(walk)]
    assert keys == [batch_key("upload", "/src", "/zone/c", b) for b in _pack(walk)]
    assert len(set(keys)) == len(keys)
    assert keys[0] != batch_key("download", "/src", "/zone/c", _pack(walk)[0])
    changed = [batch_key("upload", "/src", "/zone/c", b) for b in _pack([*walk, ("d/g", 5)])]
    assert changed[0] == keys[0] and changed[-1] != keys[-1]


def test_a_very_large_file_is_cut_into_parts_over_its_missing_ranges() -> None:
    from mango_transfer.irods.chunks import cut_ranges
    from mango_transfer.scaleout.split import PartSpec

    parts = cut_ranges([(0, 10), (20, 35)], 8)
    assert parts == [[(0, 8)], [(8, 10), (20, 26)], [(26, 34)], [(34, 35)]]
    assert sum(end - start for part in parts for start, end in part) == 25
    spec = PartSpec("run", "attempt", 1, "upload", "/data/f", "/zone/f", 35, parts[1], "tok",
                    "demoResc", 30.0)
    assert PartSpec.from_json(spec.to_json()) == spec
    assert "tok" in spec.to_json().values()  # the replica token, not a credential
