"""Watch mode: turn file-system activity into batches of *settled* files, ready to upload.

Why this shape:

- **Events plus a rescan.** watchfiles (``awatch``; recursive with ``-r``) reports changes at
  once on local disks; network drives and some mounts deliver none or lose some, so the whole
  folder is also rescanned every ``rescan_interval`` seconds. Both feed the same tracker, so a
  file seen twice is still handled once.
- **Settling.** A recording still being written must never be uploaded half-way. A file is
  *ready* only when its size and modification time (ns) stayed the same for ``settle`` seconds;
  a file changed after it was handed out becomes pending again and is handed out again. A file
  deleted before it settles is forgotten (deletions are never propagated). Files present when
  watching starts are the baseline: only later changes count (``--sync`` uploads the rest).
  Limit: a writer that pauses longer than ``settle`` is seen as done, then again when it resumes.
- **Batches.** Ready files are collected and handed out at most once every ``batch_interval``
  seconds, so a burst of thousands of files becomes one engine run, not thousands.
- **One task, no threads of our own.** :func:`ready_batches` is an async generator driven by
  ``awatch``'s ``yield_on_timeout`` tick; disk access (``stat``, rescans) runs in worker threads.
  While the consumer uploads a batch the generator is suspended, and watchfiles keeps buffering
  events meanwhile; the settle clock keeps running, which is right: time passed.
- **A vanished folder is waited out.** When ``root`` disappears (a USB disk unplugged, a share
  unmounted) the generator says so (``WatchEvents.folder_gone``), looks for it again every few
  seconds (backoff capped at :data:`FOLDER_RETRY_MAX`), and when it is back says so, rescans it
  and starts watching it afresh: files that appeared or changed meanwhile are handed out as
  usual, unchanged ones are not. What was pending stays pending. Only a folder missing at the
  start raises :class:`WatchedFolderGone` (a mistyped ``-p``).
- **What was seen.** ``WatchEvents.seen`` is told each file the moment it becomes pending (new,
  or changed since it was handed out) and ``forgotten`` each pending file that vanished before
  it settled, so the ingest log can list every file seen and not yet uploaded.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path, PurePath

import anyio
from watchfiles import Change, awatch

from mango_transfer.errors import LocalNotFound
from mango_transfer.ingest.filters import Filters

__all__ = [
    "DEFAULT_BATCH_INTERVAL",
    "DEFAULT_RESCAN_INTERVAL",
    "DEFAULT_SETTLE",
    "FOLDER_RETRY_MAX",
    "SettleTracker",
    "Signature",
    "WatchEvents",
    "WatchedFolderGone",
    "ready_batches",
    "scan",
]

DEFAULT_SETTLE = 3.0
DEFAULT_RESCAN_INTERVAL = 30.0
DEFAULT_BATCH_INTERVAL = 2.0
FOLDER_RETRY_MAX = 5.0  # seconds between looks for a vanished folder, at most


class WatchedFolderGone(LocalNotFound):
    """The folder given with ``-p`` does not exist (any more)."""

    default_hint = "check that the drive is mounted and the folder exists, then start again"


@dataclass(frozen=True, slots=True)
class Signature:
    """What "unchanged" means for a file: same size and same modification time in ns."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Signature:
        return cls(st.st_size, st.st_mtime_ns)


class SettleTracker:
    """Pure state machine of settling; the caller passes the clock, so tests need no sleeps.

    ``known`` holds each file's signature when it was last handed out (or at the baseline);
    ``pending`` the files changed since, with their latest signature and since when it holds.
    """

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self.known: dict[str, Signature] = {}
        self.pending: dict[str, tuple[Signature, float]] = {}

    def baseline(self, path: str, signature: Signature) -> None:
        """A file that counts as already handled (present before watching started)."""
        self.known[path] = signature

    def observe(self, path: str, signature: Signature, now: float) -> bool:
        """Record what a ``stat`` just saw; a new signature restarts the settle clock. True
        when the file has just become pending (new, or changed since it was handed out)."""
        current = self.pending.get(path)
        if current is not None:
            if current[0] != signature:
                self.pending[path] = (signature, now)
            return False
        if self.known.get(path) != signature:
            self.pending[path] = (signature, now)
            return True
        return False

    def forget(self, path: str) -> bool:
        """The file is gone: drop it, pending or not. True when it was pending."""
        self.known.pop(path, None)
        return self.pending.pop(path, None) is not None

    def tracked(self) -> set[str]:
        return self.known.keys() | self.pending.keys()

    def ready(self, now: float) -> list[str]:
        """Hand out (and mark handled) every pending file unchanged for ``settle`` seconds."""
        done = [path for path, (_, since) in self.pending.items() if now - since >= self.settle]
        for path in done:
            self.known[path] = self.pending.pop(path)[0]
        return sorted(done)


