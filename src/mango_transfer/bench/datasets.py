"""Synthetic datasets shaped like the labs' data, scaled so a smoke run takes seconds.

Content is random (incompressible) but generated from a seed, so a dataset is reproducible, and
written in 1 MiB blocks so making a 2 GiB file does not need 2 GiB of memory.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    files: int
    bytes: int


def _write(path: Path, size: int, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = rng.randbytes(min(size, MIB)) if size else b""
    with open(path, "wb") as handle:
        remaining = size
        while remaining > 0:
            piece = block[: min(remaining, len(block))]
            handle.write(piece)
            remaining -= len(piece)
            if remaining and len(block) == MIB:  # vary blocks so no two MiB are equal
                block = block[1:] + block[:1]


def small_files(root: Path, count: int, size: int = 4096, seed: int = 1) -> Dataset:
    """``count`` files of ``size`` bytes in folders of 500, like a directory of JSON sidecars."""
    rng = random.Random(seed)
    for index in range(count):
        _write(root / f"d{index // 500:03d}" / f"f{index:06d}.json", size, rng)
    return Dataset("small", root, count, count * size)


def large_file(root: Path, size: int, seed: int = 2) -> Dataset:
    _write(root / "recording.nii.gz", size, random.Random(seed))
    return Dataset("large", root, 1, size)


def bids_study(root: Path, small: int, large: int, large_size: int, seed: int = 3) -> Dataset:
    """A BIDS-like study: JSON/TSV sidecars spread over subjects and sessions, a few recordings."""
    rng = random.Random(seed)
    total = 0
    subjects = max(1, small // 100)
    for index in range(small):
        subject, session = index % subjects, (index // subjects) % 2
        kind = ("anat", "func", "eeg")[index % 3]
        suffix = ".json" if index % 2 else ".tsv"
        size = 512 + rng.randrange(8192)
        _write(root / f"sub-{subject:03d}" / f"ses-{session + 1:02d}" / kind
               / f"sub-{subject:03d}_ses-{session + 1:02d}_run-{index:05d}{suffix}", size, rng)
        total += size
    for index in range(large):
        _write(root / f"sub-{index:03d}" / "ses-01" / "eeg" / f"sub-{index:03d}_eeg.edf",
               large_size, rng)
        total += large_size
    return Dataset("study", root, small + large, total)


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for folder, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.stat(os.path.join(folder, name)).st_size
    return files, size
