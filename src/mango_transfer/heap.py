"""Keep a long-running process's memory flat: large buffers go back to the OS when freed.

Transfers read and send 4 MiB blocks, in many worker threads. glibc's ``malloc`` serves such a
block with ``mmap`` at first, but after the first one is freed it raises its mmap threshold
above that size (the "dynamic threshold"), and from then on every block comes from a thread's
arena, where freed space is kept and fragments. A watcher that runs for days then creeps up
with every file (in the ingest soak: about 2 MB a minute, 70 → 106 MB in ten minutes).
Fixing the threshold (``mallopt(M_MMAP_THRESHOLD, ...)``) turns the dynamic threshold off:
every block above it is mapped and unmapped, at the cost of two system calls per block.

Only on Linux with glibc (the one allocator that has this behaviour and this call); anywhere
else, or when the call is refused, nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "return_large_blocks"]

MMAP_THRESHOLD = 256 * 1024  # bytes: allocations at least this large are mapped, not pooled
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold for this process; True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
