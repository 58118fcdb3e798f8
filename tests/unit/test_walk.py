"""Local walk: catalog order, streaming, errors as items, symlink loops."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from mango_transfer.errors import LocalNotFound, PermissionDenied
from mango_transfer.fileinfo import DirInfo, FileInfo, Skipped, WalkError, WalkItem
from mango_transfer.localfs.walk import iter_tree, produce, walk


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def paths(items: list[WalkItem]) -> list[str]:
    return [f"{type(i).__name__}:{i.path}" for i in items]


def test_catalog_order_and_infos(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "b.txt": b"bb", "a/x": b"", "a.b/y": b"1", "a/b/z": b"22", "q_a": b"", "qXc": b"",
        "ü/ä.txt": b"", "a b/s": b"",
    })
    (tmp_path / "empty").mkdir()
    os.utime(tmp_path / "b.txt", ns=(0, 1_700_000_000_900_000_000))
    items = list(iter_tree(tmp_path))
    # Order of GenQuery ORDER BY COLL_NAME, DATA_NAME under C collation.
    assert paths(items) == [
        "FileInfo:b.txt", "FileInfo:qXc", "FileInfo:q_a",
        "DirInfo:a", "FileInfo:a/x",
        "DirInfo:a b", "FileInfo:a b/s",
        "DirInfo:a.b", "FileInfo:a.b/y",
        "DirInfo:a/b", "FileInfo:a/b/z",
        "DirInfo:empty",
        "DirInfo:ü", "FileInfo:ü/ä.txt",
    ]
    ctime = (tmp_path / "b.txt").stat().st_ctime_ns // 1_000_000_000
    # An mtime set back (as a restore does) leaves the ctime, the time it really changed.
    assert FileInfo("b.txt", 2, 1_700_000_000, changed=ctime) in items
    assert ctime > 1_700_000_000


def test_order_is_sorted_by_collection_then_name(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"d{i % 7}/s{i % 3}/f{i}": b"" for i in range(60)})
    files = [i.path for i in iter_tree(tmp_path) if isinstance(i, FileInfo)]
    keys = [tuple(p.rpartition("/")[::2]) for p in files]
    assert keys == sorted(keys)
    assert len(files) == 60


def test_root_file_and_missing_root(tmp_path: Path) -> None:
    (tmp_path / "one.bin").write_bytes(b"123")
    [item] = list(iter_tree(tmp_path / "one.bin"))
    assert isinstance(item, FileInfo) and (item.path, item.size) == ("one.bin", 3)
    with pytest.raises(LocalNotFound) as info:
        list(iter_tree(tmp_path / "nope"))
    assert "nope" in info.value.user_message()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")
def test_symlink_loop_and_broken_link(tmp_path: Path) -> None:
    make_tree(tmp_path, {"d/f": b"x"})
    (tmp_path / "d" / "loop").symlink_to(tmp_path)
    (tmp_path / "broken").symlink_to(tmp_path / "missing")
    items = list(iter_tree(tmp_path))
    errors = {i.path: i.error for i in items if isinstance(i, WalkError)}
    assert set(errors) == {"broken", "d/loop"}
    assert isinstance(errors["broken"], LocalNotFound)
    assert [i.path for i in items if isinstance(i, FileInfo)] == ["d/f"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")
def test_symlinks_skipped_followed_or_stored_as_rclone_does(tmp_path: Path) -> None:
    make_tree(tmp_path, {"real/a.txt": b"hi"})
    (tmp_path / "dirlink").symlink_to("real")
    (tmp_path / "filelink").symlink_to("real/a.txt")
    (tmp_path / "broken").symlink_to("nowhere")
    (tmp_path / "real" / "up").symlink_to("..")

    skipped = {i.path: i.reason for i in iter_tree(tmp_path, links="skip")
               if isinstance(i, Skipped)}
    assert set(skipped) == {"broken", "dirlink", "filelink", "real/up"}
    assert skipped["broken"].startswith("broken symbolic link: its target 'nowhere' does not")
    assert skipped["dirlink"].startswith("symbolic link to a folder (real), not followed")
    assert skipped["filelink"].startswith("symbolic link to a file (real/a.txt), not followed")

    followed = list(iter_tree(tmp_path, links="follow"))
    files = [i.path for i in followed if isinstance(i, FileInfo)]
    assert files == ["filelink", "dirlink/a.txt", "real/a.txt"]  # an alias is walked twice
    errors = {i.path: i.error.user_message() for i in followed if isinstance(i, WalkError)}
    assert set(errors) == {"broken", "dirlink/up", "real/up"}
    assert "symbolic link loop" in errors["real/up"] and "broken symbolic link" in errors["broken"]

    stored = {i.path: i.link_target for i in iter_tree(tmp_path, links="store")
              if isinstance(i, FileInfo)}
    assert stored == {"broken.rclonelink": "nowhere", "dirlink.rclonelink": "real",
                      "filelink.rclonelink": "real/a.txt", "real/a.txt": None,
                      "real/up.rclonelink": ".."}
    with pytest.raises(ValueError):
        list(iter_tree(tmp_path, links="sometimes"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")
def test_symlinks_not_followed(tmp_path: Path) -> None:
    make_tree(tmp_path, {"d/f": b"x"})
    (tmp_path / "link").symlink_to(tmp_path / "d")
    items = list(iter_tree(tmp_path, follow_symlinks=False))
    assert paths(items) == ["DirInfo:d", "FileInfo:d/f"]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root reads everything; POSIX permissions")
def test_unreadable_folder_is_an_item(tmp_path: Path) -> None:
    make_tree(tmp_path, {"locked/f": b"", "ok/g": b""})
    (tmp_path / "locked").chmod(0)
    try:
        items = list(iter_tree(tmp_path))
    finally:
        (tmp_path / "locked").chmod(0o755)
    [error] = [i for i in items if isinstance(i, WalkError)]
    assert error.path == "locked" and isinstance(error.error, PermissionDenied)
    assert "FileInfo:ok/g" in paths(items)


@pytest.mark.skipif(sys.platform != "linux", reason="needs non-UTF-8 file names")
def test_non_utf8_name_is_an_item(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"bad\xff")).write_bytes(b"")
    [item] = list(iter_tree(tmp_path))
    assert isinstance(item, WalkError) and "UTF-8" in item.error.user_message()


def test_iter_tree_is_lazy(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"d{i}/f": b"" for i in range(5)})
    items = iter_tree(tmp_path)
    assert next(items) == DirInfo("d0")  # nothing else needed to produce the first item


@pytest.mark.anyio
async def test_async_walk_matches_sync(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"d{i % 4}/f{i}": b"x" * i for i in range(50)})
    limiter = anyio.CapacityLimiter(2)
    streamed = [item async for item in walk(tmp_path, batch=7, limiter=limiter)]
    assert streamed == list(iter_tree(tmp_path))


@pytest.mark.anyio
async def test_produce_applies_backpressure_and_closes(tmp_path: Path) -> None:
    make_tree(tmp_path, {f"f{i:03}": b"" for i in range(100)})
    send, receive = anyio.create_memory_object_stream[WalkItem](4)
    received: list[WalkItem] = []
    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(produce, tmp_path, send)
        await anyio.wait_all_tasks_blocked()
        # The walker is parked on a full buffer, not racing ahead.
        assert receive.statistics().current_buffer_used == 4
        async for item in receive:  # ends because produce closed its end
            received.append(item)
    assert [i.path for i in received] == [f"f{i:03}" for i in range(100)]


def test_unlistable_folder_is_an_item_simulated(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Same as above, for runs as root: the listing itself fails."""
    import mango_transfer.localfs.walk as walk_module

    make_tree(tmp_path, {"locked/f": b"", "ok/g": b""})
    real = walk_module._list_names

    def deny(folder: str) -> list[str]:
        if os.path.basename(folder) == "locked":
            raise PermissionError(13, "Permission denied", str(folder))
        return real(folder)

    monkeypatch.setattr(walk_module, "_list_names", deny)
    items = list(iter_tree(tmp_path))
    assert paths(items) == ["DirInfo:locked", "WalkError:locked", "DirInfo:ok", "FileInfo:ok/g"]
