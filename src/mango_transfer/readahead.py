"""Read a blocking iterator of batches one batch ahead, in a thread of its own.

A listing's pages (a GenQuery page: a round trip, the server's work and the reply's parsing; a
folder's ``stat`` calls) used to be read only when the merge had used up the previous one, so
the event loop waited for each page in turn. :class:`ReadAhead` keeps one page ready while the
merge consumes the current one: the reader thread fetches page N+1 while page N is merged.

Only the reader thread advances the iterator (a GenQuery continuation must stay on its
session's connection, one request at a time); :meth:`ReadAhead.close` stops it and, once it
has stopped, closes the iterator from the calling thread (a generator's ``finally`` then
closes the query on the server). Lives at the package top because both sides' listings use it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["ReadAhead"]

T = TypeVar("T")
_WAIT = 0.1  # seconds between checks while closing


class ReadAhead(Generic[T]):
    """``get()`` the next batch of ``batches`` (None at the end), read ``depth`` ahead."""

    def __init__(self, batches: Iterator[T], *, depth: int = 1, name: str = "read-ahead") -> None:
        self._batches = batches
        self._ready: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for batch in self._batches:
                self._ready.put(("batch", batch))
                if self._stop.is_set():
                    return
            self._ready.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._ready.put(("error", exc))

    def get(self) -> T | None:
        """Block until the next batch is read; None once there is none; the reader's error
        is raised here, in the consumer's thread."""
        kind, value = self._ready.get()
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        if kind == "end":
            self._ready.put(("end", None))  # every later get() sees the end too
            return None
        return value  # type: ignore[return-value]

    def close(self) -> None:
        """Stop reading (a batch being read is finished first), then close the iterator."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._ready.get(timeout=_WAIT)  # unblock a reader waiting to hand one over
            except queue.Empty:
                pass
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
