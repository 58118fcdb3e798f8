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
from mango_transfer.localfs.partial import partial_path
from tests.zones import Zone

SIZE = 3 * 1024 * 1024 + 17  # more than the 2 MiB file system holds


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

    args = ["download", remote_dir, str(tiny_disk / "out"), "--quiet", "--chunk-threshold", "1M",
            "--retries", "1", "--retry-backoff", "0"]
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
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_disk)], check=True)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert final.read_bytes() == data
    assert not kept.exists()
