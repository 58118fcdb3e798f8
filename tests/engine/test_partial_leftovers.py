"""A run killed while it rewrote a download's state file leaves a temporary; the next run
(resume or completion) removes it, so no stray file stays in the destination."""

from __future__ import annotations

from pathlib import Path

import pytest

from mango_transfer.byteranges import RemoteIdentity
from mango_transfer.localfs import partial
from mango_transfer.localfs.partial import PartialDownload, partial_path, state_path

DATA = b"0123456789" * 100
IDENTITY = RemoteIdentity("/z/home/u/c/f.bin", len(DATA), 1_700_000_000, None)


def _leftover(final: Path) -> Path:
    # what tempfile.mkstemp(prefix=<state name>, suffix=".tmp") leaves when the process dies
    leftover = state_path(final).with_name(state_path(final).name + "k1ll3d_.tmp")
    leftover.write_text("{partial json", encoding="utf-8")
    return leftover


def test_resume_and_finish_remove_temporaries_of_a_killed_run(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    first = PartialDownload.open(final, IDENTITY)
    with first.open_writer() as writer:
        writer.write(DATA[:500])
        first.record(writer, 0, 500)
    leftover = _leftover(final)

    resumed = PartialDownload.open(final, IDENTITY)
    assert not leftover.exists()
    assert resumed.state.ranges == ((0, 500),)  # the real state file was kept
    with resumed.open_writer() as writer:
        writer.seek(500)
        writer.write(DATA[500:])
        resumed.record(writer, 500, len(DATA))
    _leftover(final)  # killed again, in a later rewrite
    resumed.finish(mtime=1_700_000_000)
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    assert final.read_bytes() == DATA


def test_a_run_killed_at_the_rename_leaves_no_state_beside_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final name appears only once the state file is gone: a run killed just after the
    rename (where a kill on progress lands, when it sees the file) leaves nothing the next run,
    which skips the complete file, would never remove; killed just before, the complete
    partial without its state is downloaded again."""
    final = tmp_path / "f.bin"
    download = PartialDownload.open(final, IDENTITY)
    with download.open_writer() as writer:
        writer.write(DATA)
        download.record(writer, 0, len(DATA))
    seen: list[bool] = []

    def rename(source: Path, target: Path) -> None:
        seen.append(state_path(final).exists())
        raise KeyboardInterrupt  # the process dies here: the rename never happens

    monkeypatch.setattr(partial, "replace", rename)
    with pytest.raises(KeyboardInterrupt):
        download.finish(mtime=IDENTITY.mtime)
    assert seen == [False]
    monkeypatch.undo()
    again = PartialDownload.open(final, IDENTITY)  # the next run: no state, so from the start
    assert again.state.missing() == ((0, len(DATA)),)
    assert partial_path(final).stat().st_size == 0
