"""Atomic, resumable download files."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mango_transfer.byteranges import RemoteIdentity, ResumeState, merge_ranges
from mango_transfer.errors import VerificationFailed
from mango_transfer.localfs.partial import PartialDownload, partial_path, state_path

DATA = bytes(range(256)) * 40  # 10240 bytes
IDENTITY = RemoteIdentity("/z/home/u/c/f.bin", len(DATA), 1_700_000_000, None)


def write_range(download: PartialDownload, start: int, end: int) -> None:
    with download.open_writer() as writer:
        writer.seek(start)
        writer.write(DATA[start:end])
        download.record(writer, start, end)


def test_names_are_hidden_and_in_the_same_folder(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    assert partial_path(final).parent == tmp_path
    assert partial_path(final).name.startswith(".f.bin.")
    assert partial_path(final).name.endswith(".mtpartial")
    assert state_path(final).name.endswith(".mtstate")


def test_long_names_fit_and_stay_distinct(tmp_path: Path) -> None:
    a, b = tmp_path / ("é" * 127 + "a"), tmp_path / ("é" * 127 + "b")
    assert len(partial_path(a).name.encode()) <= 255
    assert partial_path(a) != partial_path(b)


def test_merge_ranges() -> None:
    assert merge_ranges([(5, 10), (0, 5), (20, 30), (25, 26), (3, 3)]) == ((0, 10), (20, 30))


def test_missing_ranges() -> None:
    state = ResumeState(RemoteIdentity("/p", 100, 0)).with_range(10, 20).with_range(50, 100)
    assert state.missing() == ((0, 10), (20, 50))
    assert state.done_bytes == 60
    assert not state.complete


def test_download_in_ranges_then_finish(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    download = PartialDownload.open(final, IDENTITY)
    write_range(download, 4096, len(DATA))
    assert not final.exists()  # never a partial file under the final name
    write_range(download, 0, 4096)
    assert download.finish(mtime=IDENTITY.mtime) == final
    assert final.read_bytes() == DATA
    assert final.stat().st_mtime == IDENTITY.mtime
    assert not partial_path(final).exists() and not state_path(final).exists()


def test_resume_after_interruption(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    write_range(PartialDownload.open(final, IDENTITY), 0, 3000)  # then the process "dies"
    resumed = PartialDownload.open(final, IDENTITY)
    assert resumed.state.missing() == ((3000, len(DATA)),)
    write_range(resumed, 3000, len(DATA))
    resumed.finish()
    assert final.read_bytes() == DATA


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_state_file_is_private(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    PartialDownload.open(final, IDENTITY)
    assert stat.S_IMODE(os.stat(state_path(final)).st_mode) == 0o600


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"size": len(DATA) + 1}, id="size"),
        pytest.param({"mtime": 1}, id="mtime"),
        pytest.param({"checksum": "sha2:x"}, id="checksum"),
    ],
)
def test_changed_remote_starts_over(tmp_path: Path, change: dict[str, Any]) -> None:
    final = tmp_path / "f.bin"
    write_range(PartialDownload.open(final, IDENTITY), 0, 3000)
    changed = replace(IDENTITY, **change)
    fresh = PartialDownload.open(final, changed)
    assert fresh.state.ranges == ()
    assert partial_path(final).stat().st_size == 0


@pytest.mark.parametrize("garbage", ["", "{", '{"version": 99}', '{"version": 1, "remote": 3}'])
def test_corrupt_state_starts_over(tmp_path: Path, garbage: str) -> None:
    final = tmp_path / "f.bin"
    write_range(PartialDownload.open(final, IDENTITY), 0, 3000)
    state_path(final).write_text(garbage)
    assert PartialDownload.open(final, IDENTITY).state.ranges == ()


def test_truncated_partial_is_not_trusted(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    write_range(PartialDownload.open(final, IDENTITY), 0, 3000)
    os.truncate(partial_path(final), 1000)
    assert PartialDownload.open(final, IDENTITY).state.ranges == ()


def test_finish_refuses_incomplete_and_wrong_size(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    download = PartialDownload.open(final, IDENTITY)
    with pytest.raises(ValueError):
        download.finish()
    write_range(download, 0, len(DATA))
    with open(partial_path(final), "ab") as extra:
        extra.write(b"!")
    with pytest.raises(VerificationFailed):
        download.finish()
    assert not final.exists()


def test_discard(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    download = PartialDownload.open(final, IDENTITY)
    download.discard()
    assert list(tmp_path.iterdir()) == []


def test_empty_file(tmp_path: Path) -> None:
    final = tmp_path / "empty"
    PartialDownload.open(final, RemoteIdentity("/p", 0, 5)).finish(mtime=5)
    assert final.read_bytes() == b""