def _relative(root: str, path: str) -> str:
    """``path`` below ``root`` as ``a/b`` (``""`` for the root itself)."""
    return path[len(root):].lstrip(os.sep).replace(os.sep, "/")


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _scan_dir(root: str, start: str, recursive: bool, filters: Filters,
              seen: set[tuple[int, int]]) -> Iterator[tuple[str, Signature]]:
    """Accepted regular files below ``start`` (symlinks followed, loops and errors skipped)."""
    folders = [start]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                names = [entry.path for entry in entries]
        except OSError:
            continue  # unreadable or just deleted: the sync run reports such folders
        for path in names:
            try:
                st = os.stat(path)
            except OSError:
                continue
            relative = _relative(root, path)
            if stat.S_ISREG(st.st_mode):
                if filters.accepts(relative):
                    yield relative, Signature.of(st)
            elif (stat.S_ISDIR(st.st_mode) and recursive and not filters.prunes(relative)
                  and (st.st_dev, st.st_ino) not in seen):
                seen.add((st.st_dev, st.st_ino))
                folders.append(path)


def scan(root: str | os.PathLike[str], recursive: bool, filters: Filters) -> dict[str, Signature]:
    """Every accepted file below ``root`` with its signature (blocking; a rescan)."""
    top = os.fspath(root)
    st = os.stat(top)
    return dict(_scan_dir(top, top, recursive, filters, {(st.st_dev, st.st_ino)}))


@dataclass(frozen=True)
class WatchEvents:
    """What the watcher tells its user besides the batches; every callback is optional and is
    called on the event loop."""

    started: Callable[[], None] | None = None  # the baseline is taken: watching from now
    seen: Callable[[str, Signature], None] | None = None
    forgotten: Callable[[str], None] | None = None
    folder_gone: Callable[[], None] | None = None
    folder_back: Callable[[], None] | None = None


@dataclass
class _Probe:
    """What one tick's ``stat`` calls found."""

    root_ok: bool
    files: dict[str, Signature]
    gone: list[str]


class _Watch:
    """The state of one watch: the paths to look at on the next tick and the settle tracker."""

    def __init__(self, root: Path, recursive: bool, filters: Filters, settle: float,
                 events: WatchEvents | None = None) -> None:
        self.root = os.fspath(root)
        self.events = events or WatchEvents()
        # Event paths may name the root as given or canonically (macOS reports /private/...).
        self.event_roots = tuple(dict.fromkeys((self.root, os.path.realpath(self.root))))
        self.recursive = recursive
        self.filters = filters
        self.tracker = SettleTracker(settle)
        self.dirty: set[str] = set()

    def on_changes(self, changes: Iterable[tuple[Change, str]]) -> None:
        """Note what changed; files are looked at on the tick (a burst costs one ``stat`` each)."""
        for change, path in changes:
            event_root = next((r for r in self.event_roots if _inside(r, path)), None)
            if event_root is None:
                continue
            relative = _relative(event_root, path)
            if change is Change.deleted and relative:
                self._forget(relative)
                self.dirty.discard(relative)
            elif relative and (self.recursive or "/" not in relative):
                self.dirty.add(relative)

    def probe(self, paths: Iterable[str]) -> _Probe:
        """``stat`` the given paths (blocking). A new folder is scanned: files created in it
        before the watcher saw it produce no events of their own."""
        if not os.path.isdir(self.root):
            return _Probe(False, {}, [])
        files: dict[str, Signature] = {}
        gone: list[str] = []
        for relative in paths:
            full = os.path.join(self.root, *relative.split("/"))
            try:
                st = os.stat(full)
            except OSError:
                gone.append(relative)
                continue
            if stat.S_ISREG(st.st_mode):
                files[relative] = Signature.of(st)
            elif stat.S_ISDIR(st.st_mode) and self.recursive and not self.filters.prunes(relative):
                files.update(_scan_dir(self.root, full, True, self.filters, set()))
        return _Probe(True, files, gone)

    def _observe(self, relative: str, signature: Signature, now: float) -> None:
        if self.tracker.observe(relative, signature, now) and self.events.seen is not None:
            self.events.seen(relative, signature)

    def _forget(self, relative: str) -> None:
        if self.tracker.forget(relative) and self.events.forgotten is not None:
            self.events.forgotten(relative)

    def apply(self, probe: _Probe, now: float) -> None:
        if not probe.root_ok:
            raise WatchedFolderGone("the watched folder disappeared", path=self.root)
        for relative, signature in probe.files.items():
            if self.filters.accepts(relative):
                self._observe(relative, signature, now)
        for relative in probe.gone:
            self._forget(relative)

    def apply_rescan(self, found: dict[str, Signature], now: float) -> None:
        for relative in self.tracker.tracked() - found.keys():
            self._forget(relative)
        for relative, signature in found.items():
            self._observe(relative, signature, now)

    def still_ready(self, batch: set[str]) -> set[str]:
        """Drop from a waiting batch what was deleted or changed again since it settled."""
        return {p for p in batch if p in self.tracker.known and p not in self.tracker.pending}

    async def tick(self, now: float) -> list[str]:
        paths = self.dirty | self.tracker.pending.keys()
        self.dirty = set()
        self.apply(await anyio.to_thread.run_sync(self.probe, paths), now)
        return self.tracker.ready(now)

    async def rescan(self, now: float) -> None:
        try:
            found = await anyio.to_thread.run_sync(scan, self.root, self.recursive, self.filters)
        except OSError:
            raise WatchedFolderGone("the watched folder disappeared", path=self.root) from None
        self.apply_rescan(found, now)


