"""Watch mode: settle tracking (pure, fake clock) and real files watched with watchfiles."""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from mango_transfer.ingest.filters import Filters
from mango_transfer.ingest.watch import (
    SettleTracker,
    Signature,
    WatchedFolderGone,
    WatchEvents,
    _Watch,
    ready_batches,
    scan,
)

A, B = Signature(1, 100), Signature(2, 200)


def test_ready_only_after_settle_unchanged() -> None:
    tracker = SettleTracker(settle=3)
    tracker.observe("f", A, now=0)
    tracker.observe("f", B, now=2)  # still growing: the clock restarts
    assert tracker.ready(now=4.9) == []
    tracker.observe("f", B, now=4.9)  # same signature: clock keeps running
    assert tracker.ready(now=5) == ["f"]
    assert tracker.ready(now=100) == []  # handed out once


def test_changed_after_handout_is_ready_again_and_unchanged_is_not() -> None:
    tracker = SettleTracker(settle=1)
    tracker.observe("f", A, now=0)
    assert tracker.ready(now=1) == ["f"]
    tracker.observe("f", A, now=2)  # a rescan sees it unchanged
    assert tracker.ready(now=9) == []
    tracker.observe("f", B, now=10)
    assert tracker.ready(now=11) == ["f"]


def test_baseline_and_forget() -> None:
    tracker = SettleTracker(settle=1)
    tracker.baseline("old", A)
    tracker.observe("old", A, now=0)
    tracker.observe("gone", A, now=0)
    tracker.forget("gone")
    assert tracker.ready(now=5) == []
    assert tracker.tracked() == {"old"}


def write(path: Path, data: bytes, mode: str = "wb") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as handle:
        handle.write(data)


def test_scan_filters_and_recursion(tmp_path: Path) -> None:
    for name in ("a.csv", "b.tmp", "sub/c.csv", "skip/d.csv"):
        write(tmp_path / name, b"x")
    filters = Filters.build(ignore_glob=["*.tmp", "skip"])
    assert set(scan(tmp_path, True, filters)) == {"a.csv", "sub/c.csv"}
    assert set(scan(tmp_path, False, filters)) == {"a.csv"}


def test_rescan_catches_a_file_no_event_reported(tmp_path: Path) -> None:
    watch = _Watch(tmp_path, recursive=True, filters=Filters(), settle=1)
    write(tmp_path / "net" / "x.bin", b"data")
    watch.apply_rescan(scan(tmp_path, True, Filters()), now=0)
    watch.apply(watch.probe(watch.tracker.pending.keys()), now=1)
    assert watch.tracker.ready(now=1) == ["net/x.bin"]
    (tmp_path / "net" / "x.bin").unlink()
    watch.apply_rescan(scan(tmp_path, True, Filters()), now=2)
    assert watch.tracker.tracked() == set()


# Real watching: short windows keep the tests quick.
SETTLE = 0.5
FAST: dict[str, Any] = {"settle": SETTLE, "batch_interval": 0.2, "rescan_interval": 30}


@dataclass
class Seen:
    batches: list[tuple[float, list[str]]] = field(default_factory=list)
    sizes: dict[str, list[int]] = field(default_factory=dict)
    error: Exception | None = None

    def count(self, path: str) -> int:
        return sum(batch.count(path) for _, batch in self.batches)


async def watch_while(root: Path, action: Callable[[], Awaitable[None]], *, linger: float,
                      **options: Any) -> Seen:
    """Watch ``root`` while ``action`` runs, then ``linger`` seconds more; record every batch
    and each yielded file's size at that moment."""
    seen = Seen()
    options = {"recursive": True, **FAST, **options}
    done = anyio.Event()

    async def consume() -> None:
        try:
            async with aclosing(ready_batches(root, **options)) as batches:
                async for batch in batches:
                    seen.batches.append((anyio.current_time(), batch))
                    for path in batch:
                        size = (await anyio.Path(root / path).stat()).st_size
                        seen.sizes.setdefault(path, []).append(size)
        except WatchedFolderGone as exc:
            seen.error = exc
        finally:
            done.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await anyio.sleep(0.3)  # baseline taken, watcher running
            await action()
            with anyio.move_on_after(linger):
                await done.wait()  # an error ends the watch early
            group.cancel_scope.cancel()
    return seen


async def in_thread(function: Callable[..., object], *args: object) -> None:
    await anyio.to_thread.run_sync(function, *args)


@pytest.mark.anyio
async def test_slow_writer_is_yielded_once_complete_after_settling(tmp_path: Path) -> None:
    target = tmp_path / "rec" / "eeg.bin"
    finished = 0.0

    async def slow_write() -> None:
        nonlocal finished
        await in_thread(write, target, b"")
        for _ in range(12):  # 1.8 s of writing, never pausing as long as SETTLE
            await anyio.sleep(0.15)
            await in_thread(write, target, b"x" * 1000, "ab")
        finished = anyio.current_time()

    seen = await watch_while(tmp_path, slow_write, linger=SETTLE + 1.5)
    assert seen.count("rec/eeg.bin") == 1
    assert seen.sizes["rec/eeg.bin"] == [12_000]
    assert seen.batches[0][0] >= finished + SETTLE - 0.05


