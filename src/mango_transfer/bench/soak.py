"""The kill soak: SIGKILL the CLI at random moments during upload and download of a mixed tree,
then let one run finish and check that nothing was lost.

A moment is chosen by progress, not by time: each run is killed once the destination shows
that it has done a random share (at most half) of what was left, counted per file as started
(an object or a partial file exists) and complete (a good replica, or the final file, of the
right size). So every kill lands mid-transfer whatever the machine's speed: a fixed delay
killed a loaded machine's runs while Python was still starting, and let a fast one finish
before the kill. Once the tree is complete a run finishes without being killed.

Shared by the reliability test (10 kills in CI) and ``mango-transfer bench --scenarios soak``
(``--kills``, e.g. 50 by hand).  Checks: both trees byte-identical (SHA-256 of every file),
every replica good, no leftover partial or state file under the destination, and the finishing
run moved only what was still missing (resume, not restart).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.localfs.partial import partial_path

CHUNK = 4 << 20


@dataclass
class SoakResult:
    files: int
    kills_upload: int
    kills_download: int
    missing_before_final_upload: int
    moved_by_final_upload: int
    replicas_not_good: int
    identical: bool
    leftovers: list[str]

    @property
    def ok(self) -> bool:
        return (self.identical and not self.leftovers and self.replicas_not_good == 0
                and self.moved_by_final_upload == self.missing_before_final_upload)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def make_tree(root: Path, small: int = 60, large: int = 2, large_size: int = 14 << 20) -> dict[str, str]:
    rng = random.Random(7)
    for index in range(small):
        path = root / f"sub-{index % 3:02d}" / f"f{index:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randrange(0, 20_000)))
    for index in range(large):
        path = root / "recordings" / f"rec{index}.edf"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for _ in range(large_size >> 20):
                handle.write(rng.randbytes(1 << 20))
    return digests(root)


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mango_transfer", *args, "--quiet", "--threads", "6",
            "--chunk-threshold", str(CHUNK), "--retry-backoff", "0.1"]


Progress = Callable[[], int]  # what the destination shows done, in units of :data:`UNITS`

UNITS = 2  # per file: started, complete
POLL = 0.02  # seconds between looks at the destination
STALL = 300.0  # seconds a run may go without reaching its kill point or ending


def kill_loop(command: list[str], environ: dict[str, str], kills: int, seed: int,
              progress: Progress, total: int) -> int:
    """Start the run ``kills`` times and SIGKILL each once ``progress()`` has grown by a random
    share, at most half, of what is left of ``total``; returns how many runs were killed before
    they finished (a run that reaches its end first is not counted)."""
    rng, killed = random.Random(seed), 0
    for _ in range(kills):
        start = progress()
        goal = start + rng.randint(1, max(1, (total - start) // 2))
        process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STALL
        while process.poll() is None and progress() < goal:
            if time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=60)
                raise RuntimeError(f"{command[3]}: no end and no progress to {goal} of {total} "
                                   f"in {STALL:.0f} s (at {progress()})")
            time.sleep(POLL)
        if process.poll() is None:
            process.kill()  # SIGKILL; TerminateProcess on Windows
            if process.wait(timeout=60) != 0:  # not when it ended by itself meanwhile
                killed += 1
        process.wait(timeout=60)
    return killed


def upload_progress(session: iRODSSession, collection: str, sizes: dict[str, int]) -> Progress:
    """Per file of ``sizes``: 1 for an object (an upload began), 2 for a good replica of the
    file's size."""
    def units() -> int:
        return sum(UNITS if status == "1" and size == sizes[relative] else 1
                   for relative, (size, status) in _remote(session, collection).items()
                   if relative in sizes)
    return units


def download_progress(target: Path, sizes: dict[str, int]) -> Progress:
    """Per file of ``sizes``: 1 for a partial file with bytes in it, 2 for the file, complete."""
    def units() -> int:
        done = 0
        for relative, size in sizes.items():
            final = target.joinpath(*relative.split("/"))
            if _size(final) == size:
                done += UNITS
            elif (_size(partial_path(final)) or 0) > 0:
                done += 1
        return done
    return units


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _finish(command: list[str], environ: dict[str, str], report: Path) -> dict[str, object]:
    result = subprocess.run([*command, "--json-report", str(report)], env=environ,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"the finishing run failed: {result.stderr.strip()}")
    summary = json.loads(report.read_text())["summary"]
    assert isinstance(summary, dict)
    return summary


def _remote(session: iRODSSession, collection: str) -> dict[str, tuple[int, str]]:
    rows = session.query(Collection.name, DataObject.name, DataObject.size,
                         DataObject.replica_status).filter(Like(Collection.name, f"{collection}%"))
    return {f"{row[Collection.name]}/{row[DataObject.name]}"[len(collection) + 1:]:
            (int(row[DataObject.size]), str(row[DataObject.replica_status])) for row in rows}


SETTLE = 1.0  # seconds the catalog must stay unchanged before the finishing run is counted
SETTLE_CAP = 60.0


def _settled_remote(session: iRODSSession, collection: str) -> dict[str, tuple[int, str]]:
    """The collection once it has stopped changing: a SIGKILLed client's last DATA_OBJ_PUT or
    close was already on the wire, and the server's agent still completes it (a real iRODS
    agent takes a moment), so a file counted missing at the kill may be good a second later
    and rightly skipped by the finishing run."""
    deadline = time.monotonic() + SETTLE_CAP
    previous = _remote(session, collection)
    while True:
        time.sleep(SETTLE)
        current = _remote(session, collection)
        if current == previous or time.monotonic() > deadline:
            return current
        previous = current


def soak(environ: dict[str, str], workdir: Path, collection: str, kills: int) -> SoakResult:
    """``environ`` names the iRODS environment and auth files; ``collection`` must be new."""
    source, target = workdir / "source", workdir / "target"
    expected = make_tree(source)
    sizes = {rel: (source / rel).stat().st_size for rel in expected}
    environ = {**os.environ, **environ, "XDG_STATE_HOME": str(workdir / "state")}
    session = iRODSSession(irods_env_file=environ["IRODS_ENVIRONMENT_FILE"],
                           irods_authentication_file=environ["IRODS_AUTHENTICATION_FILE"])
    with session:
        upload = _command("upload", str(source), collection)
        killed_up = kill_loop(upload, environ, kills, 1, upload_progress(session, collection, sizes),
                              UNITS * len(sizes))
        before = _settled_remote(session, collection)
        complete = sum(1 for rel, (size, status) in before.items()
                       if status == "1" and size == sizes.get(rel))
        moved = _finish(upload, environ, workdir / "upload-report.json")["transferred"]
        after = _remote(session, collection)
    download = _command("download", collection, str(target))
    killed_down = kill_loop(download, environ, kills, 2, download_progress(target, sizes),
                            UNITS * len(sizes))
    _finish(download, environ, workdir / "download-report.json")
    got = digests(target)
    return SoakResult(
        files=len(expected), kills_upload=killed_up, kills_download=killed_down,
        missing_before_final_upload=len(expected) - complete, moved_by_final_upload=int(str(moved)),
        replicas_not_good=sum(1 for _, status in after.values() if status != "1")
        + len(set(expected) - set(after)),
        identical=got == expected, leftovers=sorted(set(got) - set(expected)))
