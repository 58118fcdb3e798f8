"""A local disk that fills up during a download: a real, tiny tmpfs (needs root to mount).

The run must fail that file with a message that says the disk is full and that the partial
file is kept, exit non-zero, and leave the partial so that the same command resumes once there
is space.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from mango_transfer.localfs.partial import PARTIAL_SUFFIX, STATE_SUFFIX, partial_path
from tests.zones import Zone

SIZE = 8 * 1024 * 1024 + 17  # more than the file system holds, over two 4 MiB blocks
ROOM = "6m"  # the first block of SIZE fits: a partial with data to resume from


def _resize(mount_point: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount_point)], check=True)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a 2 MiB tmpfs needs root; the disk-full path is untested here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); disk-full untested")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_download_onto_a_full_disk_keeps_the_partial_and_says_so(
    tiny_disk: Path, tmp_path: Path, remote_dir: str, irods_env: Zone,
    session: iRODSSession, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    data = os.urandom(SIZE)
    with session.data_objects.open(f"{remote_dir}/recording.edf", "w") as handle:
        handle.write(data)

    _resize(tiny_disk, ROOM)
    args = ["download", remote_dir, str(tiny_disk / "out"), "--quiet", "--chunk-threshold", "1M",
            "--chunk-connections", "1", "--retries", "1", "--retry-backoff", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    output = result.output
    assert "recording.edf" in output and "no space left on the local disk" in output
    final = tiny_disk / "out" / "recording.edf"
    assert f"partial file {partial_path(final)} is kept" in output
    assert "Traceback" not in output
    assert not final.exists()
    kept = partial_path(final)
    assert kept.exists() and kept.stat().st_size > 0

    # Space comes back (here: the file moves to a roomy disk is not the point; grow the mount)
    _resize(tiny_disk, "16m")
    result = CliRunner().invoke(main, [*[a for a in args if a != "--quiet"], "-v"])
    assert result.exit_code == 0, result.output
    assert "resumed: recording.edf (from 4.0 MiB" in result.output  # the kept block counts
    assert final.read_bytes() == data
    assert not kept.exists()


def _leftovers(folder: Path) -> dict[str, int]:
    """Our partial and state files below ``folder``, with their sizes."""
    return {p.name: p.stat().st_size for p in folder.rglob(".*")
            if p.name.endswith((PARTIAL_SUFFIX, STATE_SUFFIX))}


@pytest.mark.parametrize("large", [True, False], ids=["large-file-partial-kept",
                                                      "small-files-no-partial"])
def test_a_full_disk_stops_the_download_at_the_first_file_in_one_line(
    tiny_disk: Path, tmp_path: Path, remote_dir: str, irods_env: Zone,
    session: iRODSSession, monkeypatch: pytest.MonkeyPatch, large: bool,
) -> None:
    """Every file after the first ENOSPC would fail the same way: the run stops there with
    one line naming the folder and the bytes still needed, leaves no partial without data,
    and says when one with data is kept."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    names = [f"a{i:02d}.bin" for i in range(4)] + (["m-big.edf"] if large else []) \
        + [f"z{i:02d}.bin" for i in range(24)]
    sizes = {name: SIZE if name == "m-big.edf" else 300 * 1024 for name in names}
    for name, size in sizes.items():
        with session.data_objects.open(f"{remote_dir}/{name}", "w") as handle:
            handle.write(os.urandom(size))
    out = tiny_disk / "out"
    _resize(tiny_disk, ROOM)
    result = CliRunner().invoke(main, ["download", remote_dir, str(out), "--threads", "1",
                                       "--chunk-threshold", "1M", "--chunk-connections", "1",
                                       "--retries", "1", "--retry-backoff", "0"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith(f"mango-transfer: {out}: no space left on the local disk"), line
    assert "bytes still needed" in line and "the run stopped" in line
    leftovers = _leftovers(out)
    assert all(size > 0 for size in leftovers.values()), leftovers
    if large:
        kept = partial_path(out / "m-big.edf")
        assert f"the partial file {kept} is kept for the resume" in line
        assert kept.name in leftovers
    else:
        assert "partial file" not in line and not leftovers
    done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert done and done == names[:len(done)]  # in order, up to the first full disk
    assert len(done) < len(names)
