"""The iRODS checksum string: sha2: + base64(SHA-256)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from mango_transfer.localfs.hashing import Sha256, checksum_algorithm, file_checksum, irods_sha256


def test_matches_irods_format() -> None:
    expected = "sha2:" + base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    assert irods_sha256(b"hello") == expected
    # Known value of the empty string, as iRODS reports it.
    assert irods_sha256(b"") == "sha2:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_incremental_equals_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    digest = Sha256()
    for start in range(0, len(data), 777):
        digest.update(memoryview(data)[start : start + 777])
    assert digest.size == len(data)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert digest.irods_checksum() == irods_sha256(data) == file_checksum(path, read_size=1000)


def test_checksum_algorithm() -> None:
    assert checksum_algorithm(irods_sha256(b"x")) == "sha256"
    assert checksum_algorithm("0cc175b9c0f1b6a831c399e269772661") == "md5"
    assert checksum_algorithm("") == "unknown"