async def _start(root: Path, recursive: bool, filters: Filters, settle: float,
                 include_existing: bool, events: WatchEvents | None) -> _Watch:
    """Check the folder and take the baseline (or, with ``include_existing``, queue it all)."""
    watch = _Watch(root, recursive, filters, settle, events)
    try:
        found = await anyio.to_thread.run_sync(scan, root, recursive, filters)
    except OSError:
        found = None
    if found is None or not await anyio.to_thread.run_sync(os.path.isdir, root):
        raise WatchedFolderGone("the folder to watch does not exist or is not a folder",
                                path=root)
    now = anyio.current_time()
    for relative, signature in found.items():
        if include_existing:
            watch._observe(relative, signature, now)
        else:
            watch.tracker.baseline(relative, signature)
    return watch


async def _until_back(watch: _Watch) -> None:
    """The folder vanished: say so, look for it with a capped backoff, say when it is back,
    and rescan it (what changed meanwhile becomes pending)."""
    if watch.events.folder_gone is not None:
        watch.events.folder_gone()
    wait = 0.25
    while True:
        await anyio.sleep(wait)
        wait = min(wait * 2, FOLDER_RETRY_MAX)
        try:
            found = await anyio.to_thread.run_sync(scan, watch.root, watch.recursive,
                                                   watch.filters)
        except OSError:
            continue
        if not await anyio.to_thread.run_sync(os.path.isdir, watch.root):
            continue
        if watch.events.folder_back is not None:
            watch.events.folder_back()
        watch.dirty = set()
        watch.apply_rescan(found, anyio.current_time())
        return


def _tick_seconds(settle: float, batch_interval: float) -> float:
    """Look often enough to notice settling promptly, rarely enough to stay idle."""
    return min(max(min(settle, batch_interval) / 4, 0.05), 0.5)


async def ready_batches(
    root: str | os.PathLike[str] | PurePath,
    *,
    recursive: bool,
    filters: Filters | None = None,
    settle: float = DEFAULT_SETTLE,
    rescan_interval: float = DEFAULT_RESCAN_INTERVAL,
    batch_interval: float = DEFAULT_BATCH_INTERVAL,
    include_existing: bool = False,
    force_polling: bool | None = None,
    poll_delay: float | None = None,
    events: WatchEvents | None = None,
) -> AsyncGenerator[list[str], None]:
    """Yield sorted batches of settled files (relative to ``root``, ``/``-separated), forever.

    Only files accepted by ``filters`` are yielded; with ``recursive`` False only the top level
    is watched. ``rescan_interval`` ``<= 0`` or ``inf`` disables the rescan. ``force_polling``
    is passed to watchfiles (None: its default, or ``WATCHFILES_FORCE_POLLING``), with
    ``poll_delay`` seconds between polls. Raises :class:`WatchedFolderGone` when ``root`` is
    missing at the start; a folder that vanishes later is waited for (see the module
    docstring), reported through ``events``. Close it with ``aclosing``.
    """
    path = Path(await anyio.Path(root).absolute())
    watch = await _start(path, recursive, filters or Filters(), settle, include_existing, events)
    if watch.events.started is not None:
        watch.events.started()
    tick = _tick_seconds(settle, batch_interval)
    rescan_every = rescan_interval if rescan_interval > 0 else math.inf
    next_rescan = anyio.current_time() + rescan_every
    last_yield = -math.inf
    batch: set[str] = set()
    milliseconds = max(int(tick * 1000), 1)
    poll_ms = 300 if poll_delay is None else max(int(poll_delay * 1000), 1)  # watchfiles' default
    while True:
        events_stream = awatch(path, watch_filter=None, recursive=recursive,
                               debounce=milliseconds, step=min(50, milliseconds),
                               rust_timeout=milliseconds, yield_on_timeout=True,
                               force_polling=force_polling, poll_delay_ms=poll_ms)
        gone = False
        async with aclosing(events_stream):
            async for changes in events_stream:
                watch.on_changes(changes)
                now = anyio.current_time()
                try:
                    if now >= next_rescan:
                        await watch.rescan(now)
                        next_rescan = now + rescan_every
                    batch.update(await watch.tick(now))
                except WatchedFolderGone:
                    gone = True
                    break
                batch = watch.still_ready(batch)
                if batch and now - last_yield >= batch_interval:
                    yield sorted(batch)
                    batch, last_yield = set(), anyio.current_time()
        if not gone:
            return
        await _until_back(watch)
