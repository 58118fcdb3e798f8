"""heap.return_large_blocks: set on Linux/glibc, a no-op elsewhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mango_transfer import heap


def test_fixing_the_threshold_keeps_a_freed_block_out_of_the_heap() -> None:
    """After the call, a freed 4 MiB block is returned: RSS falls back (checked in a child, so
    the test process keeps glibc's defaults)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    code = """
import sys
from mango_transfer.heap import return_large_blocks
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
fixed = sys.argv[1] == "fixed"
if fixed:
    assert return_large_blocks()
blocks = [bytearray(4 << 20) for _ in range(1)]
del blocks  # frees one mapped block: glibc now raises its threshold unless it is fixed
before = rss()
kept, pinned = [], []
for _ in range(25):  # 100 MiB of blocks, each followed by a small live allocation
    kept.append(bytearray(4 << 20))
    pinned.append(bytearray(2000))
del kept  # holes inside the heap stay resident; mapped blocks are gone
print(rss() - before)
"""
    grown = {mode: int(subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                      text=True, check=True).stdout)
             for mode in ("default", "fixed")}
    assert grown["fixed"] < 20_000  # kB: the 100 MiB went back to the OS
    assert grown["default"] > 80_000  # what the fix prevents: the freed blocks stay resident


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap.sys, "platform", "win32")
    assert heap.return_large_blocks() is False
