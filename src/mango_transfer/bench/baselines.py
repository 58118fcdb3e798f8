"""The alternatives, written the way their users write them (not handicapped).

- ``seed_upload``: the labs' sequential loop: ``rglob``, a collection check/create per file,
  ``data_objects.put`` one file at a time.
- ``seed_download``: the labs' download script: list collection by collection recursively, then
  a 4-thread pool of ``get`` calls sharing one session, skipping files whose size matches.
- ``prc_put`` / ``prc_get``: plain python-irodsclient with ``num_threads`` (its parallel
  transfer), one file after the other.
- ``ibridges_upload`` / ``ibridges_download``: iBridges' own functions, when installed.
- ``icommands``: ``iput -r -N 4`` / ``iget -r -N 4`` when found on PATH; beside it, for trees
  of many files, ``icommands_r`` (``iput -r`` / ``iget -r``, their defaults), ``icommands_bulk``
  (``iput -r -b``, bulk upload, 50 files a request) and ``irsync`` (``irsync -r`` either way).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from irods.session import iRODSSession

DESCRIPTIONS = {
    "seed_upload": "sequential PRC put loop: rglob, collection check per file, put one by one",
    "seed_download": "recursive listing per collection, 4-thread pool of get sharing one session, skip by size",
    "prc": "plain python-irodsclient put/get with num_threads=4, one file after another",
    "ibridges": "iBridges upload()/download() (its own defaults)",
    "prc_4proc": "4 processes of plain python-irodsclient open/write/close, a quarter of the files each",
    "icommands": "iput/iget -r -N 4",
    "icommands_r": "iput/iget -r (defaults)",
    "icommands_bulk": "iput -r -b (bulk upload)",
    "irsync": "irsync -r",
}

# The iCommands command lines, per baseline and direction (None: not that direction).
ICOMMANDS: dict[str, tuple[list[str] | None, list[str] | None]] = {
    "icommands": (["iput", "-r", "-f", "-N", "4"], ["iget", "-r", "-f", "-N", "4"]),
    "icommands_r": (["iput", "-r", "-f"], ["iget", "-r", "-f"]),
    "icommands_bulk": (["iput", "-r", "-b"], None),
    "irsync": (["irsync", "-r"], ["irsync", "-r"]),
}


def seed_upload(session: iRODSSession, local: Path, collection: str, limit: int | None = None) -> int:
    done = 0
    for path in sorted(local.rglob("*")):
        if not path.is_file():
            continue
        target = f"{collection}/{path.relative_to(local).as_posix()}"
        parent = target.rsplit("/", 1)[0]
        if not session.collections.exists(parent):
            session.collections.create(parent)
        session.data_objects.put(str(path), target)
        done += 1
        if limit is not None and done >= limit:
            break
    return done


def _list_recursive(session: iRODSSession, collection: str,
                    limit: int | None = None) -> list[tuple[str, int]]:
    """Objects under ``collection``, collection by collection; with ``limit``, the listing stops
    once it holds that many, so a sampled run pays the listing of its sample only."""
    coll = session.collections.get(collection)
    found = [(obj.path, obj.size) for obj in coll.data_objects]
    for sub in coll.subcollections:
        if limit is not None and len(found) >= limit:
            break
        found += _list_recursive(session, sub.path, None if limit is None else limit - len(found))
    return found[:limit]


def seed_download(session: iRODSSession, collection: str, local: Path, limit: int | None = None) -> int:
    """The labs' download script; ``limit`` (the sample) also bounds its listing, so the rate of
    a sample carries the same listing cost per file as a run over the whole tree."""
    objects = _list_recursive(session, collection, limit)

    def fetch(entry: tuple[str, int]) -> None:
        path, size = entry
        target = local / path[len(collection) + 1:]
        if target.exists() and target.stat().st_size == size:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        session.data_objects.get(path, str(target), forceFlag="")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fetch, objects))
    return len(objects)


def prc_put(session: iRODSSession, local: Path, collection: str, threads: int = 4) -> int:
    done = 0
    for path in sorted(local.rglob("*")):
        if path.is_file():
            target = f"{collection}/{path.relative_to(local).as_posix()}"
            session.collections.create(target.rsplit("/", 1)[0])
            session.data_objects.put(str(path), target, num_threads=threads)
            done += 1
    return done


def prc_get(session: iRODSSession, collection: str, local: Path, threads: int = 4) -> int:
    done = 0
    for path, _ in _list_recursive(session, collection):
        target = local / path[len(collection) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        session.data_objects.get(path, str(target), num_threads=threads, forceFlag="")
        done += 1
    return done


def _prc_open_write_close(args: tuple[str, str, list[tuple[str, str]]]) -> int:
    """One process of :func:`prc_parallel_put`: its own session, open/write/close per file."""
    env_file, auth_file, pairs = args
    with iRODSSession(irods_env_file=env_file, irods_authentication_file=auth_file) as session:
        made: set[str] = set()
        for local, target in pairs:
            parent = target.rsplit("/", 1)[0]
            if parent not in made:
                session.collections.create(parent)
                made.add(parent)
            with open(local, "rb") as source, session.data_objects.open(target, "w") as out:
                out.write(source.read())
    return len(pairs)


def prc_parallel_put(env_file: Path, auth_file: Path, local: Path, collection: str,
                     processes: int = 4) -> int:
    """The zone's small-file capacity as python-irodsclient users reach it: ``processes``
    processes (spawned) of plain open/write/close, each on its own session and files."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    pairs = [(str(path), f"{collection}/{path.relative_to(local).as_posix()}")
             for path in sorted(local.rglob("*")) if path.is_file()]
    shares = [(str(env_file), str(auth_file), pairs[index::processes])
              for index in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        return sum(pool.map(_prc_open_write_close, shares))


def ibridges_available() -> bool:
    try:
        import ibridges  # noqa: F401
    except ImportError:
        return False
    return True


def ibridges_transfer(env_file: Path, local: Path, collection: str, upload: bool) -> None:
    from ibridges import IrodsPath, Session, download
    from ibridges import upload as ib_upload

    with Session(irods_env=str(env_file), password=_password(env_file)) as session:
        # iBridges (2.x) finds the session through the IrodsPath; a folder lands as a
        # sub-collection of the target, the same bytes either way.
        if upload:
            ib_upload(local, IrodsPath(session, collection), overwrite=True, progress_bar=False)
        else:
            download(IrodsPath(session, collection), local, overwrite=True, progress_bar=False)


def _password(env_file: Path) -> str | None:
    from irods.password_obfuscation import decode

    auth = os.environ.get("IRODS_AUTHENTICATION_FILE") or str(env_file.parent / ".irodsA")
    try:
        return str(decode(Path(auth).read_text()))
    except OSError:
        return None


def icommands_available() -> bool:
    return shutil.which("iput") is not None and shutil.which("iget") is not None


def icommands_transfer(env: dict[str, str], local: Path, collection: str, upload: bool,
                       variant: str = "icommands") -> None:
    """One iCommands baseline (:data:`ICOMMANDS`); irsync names the iRODS side ``i:PATH``."""
    command = ICOMMANDS[variant][0 if upload else 1]
    if command is None:
        raise ValueError(f"{variant} has no {'upload' if upload else 'download'}")
    remote = f"i:{collection}" if variant == "irsync" else collection
    paths = [str(local), remote] if upload else [remote, str(local)]
    subprocess.run([*command, *paths], check=True, env={**os.environ, **env}, capture_output=True)
