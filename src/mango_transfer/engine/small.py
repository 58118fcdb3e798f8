"""How a small file crosses the wire: in one request, or open, write (read), close.

Two ways move a file below the single-buffer size, with the same guarantees:

- ``SINGLE``: one request. DATA_OBJ_PUT (606) carries the bytes in the request, DATA_OBJ_GET
  (608) in the reply, as ``iput``/``iget`` do for small files.
- ``OPEN``: three requests on one connection: DATA_OBJ_OPEN (602), one WRITE (676) or READ (675)
  per 4 MiB, DATA_OBJ_CLOSE (673), as python-irodsclient does.

Which is faster depends on the zone, measured on both servers here (server CPU per 4 KiB
file, ``benchmarks/README.md``): the embedded server spends about half as much on a 606 as on
602+676+673, and every request saved is a round trip saved across a WAN; a real iRODS 5.0.2
does more work in DATA_OBJ_PUT/GET than in open/write/close (the put resolves the resource
hierarchy and checks the object twice before its own open; the get allocates and clears a
32 MiB buffer), so when its CPU is the limit the three cheaper requests move more files per
second. ``AUTO`` (the default) measures instead of guessing: the run's first small files
alternate between the two ways, and once each way has :data:`PROBE_FILES` timings, the way
with the lower median time per file is kept for the rest of the run, per direction. The
timings cover the requests only (not the local disk), taken while the other workers run,
so a busy server's queueing counts, as it counts for throughput.
"""

from __future__ import annotations

import enum
import statistics
import threading

__all__ = ["PROBE_FILES", "Method", "SmallFiles"]

PROBE_FILES = 8  # timings of each way before AUTO chooses


class Method(enum.Enum):
    SINGLE = "single"
    OPEN = "open"


class SmallFiles:
    """The way small files move in one run (``choice``: "auto", "single" or "open"), per
    direction ("upload"/"download"). Thread-safe: worker threads report their timings."""

    def __init__(self, choice: str = "auto") -> None:
        self.choice = choice
        self._lock = threading.Lock()
        self._chosen: dict[str, Method] = {}
        self._timings: dict[tuple[str, Method], list[float]] = {}
        self._turn: dict[str, int] = {}

    def method(self, direction: str) -> Method:
        """The way the next small file of ``direction`` moves."""
        if self.choice != "auto":
            return Method(self.choice)
        with self._lock:
            chosen = self._chosen.get(direction)
            if chosen is not None:
                return chosen
            turn = self._turn.get(direction, 0)
            self._turn[direction] = turn + 1
            return Method.SINGLE if turn % 2 == 0 else Method.OPEN

    def record(self, direction: str, method: Method, seconds: float) -> None:
        """One file's request time; AUTO decides once both ways have enough timings."""
        if self.choice != "auto":
            return
        with self._lock:
            if direction in self._chosen:
                return
            self._timings.setdefault((direction, method), []).append(seconds)
            single = self._timings.get((direction, Method.SINGLE), [])
            opened = self._timings.get((direction, Method.OPEN), [])
            if len(single) >= PROBE_FILES and len(opened) >= PROBE_FILES:
                faster = statistics.median(single) <= statistics.median(opened)
                self._chosen[direction] = Method.SINGLE if faster else Method.OPEN

    def chosen(self) -> dict[str, str]:
        """What AUTO settled on so far, per direction (for the debug log and the report)."""
        with self._lock:
            return {direction: method.value for direction, method in self._chosen.items()}
