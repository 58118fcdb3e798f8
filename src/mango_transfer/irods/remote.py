"""The remote side of a transfer: a small protocol, and python-irodsclient behind it.

The engine talks to :class:`RemoteSide` only (stat, walk, open a handle, finalize, mkdir, set
mtime, set ACL, checksum, unlink); :class:`IrodsRemote` implements it with PRC, one session
per call, and translates every PRC exception at this boundary. All methods block: the engine
runs them through ``anyio.to_thread.run_sync`` with a session checked out of the pool.

**Walk.** One GenQuery for every data object below a collection
(``COLL_NAME = 'c' || like 'c/%'``), selecting name, collection, size, checksum, modify time and
replica status, ordered by ``COLL_NAME, DATA_NAME`` and read page by page (500 rows) on one
connection. That is the order of the local walk (``localfs.walk``), so the engine merges the
two listings side by side without holding either. ``LIKE`` treats ``_`` and ``%`` in the
collection name as wildcards, so rows outside the collection are dropped here; several replicas
of one object arrive adjacent and are folded into one entry (good if any replica is good).

**Handles.** :meth:`IrodsRemote.open` wraps PRC's ``open`` for the parallel-transfer protocol:
the primary handle (``finalize_on_close=True``) gives the replica token and resource hierarchy;
secondary handles join with ``replicaToken``/``resc_hier`` and close with REPLICA_CLOSE. A
handle is never closed on failure: the engine discards its session instead, the server sees the
connection go and marks an unfinished replica stale (never "good" with missing bytes).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from irods import keywords as kw
from irods.access import iRODSAccess
from irods.column import Criterion
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from mango_transfer.errors import RemoteNotFound, TransferFailed, UnsafePath
from mango_transfer.fileinfo import FileInfo
from mango_transfer.irods.errors import translate_irods_errors
from mango_transfer.localfs.paths import irods_relative

__all__ = ["REPLICA_GOOD", "IrodsRemote", "RemoteFile", "RemoteHandle", "RemoteSide"]

REPLICA_GOOD = "1"
_ACL_NAMES = {"read": "read", "write": "write", "own": "own", "null": "null"}


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One data object as listed: its identity for ``decide`` and whether it is complete.

    ``good`` is False for a stale or intermediate replica (an interrupted upload): the engine
    then treats the object as changed, whatever its size and time say.
    """

    info: FileInfo
    good: bool


class _EqualsOrUnder(Criterion):
    """``= 'c' || like 'c/%'``: the collection itself or anything below it, in one condition."""

    def __init__(self, collection: str) -> None:
        super().__init__("=", Collection.name, collection)

    @property
    def irods_value(self) -> str:
        return f"'{self.value}' || like '{self.value}/%'"


