"""What a transfer shows while it runs, end to end over TCP: the bar in a real terminal (a
pty, 100 columns), the plain ``--stats`` lines when stdout is no terminal, the ``-v`` line of
every file (new, changed, skipped, resumed, verified, failed) and the summary's counts."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.session import iRODSSession

from mango_transfer.byteranges import RemoteIdentity
from mango_transfer.cli.main import main
from mango_transfer.irods.remote import IrodsRemote
from mango_transfer.localfs.partial import PartialDownload
from tests.zones import Zone

from .conftest import CHUNK, make_tree

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def _tree(root: Path, files: int) -> Path:
    for i in range(files):
        folder = root / f"sub-{i % 4:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:03d}.json").write_bytes(os.urandom(500 + i))
    return root


def test_plain_progress_lines_when_stdout_is_not_a_terminal(
    tmp_path: Path, remote_dir: str, cli_env: Zone,
) -> None:
    src = _tree(tmp_path / "src", cli_env.scaled(240, 40))
    done = subprocess.run(
        [sys.executable, "-m", "mango_transfer", "upload", str(src), remote_dir, "--threads",
         "2", "--stats", "0.1s"], capture_output=True, text=True, timeout=300,
        env={**os.environ, **cli_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if re.match(_STAMP, line)]
    assert lines, done.stdout
    for line in lines:  # one self-contained line each, as a log wants it
        assert re.fullmatch(
            _STAMP + r" upload: (scanning… [\d,]+ files, \S+ \S+ found, [\d,]+ files, \S+ \S+ "
            r"done|\d+%, \S+ \S+ of \S+ \S+, [\d,]+ of [\d,]+ files), \S+ \S+/s, [\d.,]+ "
            r"files/s, (ETA \S+, )?\S+ elapsed", line), line
    assert "\r" not in done.stdout and "\r" not in done.stderr  # no bar in a log
    count = cli_env.scaled(240, 40)
    assert f"{count} new, 0 changed, 0 skipped, 0 failed; 0 resumed, 0 verified" in done.stdout
    assert "(sizes in binary units, 1 MiB = 1,048,576 bytes)" in done.stdout

    quiet = subprocess.run(
        [sys.executable, "-m", "mango_transfer", "upload", str(src), remote_dir, "--stats", "0"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, **cli_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))})
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stdout.splitlines() if re.match(_STAMP, line)]


def test_verbose_names_what_happened_to_every_file(
    tmp_path: Path, remote_dir: str, cli_env: Zone,
) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "one.txt").write_bytes(b"1" * 3000)
    (src / "two.txt").write_bytes(b"22")
    os.mkfifo(src / "pipe")  # neither a file nor a folder: fails, named
    runner = CliRunner()
    first = runner.invoke(main, ["upload", str(src), remote_dir, "-v"])
    assert first.exit_code == 1, first.output
    lines = first.stdout.splitlines()
    assert any(re.fullmatch(r"new: a/one\.txt \(2\.9 KiB, \d+\.\d s\)", line) for line in lines)
    assert any(re.fullmatch(r"new: two\.txt \(2 B, \d+\.\d s\)", line) for line in lines)
    assert any(line.startswith("failed: pipe: ") and "not a regular file or folder" in line
               for line in lines)
    assert "2 new, 0 changed, 0 skipped, 1 failed; 0 resumed, 0 verified" in first.stdout
    os.unlink(src / "pipe")

    (src / "two.txt").write_bytes(b"333")
    second = runner.invoke(main, ["upload", str(src), remote_dir, "--verbose", "--verify"])
    assert second.exit_code == 0, second.output
    lines = second.stdout.splitlines()
    assert "skipped: a/one.txt (sizes and modification times match)" in lines
    changed = [line for line in lines if line.startswith("changed: two.txt")]
    assert len(changed) == 1 and "sizes differ" in changed[0]
    assert re.search(r"verified sha2:[A-Za-z0-9+/]{43}=", changed[0])
    assert "0 new, 1 changed, 1 skipped, 0 failed; 0 resumed, 1 verified" in second.stdout

    silent = runner.invoke(main, ["upload", str(src), remote_dir, "-v", "--quiet"])
    assert silent.exit_code == 0 and silent.stdout == ""  # --quiet wins


def test_a_resumed_download_says_from_where_and_is_counted(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    data = os.urandom(2 * CHUNK + 777)
    (src / "big.bin").write_bytes(data)
    runner = CliRunner()
    up = runner.invoke(main, ["upload", str(src), remote_dir, "-q", "--chunk-threshold",
                              str(CHUNK)])
    assert up.exit_code == 0, up.output
    # An earlier download that stopped after its first range: its partial file and state.
    listed = IrodsRemote().stat(session, f"{remote_dir}/big.bin")
    assert listed is not None
    out = tmp_path / "out"
    out.mkdir()
    identity = RemoteIdentity(path=f"{remote_dir}/big.bin", size=listed.info.size,
                              mtime=listed.info.mtime, checksum=listed.info.checksum)
    partial = PartialDownload.open(out / "big.bin", identity)
    with partial.open_writer() as writer:
        writer.write(data[:CHUNK])
        partial.record(writer, 0, CHUNK)

    report = tmp_path / "r.json"
    down = runner.invoke(main, ["download", remote_dir, str(out), "-v", "--chunk-threshold",
                                str(CHUNK), "--json-report", str(report)])
    assert down.exit_code == 0, down.output
    assert "resumed: big.bin (from 4.0 MiB of 8.0 MiB, new" in down.stdout
    assert "1 new, 0 changed, 0 skipped, 0 failed; 1 resumed, 0 verified" in down.stdout
    (entry,) = json.loads(report.read_text())["files"]
    assert (entry["resumed_from"], entry["bytes_moved"]) == (CHUNK, len(data) - CHUNK)
    assert (out / "big.bin").read_bytes() == data


def _run_in_terminal(args: list[str], env: dict[str, str], columns: int = 100,
                     timeout: float = 120) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal of ``columns`` columns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "mango_transfer", *args], stdin=slave,
                               stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        assert process.wait(timeout=10) == 0, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_the_bar_in_a_100_column_terminal(
    tmp_path: Path, remote_dir: str, cli_env: Zone,
) -> None:
    src = make_tree(tmp_path / "src", small=cli_env.scaled(120, 30), large=(CHUNK + 5,))
    env = {**os.environ, **cli_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))}
    env.pop("COLUMNS", None)
    screen = _run_in_terminal(["upload", str(src), remote_dir, "--threads", "4",
                               "--chunk-threshold", str(CHUNK)], env)
    frames = [_ANSI.sub("", frame) for frame in re.split(r"[\r\n]", screen)]
    bars = [frame for frame in frames if frame.startswith("upload")]
    assert bars, screen
    assert all(len(frame) < 100 for frame in bars)  # fitted, never wrapped
    files = sum(1 for path in src.rglob("*") if path.is_file())
    final = bars[-1]
    assert re.match(r"upload 100%\|█+\| \S+/\S+ \S+, " + f"{files:,}/{files:,}" + r" files, ",
                    final), final
    assert f"{files} new, 0 changed, 0 skipped, 0 failed" in screen


def test_a_reader_that_goes_away_does_not_stop_the_run(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    """``mango-transfer upload -v | head -1``: the run finishes, without a traceback."""
    count = cli_env.scaled(200, 40)
    src = _tree(tmp_path / "src", count)
    process = subprocess.Popen(
        [sys.executable, "-m", "mango_transfer", "upload", str(src), remote_dir, "-v",
         "--threads", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **cli_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))})
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"new: ")
    process.stdout.close()  # as head does after its line
    assert process.wait(timeout=300) == 0
    assert b"Traceback" not in process.stderr.read()
    listed = sum(len(coll.data_objects) for coll in session.collections.get(remote_dir)
                 .subcollections)
    assert listed == count
