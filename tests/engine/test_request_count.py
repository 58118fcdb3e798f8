"""Small files cost the protocol's minimum number of requests, counted on the wire.

Every request the engine sends goes through PRC's ``Connection.send``; the test wraps it and
counts API numbers, so an extra "tell" (674), a second read at the end or a modify-time call
shows up at once. Both ways a small file can move are counted on both zones: one request
(``--small-files single``: DATA_OBJ_PUT/GET with the bytes inside) and three (``open``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.connection import Connection

from .conftest import Runner

OPEN, CLOSE, LSEEK, READ, WRITE, TOUCH, MOD_META = 602, 673, 674, 675, 676, 20007, 622
PUT, GET, CHKSUM, BULK_PUT = 606, 608, 629, 689
DATA_APIS = (OPEN, CLOSE, LSEEK, READ, WRITE, TOUCH, MOD_META, PUT, GET, CHKSUM, BULK_PUT)
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


def _data_calls(counts: Counter[int]) -> dict[int, int]:
    return {api: counts[api] for api in DATA_APIS if counts[api]}


def _settled_tree(root: Path, files: int = FILES) -> Path:
    """Small files written more than two seconds ago: the server's write time then tells the
    next run they are unchanged, so the upload needs no modify-time call."""
    for index in range(files):
        (root / f"f{index:02d}.json").parent.mkdir(parents=True, exist_ok=True)
        (root / f"f{index:02d}.json").write_bytes(b"x" * (100 + index))
    time.sleep(2.2)
    return root


def test_small_upload_and_download_in_one_request_each(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    src = _settled_tree(tmp_path / "src")
    snap = run_upload(src, remote_dir, small_files="single").snapshot()
    assert snap.files_new == FILES
    assert _data_calls(api_calls) == {PUT: FILES}
    api_calls.clear()
    out = tmp_path / "out"
    snap = run_download(remote_dir, out, small_files="single").snapshot()
    assert snap.files_new == FILES
    assert _data_calls(api_calls) == {GET: FILES}
    assert (out / "f03.json").read_bytes() == b"x" * 103
    api_calls.clear()
    # The next run needs no request per file: the catalog's write time is after the change.
    snap = run_upload(src, remote_dir, small_files="single").snapshot()
    assert (snap.files_skipped, snap.files_new, snap.files_changed) == (FILES, 0, 0)
    assert _data_calls(api_calls) == {}


def test_verified_small_files_still_cost_one_request(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    """``--verify``: the put carries the local SHA-256 (the server compares and registers it),
    the get's reply carries the server's; no separate checksum request either way."""
    src = _settled_tree(tmp_path / "src")
    run_upload(src, remote_dir, small_files="single", verify=True)
    assert _data_calls(api_calls) == {PUT: FILES}
    api_calls.clear()
    run_download(remote_dir, tmp_path / "out", small_files="single", verify=True)
    assert _data_calls(api_calls) == {GET: FILES}


def test_small_files_by_open_write_close(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    """``--small-files open``: 602, 676, 673 up and 602, 675 (up to the listed size), 673
    down; no "tell", no read of the end, no modify time."""
    src = _settled_tree(tmp_path / "src")
    snap = run_upload(src, remote_dir, small_files="open", verify=True).snapshot()
    assert snap.files_new == FILES
    assert _data_calls(api_calls) == {OPEN: FILES, WRITE: FILES, CLOSE: FILES}
    api_calls.clear()
    snap = run_download(remote_dir, tmp_path / "out", small_files="open").snapshot()
    assert snap.files_new == FILES
    assert _data_calls(api_calls) == {OPEN: FILES, READ: FILES, CLOSE: FILES}


def test_a_file_written_just_before_its_upload_gets_its_mtime(
    tmp_path: Path, remote_dir: str, run_upload: Runner, api_calls: Counter[int],
) -> None:
    """A file that changed within the modify window of its upload could look newer than the
    server's write time, so that one object gets the local mtime (touch, 20007)."""
    src = _settled_tree(tmp_path / "src", files=3)
    (src / "fresh.json").write_bytes(b"new")
    run_upload(src, remote_dir, small_files="single")
    assert _data_calls(api_calls) == {PUT: 4, TOUCH: 1}
    api_calls.clear()
    snap = run_upload(src, remote_dir, small_files="single").snapshot()
    assert snap.files_skipped == 4
    assert _data_calls(api_calls) == {}


def test_empty_files_cost_one_request_up_and_none_down(
    tmp_path: Path, remote_dir: str, run_upload: Runner, run_download: Runner,
    api_calls: Counter[int],
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty").write_bytes(b"")
    time.sleep(2.2)
    run_upload(src, remote_dir, small_files="single")
    assert _data_calls(api_calls) == {PUT: 1}
    api_calls.clear()
    run_download(remote_dir, tmp_path / "out", small_files="single")
    assert _data_calls(api_calls) == {}
    assert (tmp_path / "out" / "empty").read_bytes() == b""


COLL_CREATE = 681


def test_an_unchanged_re_run_creates_only_the_folders_no_listing_proves(
    tmp_path: Path, remote_dir: str, run_upload: Runner, api_calls: Counter[int],
) -> None:
    """A folder whose first file the destination lists exists there: a re-run does not create
    it again (a round trip per folder); the root, a folder holding only folders and an empty
    one are still made, since nothing listed proves them."""
    src = tmp_path / "src"
    for name in ("a/x.json", "a/y.json", "b/c/z.json", "d.json"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(b"{}")
    (src / "empty").mkdir()
    run_upload(src, remote_dir)
    api_calls.clear()
    again = run_upload(src, remote_dir).snapshot()
    assert (again.files_skipped, again.transferred) == (4, 0)
    assert api_calls[COLL_CREATE] == 3  # the root, b/ (only a folder in it) and empty/
    assert _data_calls(api_calls) == {}