def _epoch(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(value)


class RemoteHandle:
    """An open replica: positioned reads/writes of byte ranges, then one close.

    Not thread-safe; one worker thread uses it at a time (it owns one connection).
    """

    def __init__(self, path: str, buffered: Any, raw: Any, primary: bool) -> None:
        self.path = path
        self._buffered = buffered
        self._raw = raw
        self.primary = primary
        self.closed = False

    def access_info(self) -> tuple[str, str]:
        """(replica token, resource hierarchy) for secondary handles to join this replica."""
        with translate_irods_errors(self.path):
            token, hierarchy = self._raw.replica_access_info()
        return str(token or ""), str(hierarchy or "")

    def seek(self, offset: int) -> None:
        with translate_irods_errors(self.path):
            self._raw.seek(offset, 0)

    def write(self, data: bytes | memoryview) -> None:
        """Write all of ``data`` at the current position."""
        with translate_irods_errors(self.path):
            written = self._raw.write(data if isinstance(data, bytes) else bytes(data))
        if written != len(data):
            raise TransferFailed(f"the server stored {written} of {len(data)} bytes",
                                 path=self.path, retryable=True)

    def readinto(self, buffer: memoryview) -> int:
        """Read up to ``len(buffer)`` bytes at the current position; 0 at the end."""
        with translate_irods_errors(self.path):
            return int(self._raw.readinto(buffer) or 0)

    def close(self) -> None:
        """Finalize (primary) or REPLICA_CLOSE (secondary). Call only after success."""
        if self.closed:
            return
        self.closed = True
        with translate_irods_errors(self.path):
            self._buffered.close()


class RemoteSide(Protocol):
    """What the engine needs from the remote side; see the module docstring."""

    def stat(self, session: iRODSSession, path: str) -> RemoteFile | None: ...

    def is_collection(self, session: iRODSSession, path: str) -> bool: ...

    def walk_pages(self, session: iRODSSession, collection: str) -> Iterator[list[RemoteFile]]: ...

    def open(self, session: iRODSSession, path: str, mode: str, *, size: int = -1,
             threads: int = 1, token: str | None = None, hierarchy: str | None = None,
             create: bool = True) -> RemoteHandle: ...

    def mkdir(self, session: iRODSSession, path: str) -> None: ...

    def set_mtime(self, session: iRODSSession, path: str, mtime: int) -> None: ...

    def set_acl(self, session: iRODSSession, path: str, user: str, level: str,
                recursive: bool) -> None: ...

    def checksum(self, session: iRODSSession, path: str) -> str: ...

    def mark_stale(self, session: iRODSSession, path: str) -> None: ...

    def unlink(self, session: iRODSSession, path: str) -> None: ...

    def collection_or_object(self, session: iRODSSession, path: str) -> str: ...


class IrodsRemote:
    """:class:`RemoteSide` over python-irodsclient. Stateless: the session is an argument."""

    def stat(self, session: iRODSSession, path: str) -> RemoteFile | None:
        """The object at ``path`` (``info.path`` is its name), or None when there is none."""
        parent, name = posixpath.split(path)
        query = (session.query(DataObject.size, DataObject.checksum, DataObject.modify_time,
                               DataObject.replica_status)
                 .filter(Collection.name == parent).filter(DataObject.name == name))
        with translate_irods_errors(path):
            rows = list(query)
        files = [self._entry(name, row) for row in rows]
        return _fold(files) if files else None

    def is_collection(self, session: iRODSSession, path: str) -> bool:
        with translate_irods_errors(path):
            rows = list(session.query(Collection.id).filter(Collection.name == path).limit(1))
        return bool(rows)

    @staticmethod
    def _entry(relative: str, row: Any) -> RemoteFile:
        status = str(row[DataObject.replica_status])
        info = FileInfo(path=relative, size=int(row[DataObject.size]),
                        mtime=_epoch(row[DataObject.modify_time]),
                        checksum=row[DataObject.checksum] or None)
        return RemoteFile(info=info, good=status == REPLICA_GOOD)

    def walk_pages(self, session: iRODSSession, collection: str) -> Iterator[list[RemoteFile]]:
        """Every object below ``collection`` in (collection, name) order, one list per page.

        A generator: advance it from one thread at a time, always with the same session (the
        continuation must reach the connection that started the query). Closing it early
        closes the query on the server.
        """
        base = collection.rstrip("/") or "/"
        query = (session.query(Collection.name, DataObject.name, DataObject.size,
                               DataObject.checksum, DataObject.modify_time,
                               DataObject.replica_status)
                 .filter(_EqualsOrUnder(base))
                 .order_by(Collection.name).order_by(DataObject.name))
        pending: RemoteFile | None = None
        key: tuple[str, str] | None = None
        with translate_irods_errors(base):
            batches = query.get_batches()
            try:
                for batch in batches:
                    page: list[RemoteFile] = []
                    for row in batch:
                        coll, name = str(row[Collection.name]), str(row[DataObject.name])
                        _refuse_unsafe_name(coll, name)
                        if coll != base and not coll.startswith(base + "/"):
                            continue  # LIKE wildcard ('_' or '%' in the name) matched a sibling
                        entry = self._entry(irods_relative(base, f"{coll}/{name}"), row)
                        if key == (coll, name) and pending is not None:
                            pending = _fold([pending, entry])  # another replica, same object
                            continue
                        if pending is not None:
                            page.append(pending)
                        pending, key = entry, (coll, name)
                    if page:
                        yield page
                if pending is not None:
                    yield [pending]
            finally:
                batches.close()

    def open(self, session: iRODSSession, path: str, mode: str, *, size: int = -1,
             threads: int = 1, token: str | None = None, hierarchy: str | None = None,
             create: bool = True) -> RemoteHandle:
        """Open ``path``; with ``token``/``hierarchy`` the handle joins an open replica as a
        secondary (closed with REPLICA_CLOSE), else it is the primary (finalizes on close)."""
        options: dict[str, Any] = {}
        if size >= 0:
            options[kw.DATA_SIZE_KW] = str(size)
        if threads > 1:
            options[kw.NUM_THREADS_KW] = str(threads)
        secondary = token is not None
        if secondary:
            options[kw.RESC_HIER_STR_KW] = hierarchy or ""
            options[kw.REPLICA_TOKEN_KW] = token
        with translate_irods_errors(path):
            buffered, raw = session.data_objects.open_with_FileRaw(
                path, mode, create=create, finalize_on_close=not secondary, auto_close=False,
                allow_redirect=False, **options)
        return RemoteHandle(path, buffered, raw, primary=not secondary)

    def mkdir(self, session: iRODSSession, path: str) -> None:
        """Create ``path`` and missing parents (an existing collection is fine)."""
        with translate_irods_errors(path):
            session.collections.create(path, recurse=True)

    def set_mtime(self, session: iRODSSession, path: str, mtime: int) -> None:
        with translate_irods_errors(path):
            session.data_objects.modDataObjMeta({"objPath": path}, {"dataModify": str(mtime)})

    def set_acl(self, session: iRODSSession, path: str, user: str, level: str,
                recursive: bool) -> None:
        name, _, zone = user.partition("#")
        access = iRODSAccess(_ACL_NAMES[level], path, name, zone or session.zone)
        with translate_irods_errors(path):
            session.acls.set(access, recursive=recursive)

    def checksum(self, session: iRODSSession, path: str) -> str:
        """The stored checksum, or one the server computes (and registers) now."""
        with translate_irods_errors(path):
            return str(session.data_objects.chksum(path) or "")

    def mark_stale(self, session: iRODSSession, path: str) -> None:
        """Flag the replica stale: bytes that failed verification must never look complete."""
        with translate_irods_errors(path):
            session.data_objects.modDataObjMeta({"objPath": path}, {"replStatus": "0"})

    def unlink(self, session: iRODSSession, path: str) -> None:
        with translate_irods_errors(path):
            session.data_objects.unlink(path, force=True)

    def collection_or_object(self, session: iRODSSession, path: str) -> str:
        """``"collection"`` or ``"object"``; RemoteNotFound when ``path`` is neither."""
        if self.is_collection(session, path):
            return "collection"
        if self.stat(session, path) is not None:
            return "object"
        raise RemoteNotFound("remote source does not exist", path=path)


def _fold(entries: list[RemoteFile]) -> RemoteFile:
    """One entry for several replicas: a good one if there is one."""
    good = [entry for entry in entries if entry.good]
    return good[0] if good else entries[0]


def _refuse_unsafe_name(collection: str, name: str) -> None:
    """iRODS never names an object ``..`` or with a ``/``: a listing that does comes from a broken
    or hostile server, and following it could write outside the destination."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UnsafePath(f"the server listed an object named {name!r} in {collection}; such a "
                         "name would leave the destination folder, so nothing more is trusted "
                         "from this listing", path=f"{collection}/{name}")
