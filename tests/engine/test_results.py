"""What a run reports for each file: the checksum it knows, and what moving one file did."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from irods.session import iRODSSession

from mango_transfer import engine
from mango_transfer.engine.file_transfer import Moved, download_file, upload_file
from mango_transfer.engine.stats import FileResult, Stats, Status
from mango_transfer.fileinfo import FileInfo
from mango_transfer.localfs.hashing import irods_sha256

from .conftest import CHUNK, options


def _upload(src: Path, dest: str, environ: dict[str, str], **overrides: object) -> dict[str, FileResult]:
    seen: list[FileResult] = []
    anyio.run(lambda: engine.upload(src, dest, options(**overrides), environ=environ,
                                    on_result=seen.append))
    return {result.path: result for result in seen}


def test_a_changed_file_reports_its_new_checksum_without_verify(
    tmp_path: Path, remote_dir: str, session: iRODSSession, environ: dict[str, str],
) -> None:
    """--checksum without --verify: the result names the checksum of the bytes uploaded, not
    the one the destination had before."""
    src = tmp_path / "src"
    src.mkdir()
    old, new = b"old contents", b"new contents"  # same size: only checksums tell them apart
    (src / "a.txt").write_bytes(old)
    first = _upload(src, remote_dir, environ, checksum=True)
    assert first["a.txt"].status is Status.TRANSFERRED
    (src / "a.txt").write_bytes(new)
    second = _upload(src, remote_dir, environ, checksum=True)
    assert second["a.txt"].status is Status.TRANSFERRED
    assert second["a.txt"].reason == "checksums differ"
    assert second["a.txt"].checksum == irods_sha256(new)
    assert session.data_objects.chksum(f"{remote_dir}/a.txt") == irods_sha256(new)
    third = _upload(src, remote_dir, environ, checksum=True)
    assert third["a.txt"].status is Status.SKIPPED
    assert third["a.txt"].checksum == irods_sha256(new)


@pytest.mark.parametrize("size", [1000, CHUNK + 1000], ids=["small", "chunked"])
def test_verify_reports_the_checksum_of_the_moved_bytes(
    tmp_path: Path, remote_dir: str, environ: dict[str, str], size: int,
) -> None:
    data = os.urandom(size)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f.bin").write_bytes(data)
    up = _upload(tmp_path / "src", remote_dir, environ, verify=True)
    assert up["f.bin"].checksum == irods_sha256(data)
    seen: list[FileResult] = []
    anyio.run(lambda: engine.download(remote_dir, tmp_path / "back", options(verify=True),
                                      environ=environ, on_result=seen.append))
    assert [(r.path, r.status, r.checksum) for r in seen] == [
        ("f.bin", Status.TRANSFERRED, irods_sha256(data))]
    plain = _upload(tmp_path / "src", remote_dir, environ, force=True)
    assert plain["f.bin"].status is Status.TRANSFERRED and plain["f.bin"].checksum is None


@pytest.mark.parametrize("size", [1000, CHUNK + 1000], ids=["small", "chunked"])
def test_moving_one_file_answers_what_it_did(
    tmp_path: Path, remote_dir: str, environ: dict[str, str], size: int,
) -> None:
    data = os.urandom(size)
    local = tmp_path / "f.bin"
    local.write_bytes(data)
    info = FileInfo("f.bin", size, int(local.stat().st_mtime))
    path = f"{remote_dir}/f.bin"

    async def both() -> tuple[Moved, Moved, Moved]:
        async with engine.run_context(options(verify=True), Stats(), environ=environ) as ctx:
            up = await upload_file(ctx, local, path, info)
            down = await download_file(ctx, path, tmp_path / "back.bin", info)
        async with engine.run_context(options(), Stats(), environ=environ) as ctx:
            plain = await upload_file(ctx, local, path, info)
        return up, down, plain

    up, down, plain = anyio.run(both)
    assert up == Moved(size, irods_sha256(data), resumed=False)
    assert down == Moved(size, irods_sha256(data), resumed=False)
    assert plain == Moved(size, None, resumed=False)
    assert (tmp_path / "back.bin").read_bytes() == data
