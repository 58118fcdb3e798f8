"""The upload hooks ingest builds on, at the engine level: explicit file lists, selection,
lazy collections, metadata and live results; and plain upload keeps mirroring empty folders."""

from __future__ import annotations

from pathlib import Path

import anyio
from irods.session import iRODSSession

from mango_transfer import engine
from mango_transfer.engine.stats import FileResult, Status
from mango_transfer.ingest.metadata import Avu

from .conftest import options


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_plain_upload_still_creates_empty_collections(
    tmp_path: Path, remote_dir: str, session: iRODSSession, environ: dict[str, str],
) -> None:
    (tmp_path / "src" / "empty" / "deeper").mkdir(parents=True)
    _write(tmp_path / "src" / "a.txt", b"a")
    anyio.run(lambda: engine.upload(tmp_path / "src", remote_dir, options(), environ=environ))
    assert session.collections.exists(f"{remote_dir}/empty/deeper")


def test_file_list_selection_metadata_and_results(
    tmp_path: Path, remote_dir: str, session: iRODSSession, environ: dict[str, str],
) -> None:
    src = tmp_path / "src"
    for name in ("x/keep.dat", "x/drop.tmp", "y/other.dat", "z/unlisted.dat"):
        _write(src / name, name.encode())
    seen: list[FileResult] = []

    def run(files: list[str]) -> None:
        anyio.run(lambda: engine.upload(
            src, remote_dir, options(verify=True), environ=environ, files=files,
            select=lambda p: "temporary" if p.endswith(".tmp") else None,
            metadata=lambda info: [Avu("mg.name", info.path.rsplit("/", 1)[-1])],
            on_result=seen.append, empty_dirs=False))

    run(["x/keep.dat", "x/drop.tmp", "y/gone.dat"])
    by_path = {r.path: r for r in seen}
    assert by_path["x/keep.dat"].status is Status.TRANSFERRED
    assert by_path["x/keep.dat"].checksum is not None  # verified while streaming
    assert by_path["x/drop.tmp"].status is Status.FILTERED
    assert by_path["y/gone.dat"].status is Status.FAILED  # listed but missing locally
    assert not session.collections.exists(f"{remote_dir}/y")  # no file, no collection
    assert not session.collections.exists(f"{remote_dir}/z")  # not listed
    obj = f"{remote_dir}/x/keep.dat"
    assert [(m.name, m.value) for m in session.data_objects.get(obj).metadata.items()] == [
        ("mg.name", "keep.dat")]
    seen.clear()
    run(["x/keep.dat"])  # unchanged: skipped, metadata reconciled without a duplicate
    assert [r.status for r in seen] == [Status.SKIPPED]
    assert len(session.data_objects.get(obj).metadata.items()) == 1
