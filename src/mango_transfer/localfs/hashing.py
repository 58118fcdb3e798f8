"""SHA-256 in the form iRODS stores it: ``sha2:`` + base64 of the raw digest.

Incremental, so the engine hashes bytes as they stream (no second read of a 20 GB file).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

__all__ = [
    "IRODS_SHA256_PREFIX",
    "Sha256",
    "checksum_algorithm",
    "file_checksum",
    "irods_sha256",
]

IRODS_SHA256_PREFIX = "sha2:"
_MD5_HEX = re.compile(r"[0-9a-fA-F]{32}")
_READ_SIZE = 4 * 1024 * 1024


class Sha256:
    """An incremental SHA-256 that reports the iRODS checksum string."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next bytes, in file order."""
        self._hash.update(data)
        self.size += len(data)

    def irods_checksum(self) -> str:
        """``sha2:<base64 digest>`` of everything fed so far."""
        return IRODS_SHA256_PREFIX + base64.b64encode(self._hash.digest()).decode("ascii")


def irods_sha256(data: bytes | bytearray | memoryview) -> str:
    """The iRODS checksum string of an in-memory buffer."""
    digest = Sha256()
    digest.update(data)
    return digest.irods_checksum()


def file_checksum(path: str | os.PathLike[str], read_size: int = _READ_SIZE) -> str:
    """The iRODS checksum of a local file. Blocking: call it through ``anyio.to_thread``."""
    digest = Sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(read_size):
            digest.update(chunk)
    return digest.irods_checksum()


def checksum_algorithm(checksum: str) -> str:
    """``"sha256"``, ``"md5"`` (a zone configured for MD5 stores bare hex) or ``"unknown"``.

    Two checksums are comparable only with the same algorithm; comparing a SHA-256 with an MD5
    would report every file as changed.
    """
    if checksum.startswith(IRODS_SHA256_PREFIX):
        return "sha256"
    if _MD5_HEX.fullmatch(checksum):
        return "md5"
    return "unknown"
