"""The alternatives, written the way their users write them (not handicapped).

- ``seed_upload``: the labs' sequential loop: ``rglob``, a collection check/create per file,
  ``data_objects.put`` one file at a time.
- ``seed_download``: the labs' download script: list collection by collection recursively, then
  a 4-thread pool of ``get`` calls sharing one session, skipping files whose size matches.
- ``prc_put`` / ``prc_get``: plain python-irodsclient with ``num_threads`` (its parallel
  transfer), one file after the other.
- ``ibridges_upload`` / ``ibridges_download``: iBridges' own functions, when installed.
- ``icommands``: ``iput -r -N`` / ``iget -r -N`` when found on PATH.
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
    "icommands": "iput/iget -r -N 4",
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


def _list_recursive(session: iRODSSession, collection: str) -> list[tuple[str, int]]:
    coll = session.collections.get(collection)
    found = [(obj.path, obj.size) for obj in coll.data_objects]
    for sub in coll.subcollections:
        found += _list_recursive(session, sub.path)
    return found


def seed_download(session: iRODSSession, collection: str, local: Path, limit: int | None = None) -> int:
    objects = _list_recursive(session, collection)[:limit]

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


def icommands_transfer(env: dict[str, str], local: Path, collection: str, upload: bool) -> None:
    if upload:
        command = ["iput", "-r", "-f", "-N", "4", str(local), collection]
    else:
        command = ["iget", "-r", "-f", "-N", "4", collection, str(local)]
    subprocess.run(command, check=True, env={**os.environ, **env}, capture_output=True)
