"""Symbolic links over TCP, with rclone's choices: skipped and named by default, followed with
``--copy-links``, kept as ``NAME.rclonelink`` objects with ``--links`` (and made links again on
download); a link left out never lets ``sync --delete`` remove what the destination holds."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from tests.zones import Zone

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symbolic links")


@pytest.fixture
def tree(tmp_path: Path, irods_env: Zone, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "src"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.txt").write_bytes(b"hello")
    (root / "filelink").symlink_to("real/a.txt")
    (root / "dirlink").symlink_to("real")
    (root / "broken").symlink_to("nowhere")
    return root


def _objects(session: iRODSSession, collection: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    stack = [session.collections.get(collection)]
    while stack:
        coll = stack.pop()
        stack.extend(coll.subcollections)
        for obj in coll.data_objects:
            with obj.open("r") as handle:
                found[obj.path[len(collection) + 1:]] = bytes(handle.read())
    return found


def test_links_are_skipped_and_named_by_default(
    tmp_path: Path, tree: Path, remote_dir: str, session: iRODSSession,
) -> None:
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["upload", str(tree), remote_dir, "--json-report",
                                       str(report)])
    assert result.exit_code == 0, result.output
    assert _objects(session, remote_dir) == {"real/a.txt": b"hello"}
    notices = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(notices) == 3
    assert "skipped: broken: broken symbolic link: its target 'nowhere' does not exist" \
        in result.stderr
    assert "skipped: dirlink: symbolic link to a folder (real), not followed" in result.stderr
    assert "skipped: filelink: symbolic link to a file (real/a.txt)" in result.stderr
    assert "1 new, 0 changed, 3 skipped, 0 failed" in result.stdout
    entries = {f["path"]: (f["status"], f["action"]) for f in json.loads(report.read_text())["files"]}
    assert entries["dirlink"] == ("skipped", "link")


def test_copy_links_follows_and_names_a_broken_link(
    tree: Path, remote_dir: str, session: iRODSSession,
) -> None:
    result = CliRunner().invoke(main, ["upload", str(tree), remote_dir, "--copy-links", "-q"])
    assert result.exit_code == 1, result.output  # the broken link
    assert _objects(session, remote_dir) == {"real/a.txt": b"hello", "filelink": b"hello",
                                             "dirlink/a.txt": b"hello"}
    assert "failed: broken: " in result.stderr and "broken symbolic link" in result.stderr
    both = CliRunner().invoke(main, ["upload", str(tree), remote_dir, "-l", "-L"])
    assert both.exit_code == 2 and "--links and --copy-links exclude each other" in both.stderr


def test_links_round_trip_as_rclonelink_objects(
    tmp_path: Path, tree: Path, remote_dir: str, session: iRODSSession,
) -> None:
    runner = CliRunner()
    up = runner.invoke(main, ["upload", str(tree), remote_dir, "--links", "-q"])
    assert up.exit_code == 0, up.output
    assert _objects(session, remote_dir) == {
        "real/a.txt": b"hello", "filelink.rclonelink": b"real/a.txt",
        "dirlink.rclonelink": b"real", "broken.rclonelink": b"nowhere"}

    back = tmp_path / "back"
    down = runner.invoke(main, ["download", remote_dir, str(back), "-l", "-q"])
    assert down.exit_code == 0, down.output
    assert {p.name: os.readlink(p) for p in back.iterdir() if p.is_symlink()} == {
        "filelink": "real/a.txt", "dirlink": "real", "broken": "nowhere"}
    assert (back / "filelink").read_bytes() == b"hello"
    for args in (["download", remote_dir, str(back), "-l", "-v", "--checksum"],
                 ["upload", str(back), remote_dir, "-l", "-v"]):
        again = runner.invoke(main, args)
        assert again.exit_code == 0, again.output
        assert "0 new, 0 changed, 4 skipped, 0 failed" in again.stdout, args

    plain = tmp_path / "plain"
    down = runner.invoke(main, ["download", remote_dir, str(plain), "-q"])
    assert down.exit_code == 0, down.output  # without --links: small files, as rclone
    assert (plain / "dirlink.rclonelink").read_bytes() == b"real"
    assert not any(p.is_symlink() for p in plain.iterdir())


def test_a_link_left_out_never_lets_delete_remove_its_copy(
    tree: Path, remote_dir: str, session: iRODSSession,
) -> None:
    runner = CliRunner()
    dest = f"irods:{remote_dir}"
    first = runner.invoke(main, ["sync", str(tree), dest, "--copy-links", "-q"])
    assert first.exit_code == 1, first.output  # the broken link
    (tree / "gone.txt").write_bytes(b"x")
    runner.invoke(main, ["sync", str(tree), dest, "-q"])
    (tree / "gone.txt").unlink()
    synced = runner.invoke(main, ["sync", str(tree), dest, "--delete", "-v"])
    assert synced.exit_code == 0, synced.output
    assert _objects(session, remote_dir) == {"real/a.txt": b"hello", "filelink": b"hello",
                                             "dirlink/a.txt": b"hello"}
