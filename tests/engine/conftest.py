"""Engine tests: a generated tree, engine runs against each zone over TCP, as its test user."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mango_transfer import engine
from mango_transfer.engine.options import MIB, TransferOptions
from mango_transfer.engine.stats import Stats
from tests.zones import Zone

CHUNK = 4 * MIB  # a low chunk threshold keeps the large-file tests fast


@pytest.fixture
def environ(irods_env: Zone, tmp_path: Path) -> dict[str, str]:
    """The variables a run reads, passed explicitly (the state dir is per test)."""
    return irods_env.environ(XDG_STATE_HOME=str(tmp_path / "state"))


def options(**overrides: Any) -> TransferOptions:
    values: dict[str, Any] = {"chunk_threshold": CHUNK, "retry_backoff": 0.05, "threads": 8}
    values.update(overrides)
    return TransferOptions(**values)


Runner = Callable[..., Stats]


@pytest.fixture
def run_upload(environ: dict[str, str]) -> Runner:
    def run(src: Path, dest: str, **overrides: Any) -> Stats:
        opts = options(**overrides)
        return anyio.run(lambda: engine.upload(src, dest, opts, environ=environ))
    return run


@pytest.fixture
def run_download(environ: dict[str, str]) -> Runner:
    def run(src: str, dest: Path, **overrides: Any) -> Stats:
        opts = options(**overrides)
        return anyio.run(lambda: engine.download(src, dest, opts, environ=environ))
    return run


def make_tree(root: Path, *, small: int = 300, large: tuple[int, ...] = (CHUNK + 12345,
                                                                        2 * CHUNK + 7)) -> Path:
    """Nested folders, unicode and space names, empty files, small files, large files."""
    rng = random.Random(42)
    for i in range(small):
        folder = root / f"sub-{i % 3:02d}" / ("ses 1" if i % 2 else "ses_2") / "anat"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:03d}_é.json").write_bytes(rng.randbytes(rng.randrange(0, 3000)))
    (root / "empty.txt").write_bytes(b"")
    (root / "déjà vu" / "naïve file.tsv").parent.mkdir(parents=True)
    (root / "déjà vu" / "naïve file.tsv").write_text("a\tb\n", encoding="utf-8")
    for i, size in enumerate(large):
        (root / "big" / f"rec{i}.bin").parent.mkdir(parents=True, exist_ok=True)
        (root / "big" / f"rec{i}.bin").write_bytes(os.urandom(size))
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file, ignoring nothing."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def tree(tmp_path: Path, zone: Zone) -> Iterator[Path]:
    """The mixed tree; its small files scaled to the zone (their count is not the point)."""
    yield make_tree(tmp_path / "src", small=zone.scaled(300, 60))
