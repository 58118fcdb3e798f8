"""Faithful folders both ways, and iRODS paths as iCommands users type them, over TCP.

- A download recreates every collection as a folder, empty ones too; upload mirrors them back.
- A remote name this machine cannot hold (a backslash, a name too long) is reported by name
  with the reason, and the rest of the run goes on.
- Remote paths may be relative to ``irods_cwd`` or start with ``~`` (``irods_home``), in every
  command that takes one; a Windows path typed on Linux gets a hint.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from tests.zones import Zone


def _folders(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def _collections(session: iRODSSession, path: str) -> set[str]:
    found: set[str] = set()
    stack = [session.collections.get(path)]
    while stack:
        coll = stack.pop()
        for sub in coll.subcollections:
            found.add(sub.path[len(path) + 1:])
            stack.append(sub)
    return found


@pytest.fixture
def cli_env(irods_env: Zone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return irods_env


def test_empty_collections_round_trip_as_empty_folders(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    for name in ("a/empty", "b/c/d", "e f", "a_b"):
        session.collections.create(f"{remote_dir}/src/{name}")
    with session.data_objects.open(f"{remote_dir}/src/a/x.txt", "w") as handle:
        handle.write(b"x")
    runner = CliRunner()
    out = tmp_path / "out"
    down = runner.invoke(main, ["download", f"{remote_dir}/src", str(out), "-q"])
    assert down.exit_code == 0, down.output
    assert _folders(out) == {"a", "a/empty", "b", "b/c", "b/c/d", "e f", "a_b"}
    assert (out / "a" / "x.txt").read_bytes() == b"x"

    up = runner.invoke(main, ["upload", str(out), f"{remote_dir}/back", "-q"])
    assert up.exit_code == 0, up.output
    assert _collections(session, f"{remote_dir}/back") == _collections(
        session, f"{remote_dir}/src")

    # An unchanged re-run finds every folder there and moves nothing.
    again = runner.invoke(main, ["download", f"{remote_dir}/src", str(out), "-v"])
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed, 1 skipped, 0 failed" in again.stdout


def test_names_this_machine_cannot_hold_are_named_and_the_rest_goes_on(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
) -> None:
    long_name = "l" * 300
    session.collections.create(f"{remote_dir}/src/sub\\dir")  # empty, with a backslash
    session.collections.create(f"{remote_dir}/src/{long_name}")  # empty, too long here
    for name in ("back\\slash.txt", "ok.txt"):
        with session.data_objects.open(f"{remote_dir}/src/{name}", "w") as handle:
            handle.write(name.encode())
    report = tmp_path / "r.json"
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["download", f"{remote_dir}/src", str(out), "-q",
                                       "--json-report", str(report)])
    assert result.exit_code == 1, result.output
    assert (out / "ok.txt").read_bytes() == b"ok.txt"
    assert sorted(p.name for p in out.iterdir()) == ["ok.txt"]
    failed = {entry["path"]: entry["reason"] for entry in json.loads(report.read_text())["files"]
              if entry["status"] == "failed"}
    assert set(failed) == {"back\\slash.txt", "sub\\dir/", f"{long_name}/"}
    assert "backslash" in failed["back\\slash.txt"] and "backslash" in failed["sub\\dir/"]
    assert "300 bytes long" in failed[f"{long_name}/"]
    for path in failed:  # each named on stderr, once
        assert result.stderr.count(f"failed: {path}: ") == 1


def _env_with_cwd(zone: Zone, folder: Path, cwd: str) -> Path:
    settings = json.loads(zone.user.env_file.read_text(encoding="utf-8"))
    settings["irods_cwd"] = cwd
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "irods_environment.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def test_remote_paths_relative_to_the_cwd_and_the_home(
    tmp_path: Path, remote_dir: str, cli_env: Zone, session: iRODSSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session.collections.create(f"{remote_dir}/work")
    monkeypatch.setenv("IRODS_ENVIRONMENT_FILE",
                       str(_env_with_cwd(cli_env, tmp_path / "env", f"{remote_dir}/work")))
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a")
    runner = CliRunner()
    scratch = posixpath.basename(remote_dir)

    up = runner.invoke(main, ["upload", str(src), "rel", "-q"])  # relative to irods_cwd
    assert up.exit_code == 0, up.output
    assert session.data_objects.exists(f"{remote_dir}/work/rel/a.txt")
    up = runner.invoke(main, ["upload", str(src), f"~/{scratch}/home-rel", "-q"])
    assert up.exit_code == 0, up.output
    assert session.data_objects.exists(f"{remote_dir}/home-rel/a.txt")

    for remote in ("rel", "irods:rel", f"~/{scratch}/work/rel", "../work/./rel",
                   f"irods:~/{scratch}//work/rel/"):
        out = tmp_path / f"out-{abs(hash(remote))}"
        down = runner.invoke(main, ["download", remote, str(out), "-q"])
        assert down.exit_code == 0, (remote, down.output)
        assert (out / "a.txt").read_bytes() == b"a", remote

    (src / "b.txt").write_bytes(b"b")
    synced = runner.invoke(main, ["sync", str(src), f"irods:~/{scratch}/home-rel", "-q"])
    assert synced.exit_code == 0, synced.output
    assert session.data_objects.exists(f"{remote_dir}/home-rel/b.txt")
    back = tmp_path / "back"
    synced = runner.invoke(main, ["sync", "irods:rel", str(back), "-q"])
    assert synced.exit_code == 0, synced.output
    assert sorted(p.name for p in back.iterdir()) == ["a.txt"]


@pytest.mark.skipif(os.name == "nt", reason="the hint is for Windows paths typed elsewhere")
def test_a_windows_path_on_linux_gets_a_hint(tmp_path: Path, remote_dir: str,
                                              cli_env: Zone) -> None:
    runner = CliRunner()
    for args in (["upload", "C:\\Users\\lab\\study", remote_dir],
                 ["upload", "D:/acquisition", remote_dir],
                 ["download", remote_dir, "E:\\backup"],
                 ["download", "C:\\data", str(tmp_path / "out")],
                 ["upload", str(tmp_path), "\\\\server\\share\\x"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert "this looks like a Windows path" in result.stderr, args
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not Path("E:\\backup").exists()


def test_concurrent_creates_of_sibling_folders_all_land(zone: Zone, remote_dir: str) -> None:
    """Two clients create sibling collections below a new parent at the same moment, as two
    workers or threads of an upload do. iRODS 5.0.2 then often answers one of them success
    without creating its collection; the engine's mkdir must still leave both in place."""
    import threading

    from mango_transfer.irods.remote import IrodsRemote

    remote, rounds, failures = IrodsRemote(), 12, []
    sessions = [zone.user.session(), zone.user.session()]

    def create(session: iRODSSession, path: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            remote.mkdir(session, path)
        except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion
            failures.append(f"{path}: {exc!r}")

    try:
        for index in range(rounds):
            start = threading.Barrier(2)
            threads = [threading.Thread(target=create, args=(
                session, f"{remote_dir}/s{index}/x/{name}", start))
                for session, name in zip(sessions, ("anat", "eeg"), strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert failures == []
        expected = {f"s{i}/x/{name}" for i in range(rounds) for name in ("anat", "eeg")}
        assert expected <= _collections(sessions[0], remote_dir)
    finally:
        for session in sessions:
            session.cleanup()
