"""Explicit lists for both directions (what a scale-out batch is): only the named files move,
looked up without listing the whole tree; ``dirs`` mirrors empty folders; a vanished object
fails by name."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from irods.session import iRODSSession

from mango_transfer import engine
from mango_transfer.engine.stats import Stats, Status
from tests.conftest import write_file as _write
from tests.zones import Zone

from .conftest import options


def test_download_of_listed_objects_only(
    tmp_path: Path, remote_dir: str, session: iRODSSession, environ: dict[str, str],
) -> None:
    for name in ("a/one.json", "a/two.json", "b/c/three.tsv", "b/unlisted.tsv"):
        _write(tmp_path / "src" / name, name.encode() * 100)
    anyio.run(lambda: engine.upload(tmp_path / "src", remote_dir, options(), environ=environ))
    listed = ["b/c/three.tsv", "a/one.json", "a/gone.json"]
    stats = anyio.run(lambda: engine.download(remote_dir, tmp_path / "back", options(),
                                              environ=environ, files=listed, dirs=["empty/x"]))
    by_path = {r.path: r for r in stats.results}
    assert by_path["a/one.json"].status is Status.TRANSFERRED
    assert by_path["b/c/three.tsv"].status is Status.TRANSFERRED
    assert by_path["a/gone.json"].status is Status.FAILED
    assert "no longer exists" in by_path["a/gone.json"].reason
    assert sorted(p.relative_to(tmp_path / "back").as_posix()
                  for p in (tmp_path / "back").rglob("*") if p.is_file()) == ["a/one.json",
                                                                                "b/c/three.tsv"]
    assert (tmp_path / "back" / "b" / "c" / "three.tsv").read_bytes() == b"b/c/three.tsv" * 100
    assert (tmp_path / "back" / "empty" / "x").is_dir()
    again = anyio.run(lambda: engine.download(remote_dir, tmp_path / "back", options(),
                                              environ=environ, files=listed[:2]))
    assert {r.status for r in again.results} == {Status.SKIPPED}


def test_upload_of_listed_files_creates_the_listed_empty_folders(
    tmp_path: Path, remote_dir: str, session: iRODSSession, environ: dict[str, str],
) -> None:
    _write(tmp_path / "src" / "a" / "x.txt", b"x")
    (tmp_path / "src" / "derivatives" / "empty").mkdir(parents=True)
    stats = anyio.run(lambda: engine.upload(tmp_path / "src", remote_dir, options(),
                                            environ=environ, files=["a/x.txt"],
                                            dirs=["derivatives/empty"]))
    assert [r.status for r in stats.results] == [Status.TRANSFERRED]
    assert session.collections.exists(f"{remote_dir}/derivatives/empty")
    assert session.data_objects.exists(f"{remote_dir}/a/x.txt")


@pytest.mark.embedded_only("restarts the server under the cached sessions")
def test_a_session_cache_keeps_logged_in_sessions_between_runs_and_survives_dropped_ones(
    tmp_path: Path, remote_dir: str, irods_env: Zone, environ: dict[str, str],
) -> None:
    """What a scale-out worker does batch after batch: no new logins once warm; and sessions the
    server dropped meanwhile (a restart) are replaced by the engine's retries, not fatal."""
    from mango_transfer.irods.pool import SessionCache

    server = irods_env.server
    assert server is not None
    for index in range(6):
        _write(tmp_path / "src" / f"f{index}.txt", b"x" * index)
    cache = SessionCache()

    def run(files: list[str]) -> Stats:
        return anyio.run(lambda: engine.upload(tmp_path / "src", remote_dir, options(threads=2),
                                               environ=environ, files=files, sessions=cache))

    run(["f0.txt", "f1.txt"])
    opened = cache.opened
    assert opened >= 1
    run(["f2.txt", "f3.txt"])
    assert cache.opened == opened and cache.reused >= 1
    server.restart_now()  # every cached session's connection is gone
    time.sleep(1.0)  # the server listens again after its restart pause
    stats = run(["f4.txt", "f5.txt"])
    assert [r.status for r in stats.results] == [Status.TRANSFERRED] * 2
    cache.close()