@pytest.mark.anyio
async def test_modified_file_is_yielded_again(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"

    async def create_then_modify() -> None:
        await in_thread(write, target, b"1")
        await anyio.sleep(SETTLE + 0.8)
        await in_thread(write, target, b"2", "ab")

    seen = await watch_while(tmp_path, create_then_modify, linger=SETTLE + 0.8)
    assert seen.sizes["a.csv"] == [1, 2]


@pytest.mark.anyio
async def test_deleting_yields_nothing(tmp_path: Path) -> None:
    early, late = tmp_path / "early.bin", tmp_path / "late.bin"

    async def create_and_delete() -> None:
        await in_thread(write, early, b"x")
        await in_thread(write, late, b"x")
        await anyio.sleep(0.1)
        await in_thread(early.unlink)  # gone before it settled: never yielded
        await anyio.sleep(SETTLE + 0.6)
        await in_thread(late.unlink)  # yielded once; its deletion yields nothing

    seen = await watch_while(tmp_path, create_and_delete, linger=SETTLE + 0.6)
    assert [batch for _, batch in seen.batches] == [["late.bin"]]


@pytest.mark.anyio
async def test_baseline_filters_and_non_recursive(tmp_path: Path) -> None:
    write(tmp_path / "existing.csv", b"old")

    async def create() -> None:
        for name in ("new.csv", "new.tmp", "sub/deep.csv"):
            await in_thread(write, tmp_path / name, b"x")

    seen = await watch_while(tmp_path, create, linger=SETTLE + 0.8, recursive=False,
                             filters=Filters.build(ignore_glob=["*.tmp"]))
    assert [batch for _, batch in seen.batches] == [["new.csv"]]


@pytest.mark.anyio
async def test_include_existing_and_a_burst_is_one_batch(tmp_path: Path) -> None:
    write(tmp_path / "existing.csv", b"old")

    async def burst() -> None:
        for index in range(50):
            await in_thread(write, tmp_path / "burst" / f"f{index:02d}.bin", b"x")

    seen = await watch_while(tmp_path, burst, linger=SETTLE + 1.0, include_existing=True,
                             batch_interval=1.0)
    everything = sorted(path for _, batch in seen.batches for path in batch)
    assert everything == sorted(["existing.csv", *(f"burst/f{i:02d}.bin" for i in range(50))])
    assert len(seen.batches) <= 2  # existing first (maybe), the burst together


@pytest.mark.anyio
async def test_vanished_folder_is_waited_for_and_watched_again(tmp_path: Path) -> None:
    """A USB disk unplugged and plugged in again: nothing raised, what is new or changed when
    it is back is yielded, what is unchanged is not, and the events say gone and back."""
    root, away = tmp_path / "watched", tmp_path / "unplugged"
    write(root / "same.bin", b"same")
    write(root / "changed.bin", b"v1")
    said: list[str] = []
    events = WatchEvents(folder_gone=lambda: said.append("gone"),
                         folder_back=lambda: said.append("back"))

    async def unplug_and_replug() -> None:
        await in_thread(os.rename, root, away)
        await anyio.sleep(1.2)
        write(away / "changed.bin", b"v2 longer")
        write(away / "new" / "later.bin", b"new")
        await in_thread(os.rename, away, root)

    seen = await watch_while(root, unplug_and_replug, linger=SETTLE + 3.5, events=events)
    assert seen.error is None
    assert said == ["gone", "back"]
    assert sorted(p for _, batch in seen.batches for p in batch) == ["changed.bin",
                                                                     "new/later.bin"]

    async def replace_folder() -> None:  # a new folder (a new inode): events come again
        await in_thread(shutil.rmtree, root)
        await anyio.sleep(0.6)
        write(root / "fresh.bin", b"x")

    seen = await watch_while(root, replace_folder, linger=SETTLE + 2.5)
    assert [batch for _, batch in seen.batches] == [["fresh.bin"]]


@pytest.mark.anyio
async def test_seen_and_forgotten_report_pending_files(tmp_path: Path) -> None:
    seen_paths: list[str] = []
    forgotten: list[str] = []
    events = WatchEvents(seen=lambda path, signature: seen_paths.append(path),
                         forgotten=forgotten.append)

    async def create() -> None:
        await in_thread(write, tmp_path / "kept.bin", b"x")
        await in_thread(write, tmp_path / "brief.bin", b"x")
        await anyio.sleep(0.2)
        await in_thread((tmp_path / "brief.bin").unlink)

    seen = await watch_while(tmp_path, create, linger=SETTLE + 0.8, events=events)
    assert [batch for _, batch in seen.batches] == [["kept.bin"]]
    assert sorted(seen_paths) == ["brief.bin", "kept.bin"] and forgotten == ["brief.bin"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["missing", "file"])
async def test_missing_root_at_start(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "nope"
    if kind == "file":
        write(root, b"")
    with pytest.raises(WatchedFolderGone, match="does not exist or is not a folder"):
        async with aclosing(ready_batches(root, recursive=True, **FAST)) as batches:
            async for _ in batches:
                pass


def test_event_paths_outside_root_are_ignored(tmp_path: Path) -> None:
    from watchfiles import Change

    watch = _Watch(tmp_path / "data", recursive=True, filters=Filters(), settle=1)
    watch.on_changes({(Change.added, os.fspath(tmp_path / "database" / "x")),
                      (Change.added, os.fspath(tmp_path / "data" / "y" / "z"))})
    assert watch.dirty == {"y/z"}


def test_waiting_batch_drops_deleted_and_changed_again(tmp_path: Path) -> None:
    watch = _Watch(tmp_path, recursive=True, filters=Filters(), settle=1)
    for path in ("kept", "deleted", "changed"):
        watch.tracker.observe(path, A, now=0)
    batch = set(watch.tracker.ready(now=1))
    watch.tracker.forget("deleted")
    watch.tracker.observe("changed", B, now=1.5)
    assert watch.still_ready(batch) == {"kept"}
