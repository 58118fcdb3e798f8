"""Small files cost the protocol's minimum number of requests, counted on the wire.

Every request the engine sends goes through PRC's ``Connection.send``; the test wraps it and
counts API numbers, so an extra "tell" (674) or a second read at the end shows up at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.connection import Connection

from .conftest import Runner

OPEN, CLOSE, LSEEK, READ, WRITE, TOUCH, MOD_META = 602, 673, 674, 675, 676, 20007, 622
FILES = 12


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[int]]:
    """API numbers of every request sent by this process, from any thread."""
    counts: Counter[int] = Counter()
    lock = threading.Lock()
    original = Connection.send

    def counting_send(self: Connection, message: Any) -> None:
        if message.msg_type in ("RODS_API_REQ", b"RODS_API_REQ"):
            with lock:
                counts[int(message.int_info)] += 1
        original(self, message)

    monkeypatch.setattr(Connection, "send", counting_send)
    yield counts


def _small_tree(root: Path) -> Path:
    for index in range(FILES):
        (root / f"f{index:02d}.json").parent.mkdir(parents=True, exist_ok=True)
        (root / f"f{index:02d}.json").write_bytes(b"x" * (100 + index))
    return root


def test_small_upload_is_open_write_close_mtime(
    tmp_path: Path, remote_dir: str, run_upload: Runner, api_calls: Counter[int],
) -> None:
    src = _small_tree(tmp_path / "src")
    snap = run_upload(src, remote_dir).snapshot()
    assert snap.files_new == FILES
    per_file = {api: api_calls[api] for api in (OPEN, WRITE, CLOSE, TOUCH, MOD_META, LSEEK)}
    assert per_file == {OPEN: FILES, WRITE: FILES, CLOSE: FILES, TOUCH: FILES, MOD_META: 0,
                        LSEEK: 0}


def test_small_download_is_open_read_close(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    src = _small_tree(tmp_path / "src")
    run_upload(src, remote_dir)
    api_calls.clear()
    out = tmp_path / "out"
    snap = run_download(remote_dir, out).snapshot()
    assert snap.files_new == FILES
    per_file = {api: api_calls[api] for api in (OPEN, READ, CLOSE, LSEEK, WRITE)}
    assert per_file == {OPEN: FILES, READ: FILES, CLOSE: FILES, LSEEK: 0, WRITE: 0}
    assert (out / "f03.json").read_bytes() == b"x" * 103


def test_empty_file_download_sends_no_data_request(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty").write_bytes(b"")
    run_upload(src, remote_dir)
    assert (api_calls[OPEN], api_calls[WRITE], api_calls[CLOSE]) == (1, 0, 1)
    api_calls.clear()
    run_download(remote_dir, tmp_path / "out")
    assert sum(api_calls[api] for api in (OPEN, READ, CLOSE, LSEEK)) == 0
    assert (tmp_path / "out" / "empty").read_bytes() == b""
