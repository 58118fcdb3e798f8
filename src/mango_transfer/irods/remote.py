"""The remote side of a transfer: a small protocol, and python-irodsclient behind it.

The engine talks to :class:`RemoteSide` only (stat, walk, put or get a whole small file, open
a handle, finalize, mkdir, set mtime, set ACL, checksum, unlink); :class:`IrodsRemote`
implements it with PRC, one session per call, and translates every PRC exception at this
boundary. All methods block: the engine runs them through ``anyio.to_thread.run_sync`` with a
session checked out of the pool.

**Walk.** One GenQuery for every data object below a collection
(``COLL_NAME = 'c' || like 'c/%'``), selecting name, collection, size, checksum, modify time and
replica status, ordered by ``COLL_NAME, DATA_NAME`` and read page by page (500 rows) on one
connection. That is the order of the local walk (``localfs.walk``), so the engine merges the
two listings side by side without holding either. ``LIKE`` treats ``_`` and ``%`` in the
collection name as wildcards, so rows outside the collection are dropped here; several replicas
of one object arrive adjacent and are folded into one entry (good if any replica is good).
The collections below one (:meth:`IrodsRemote.collection_pages`, ``COLL_NAME like 'c/%'`` in
name order) are a second, equally paged query: merged with the objects they give the whole tree,
empty collections included.

**Single requests.** :meth:`IrodsRemote.put_bytes` and :meth:`IrodsRemote.get_bytes` move a
whole small file in one request: DATA_OBJ_PUT (606) with the bytes in the request and
DATA_OBJ_GET (608) with the bytes (and, asked for, the checksum) in the reply, as ``iput`` and
``iget`` do below the server's single-buffer size.

**Handles.** :meth:`IrodsRemote.open` sends the open (602) itself, with PRC's message classes
on a connection of the session's PRC pool, and the handle then sends exactly one request per
operation (no buffered layer, so none of PRC's "tell" requests): a small upload this way is
602, 676, 673; a small download 602, 675 until the listed size, 673. For the
parallel-transfer protocol the primary handle (finalizes on close, 673) gives the replica token
and resource hierarchy (20000); secondary handles join with ``replicaToken``/``resc_hier`` and
close with REPLICA_CLOSE (20004). A handle is never closed on failure: the engine discards its
session (or :meth:`RemoteHandle.abort` drops its connection), the server sees the connection go
and marks an unfinished replica stale (never "good" with missing bytes).
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from irods import keywords as kw
from irods.access import iRODSAccess
from irods.api_number import api_number
from irods.column import Criterion, Like
from irods.exception import (
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    SYS_INVALID_INPUT_PARAM,
    CollectionDoesNotExist,
)
from irods.message import (
    FileOpenRequest,
    FileSeekResponse,
    JSON_Message,
    Message,
    OpenedDataObjRequest,
    StringStringMap,
    iRODSMessage,
)
from irods.message.property_types import IntegerProperty, StringProperty, SubmessageProperty
from irods.models import Collection, DataObject, User
from irods.session import iRODSSession

from mango_transfer.errors import PermissionDenied, RemoteNotFound, TransferFailed, UnsafePath
from mango_transfer.fileinfo import FileInfo, ListedFile
from mango_transfer.irods.errors import translate_irods_errors
from mango_transfer.irods.paths import irods_relative

__all__ = ["REPLICA_GOOD", "IrodsRemote", "NotIncluded", "RemoteHandle", "RemoteSide",
           "listed_file"]

REPLICA_GOOD = "1"
_ACL_NAMES = {"read": "read", "write": "write", "own": "own", "null": "null"}
# openFlags by mode, as PRC sends them (irods-protocol.md §4.4); O_CREAT is added by ``create``.
_O_CREAT = 0o100
_OPEN_FLAGS = {"r": 0, "r+": 2, "w": 1 | 0o1000, "a": 1}
_RESOURCE_KEYS = frozenset({kw.RESC_NAME_KW, kw.DEST_RESC_NAME_KW, kw.RESC_HIER_STR_KW})
# A recursive collection create that a concurrent sibling create cut short is asked again.
_MKDIR_ATTEMPTS = 3
_PUT_OPR, _GET_OPR = 1, 2  # DataObjInp.oprType of DATA_OBJ_PUT / DATA_OBJ_GET, as iput/iget send


class _PortList(Message):
    _name = "PortList_PI"
    portNum = IntegerProperty()
    cookie = IntegerProperty()
    sock = IntegerProperty()
    windowSize = IntegerProperty()
    hostAddr = StringProperty()


class _PortalOprOut(Message):
    """The reply body of DATA_OBJ_GET: the checksum asked for, or a portal for large objects."""

    _name = "PortalOprOut_PI"
    status = IntegerProperty()
    l1descInx = IntegerProperty()
    numThreads = IntegerProperty()
    chksum = StringProperty()
    PortList_PI = SubmessageProperty(_PortList)


class _IntInput(Message):
    _name = "INT_PI"
    myInt = IntegerProperty()


class NotIncluded(Exception):
    """DATA_OBJ_GET answered with a portal instead of the bytes: the object is larger than the
    zone's single-buffer size (``maximum_size_for_single_buffer_in_megabytes``). The replica
    was closed again; move it with an open and reads instead."""


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


def listed_file(relative: str, row: Any) -> ListedFile:
    """The entry for one GenQuery row of a data object's replica (size, checksum, modify time,
    replica status selected), named ``relative``."""
    status = str(row[DataObject.replica_status])
    info = FileInfo(path=relative, size=int(row[DataObject.size]),
                    mtime=_epoch(row[DataObject.modify_time]),
                    checksum=row[DataObject.checksum] or None)
    return ListedFile(info=info, good=status == REPLICA_GOOD, replica_status=status)


class RemoteHandle:
    """An open replica on one pooled connection: positioned reads/writes, then one close.

    Every method is one API request and one reply, built with PRC's own message classes and
    sent on a connection checked out of the session's PRC pool: no buffered layer, so none of
    the "tell" requests (674) that PRC's ``io.BufferedRandom`` sends at open and at close. The
    position is tracked here, so :meth:`seek` costs a request only when it moves.

    Not thread-safe; one worker thread uses it at a time (it owns one connection).
    """

    def __init__(self, path: str, conn: Any, descriptor: int, *, primary: bool,
                 options: dict[str, str]) -> None:
        self.path = path
        self._conn = conn
        self._descriptor = descriptor
        self._options = options  # the close repeats the open's options, as PRC does
        self.primary = primary
        self.position = 0
        self.closed = False

    def _opened_request(self, api: str, *, length: int = 0, offset: int = 0, whence: int = 0,
                        options: dict[str, str] | None = None, data: bytes | None = None) -> Any:
        body = OpenedDataObjRequest(l1descInx=self._descriptor, len=length, whence=whence,
                                    oprType=0, offset=offset, bytesWritten=0,
                                    KeyValPair_PI=StringStringMap(options or {}))
        return iRODSMessage("RODS_API_REQ", msg=body, bs=data or b"", int_info=api_number[api])

    def _json_request(self, api: str, payload: dict[str, object]) -> Any:
        body = JSON_Message(payload, server_version=self._conn.server_version)
        self._conn.send(iRODSMessage("RODS_API_REQ", msg=body, int_info=api_number[api]))
        return self._conn.recv()

    def access_info(self) -> tuple[str, str]:
        """(replica token, resource hierarchy) for secondary handles to join this replica."""
        with translate_irods_errors(self.path):
            info = self._json_request("GET_FILE_DESCRIPTOR_INFO_APN",
                                      {"fd": self._descriptor}).get_json_encoded_struct()
        hierarchy = (info.get("data_object_info") or {}).get("resource_hierarchy", "")
        return str(info.get("replica_token") or ""), str(hierarchy or "")

    def seek(self, offset: int) -> None:
        """Move to ``offset`` (a request only when the position changes)."""
        if offset == self.position:
            return
        with translate_irods_errors(self.path):
            self._conn.send(self._opened_request("DATA_OBJ_LSEEK_AN", offset=offset))
            reply = self._conn.recv()
            self.position = int(reply.get_main_message(FileSeekResponse).offset)
        if self.position != offset:
            raise TransferFailed(f"the server moved to byte {self.position}, not {offset}",
                                 path=self.path, retryable=True)

    def write(self, data: bytes | memoryview) -> None:
        """Write all of ``data`` at the current position."""
        payload = data if isinstance(data, bytes) else bytes(data)
        with translate_irods_errors(self.path):
            self._conn.send(self._opened_request("DATA_OBJ_WRITE_AN", length=len(payload),
                                                 data=payload))
            written = int(self._conn.recv().int_info)
        self.position += max(written, 0)
        if written != len(payload):
            raise TransferFailed(f"the server stored {written} of {len(payload)} bytes",
                                 path=self.path, retryable=True)

    def readinto(self, buffer: memoryview) -> int:
        """Read up to ``len(buffer)`` bytes at the current position; 0 at the end."""
        with translate_irods_errors(self.path):
            self._conn.send(self._opened_request("DATA_OBJ_READ_AN", length=len(buffer)))
            reply = self._conn.recv_into(buffer)
        got = len(reply.bs) if reply.bs is not None else 0
        self.position += got
        return got

    def close(self) -> None:
        """Finalize (primary: 673) or REPLICA_CLOSE (secondary). Call only after success."""
        if self.closed:
            return
        self.closed = True
        try:
            with translate_irods_errors(self.path):
                if self.primary:
                    self._conn.send(self._opened_request("DATA_OBJ_CLOSE_AN",
                                                         options=self._options))
                    self._conn.recv()
                else:
                    self._json_request("REPLICA_CLOSE_APN", {
                        "fd": self._descriptor, "send_notification": False,
                        "update_size": False, "update_status": False, "compute_checksum": False})
        except BaseException:
            self._drop()  # a refused close: the server releases whatever this handle held
            raise
        self._conn.release()

    def abort(self) -> None:
        """Drop the connection without closing: the server releases the replica and marks a
        written one stale. For a failure in a single-handle transfer."""
        if self.closed:
            return
        self.closed = True
        self._drop()

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.disconnect()
        with contextlib.suppress(Exception):
            self._conn.release(True)


class RemoteSide(Protocol):
    """What the engine needs from the remote side; see the module docstring."""

    def stat(self, session: iRODSSession, path: str) -> ListedFile | None: ...

    def is_collection(self, session: iRODSSession, path: str) -> bool: ...

    def walk_pages(self, session: iRODSSession, collection: str,
                   recursive: bool = True) -> Iterator[list[ListedFile]]: ...

    def collection_pages(self, session: iRODSSession, collection: str,
                         recursive: bool = True) -> Iterator[list[tuple[str, int]]]: ...

    def open(self, session: iRODSSession, path: str, mode: str, *, size: int = -1,
             threads: int = 1, token: str | None = None, hierarchy: str | None = None,
             create: bool = True, checksum: str | None = None) -> RemoteHandle: ...

    def put_bytes(self, session: iRODSSession, path: str, data: bytes, *,
                  checksum: str | None = None) -> None: ...

    def get_bytes(self, session: iRODSSession, path: str, *,
                  verify: bool = False) -> tuple[bytes, str]: ...

    def mkdir(self, session: iRODSSession, path: str) -> None: ...

    def set_mtime(self, session: iRODSSession, path: str, mtime: int) -> None: ...

    def set_acl(self, session: iRODSSession, path: str, user: str, level: str,
                recursive: bool) -> None: ...

    def user_exists(self, session: iRODSSession, user: str) -> bool: ...

    def checksum(self, session: iRODSSession, path: str) -> str: ...

    def mark_stale(self, session: iRODSSession, path: str) -> None: ...

    def unlink(self, session: iRODSSession, path: str, trash: bool) -> None: ...

    def collection_or_object(self, session: iRODSSession, path: str) -> str: ...


@contextlib.contextmanager
def _write_refused(path: str) -> Iterator[None]:
    """An open or put that may create ``path``, where an object exists that this user may not
    write, is answered CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME by iRODS 5.0.2 (it takes the
    request for a create of a taken name): to the user that is a permission problem."""
    try:
        yield
    except CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME as exc:
        raise PermissionDenied("the data object exists and this user may not write it "
                               "(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME)", path=path,
                               hint="ask its owner for write access, or choose another "
                                    "destination") from exc


class IrodsRemote:
    """:class:`RemoteSide` over python-irodsclient. Stateless: the session is an argument."""

    def stat(self, session: iRODSSession, path: str) -> ListedFile | None:
        """The object at ``path`` (``info.path`` is its name), or None when there is none."""
        parent, name = posixpath.split(path)
        query = (session.query(DataObject.size, DataObject.checksum, DataObject.modify_time,
                               DataObject.replica_status)
                 .filter(Collection.name == parent).filter(DataObject.name == name))
        with translate_irods_errors(path):
            rows = list(query)
        files = [listed_file(name, row) for row in rows]
        return _fold(files) if files else None

    def is_collection(self, session: iRODSSession, path: str) -> bool:
        with translate_irods_errors(path):
            rows = list(session.query(Collection.id).filter(Collection.name == path).limit(1))
        return bool(rows)

    def walk_pages(self, session: iRODSSession, collection: str,
                   recursive: bool = True) -> Iterator[list[ListedFile]]:
        """Every object below ``collection`` in (collection, name) order, one list per page
        (``recursive=False``: only the objects directly in it).

        A generator: advance it from one thread at a time, always with the same session (the
        continuation must reach the connection that started the query). Closing it early
        closes the query on the server.
        """
        base = collection.rstrip("/") or "/"
        query = (session.query(Collection.name, DataObject.name, DataObject.size,
                               DataObject.checksum, DataObject.modify_time,
                               DataObject.replica_status)
                 .filter(_EqualsOrUnder(base) if recursive else Collection.name == base)
                 .order_by(Collection.name).order_by(DataObject.name))
        pending: ListedFile | None = None
        key: tuple[str, str] | None = None
        with translate_irods_errors(base):
            batches = query.get_batches()
            try:
                for batch in batches:
                    page: list[ListedFile] = []
                    for row in batch:
                        coll, name = str(row[Collection.name]), str(row[DataObject.name])
                        _refuse_unsafe_name(coll, name)
                        if coll != base and not coll.startswith(base + "/"):
                            continue  # LIKE wildcard ('_' or '%' in the name) matched a sibling
                        entry = listed_file(irods_relative(base, f"{coll}/{name}"), row)
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

    def collection_pages(self, session: iRODSSession, collection: str,
                         recursive: bool = True) -> Iterator[list[tuple[str, int]]]:
        """Every collection below ``collection`` (not itself) as ``(relative name, modify
        time)``, in name order, one list per page; paged on one session as :meth:`walk_pages`
        (``recursive=False``: only those directly in it).
        """
        base = collection.rstrip("/") or "/"
        prefix = base if base.endswith("/") else base + "/"
        condition = (Like(Collection.name, prefix + "%") if recursive
                     else Collection.parent_name == base)
        query = (session.query(Collection.name, Collection.modify_time)
                 .filter(condition).order_by(Collection.name))
        with translate_irods_errors(base):
            batches = query.get_batches()
            try:
                for batch in batches:
                    page = []
                    for row in batch:
                        name = str(row[Collection.name])
                        if not name.startswith(prefix) or name == base:
                            continue  # LIKE wildcard ('_' or '%' in the name) matched a sibling
                        _refuse_unsafe_collection(base, name)
                        page.append((name[len(prefix):], _epoch(row[Collection.modify_time])))
                    if page:
                        yield page
            finally:
                batches.close()

    def open(self, session: iRODSSession, path: str, mode: str, *, size: int = -1,
             threads: int = 1, token: str | None = None, hierarchy: str | None = None,
             create: bool = True, checksum: str | None = None) -> RemoteHandle:
        """Open ``path``; with ``token``/``hierarchy`` the handle joins an open replica as a
        secondary (closed with REPLICA_CLOSE), else it is the primary (finalizes on close).

        ``checksum`` (a primary write, the SHA-256 of everything that will be written): the
        final close computes the replica's checksum, compares it and registers it
        (``verifyChksum``); a mismatch fails the close with USER_CHKSUM_MISMATCH and leaves the
        replica stale, with no checksum and size 0, on both servers.
        """
        options: dict[str, str] = {}
        if checksum:
            options[kw.VERIFY_CHKSUM_KW] = checksum
        if size >= 0:
            options[kw.DATA_SIZE_KW] = str(size)
        if threads > 1:
            options[kw.NUM_THREADS_KW] = str(threads)
        secondary = token is not None
        if secondary:
            options[kw.RESC_HIER_STR_KW] = hierarchy or ""
            options[kw.REPLICA_TOKEN_KW] = token or ""
        self._resource_options(session, options)
        flags = _OPEN_FLAGS[mode] | (_O_CREAT if create and mode in ("w", "a") else 0)
        request = FileOpenRequest(objPath=path, createMode=0, openFlags=flags, offset=0,
                                  dataSize=size, numThreads=session.numThreads, oprType=0,
                                  KeyValPair_PI=StringStringMap(options))
        with translate_irods_errors(path), _write_refused(path):
            conn = session.pool.get_connection()
            try:
                conn.send(iRODSMessage("RODS_API_REQ", msg=request,
                                       int_info=api_number["DATA_OBJ_OPEN_AN"]))
                descriptor = int(conn.recv().int_info)
            except BaseException:
                conn.release()  # a refused open leaves the connection usable
                raise
        return RemoteHandle(path, conn, descriptor, primary=not secondary, options=options)

    def _resource_options(self, session: iRODSSession, options: dict[str, str]) -> dict[str, str]:
        default_resource = getattr(session, "default_resource", None)
        if default_resource and not _RESOURCE_KEYS.intersection(options):
            options[kw.DEST_RESC_NAME_KW] = default_resource
        return options

    def put_bytes(self, session: iRODSSession, path: str, data: bytes, *,
                  checksum: str | None = None) -> None:
        """Store ``data`` as the whole content of ``path`` in ONE request: DATA_OBJ_PUT (606)
        with the bytes inside it, the way ``iput`` sends a file below the single-buffer size.

        The server creates or overwrites the object (``forceFlag``: the engine already decided
        to replace it), writes, checks the size against ``dataSize`` and finalizes the replica
        as good, all before it replies. With ``checksum`` (the SHA-256 of ``data`` in iRODS
        form) it computes its own, compares and registers it (``verifyChksum``); a mismatch
        answers USER_CHKSUM_MISMATCH (a VerificationFailed) and leaves the replica stale. The
        modify time is the server's clock at the finalize: no keyword of this API sets it.
        """
        options = {kw.DATA_INCLUDED_KW: "", kw.FORCE_FLAG_KW: ""}
        if checksum:
            options[kw.VERIFY_CHKSUM_KW] = checksum
        request = FileOpenRequest(objPath=path, createMode=0o644, openFlags=1, offset=0,
                                  dataSize=len(data), numThreads=0, oprType=_PUT_OPR,
                                  KeyValPair_PI=StringStringMap(
                                      self._resource_options(session, options)))
        with (translate_irods_errors(path), _write_refused(path),
              session.pool.get_connection() as conn):
            conn.send(iRODSMessage("RODS_API_REQ", msg=request, bs=data,
                                   int_info=api_number["DATA_OBJ_PUT_AN"]))
            conn.recv()

    def get_bytes(self, session: iRODSSession, path: str, *,
                  verify: bool = False) -> tuple[bytes, str]:
        """The whole content of ``path`` in ONE request: DATA_OBJ_GET (608), whose reply carries
        the bytes of a replica up to the zone's single-buffer size, as ``iget`` reads a small
        file. With ``verify`` the reply also carries the server's checksum of the replica
        (``verifyChksum``: computed and registered first when it has none), else "".

        Raises :class:`NotIncluded` when the server answered with a portal instead (the object
        is above its single-buffer size); that replica is closed again before it returns.
        """
        options = {kw.VERIFY_CHKSUM_KW: ""} if verify else {}
        request = FileOpenRequest(objPath=path, createMode=0, openFlags=0, offset=0, dataSize=0,
                                  numThreads=0, oprType=_GET_OPR,
                                  KeyValPair_PI=StringStringMap(options))
        with translate_irods_errors(path), session.pool.get_connection() as conn:
            conn.send(iRODSMessage("RODS_API_REQ", msg=request,
                                   int_info=api_number["DATA_OBJ_GET_AN"]))
            reply = conn.recv()
            out = reply.get_main_message(_PortalOprOut) if reply.msg else None
            data = bytes(reply.bs) if reply.bs is not None else b""
            if out is not None and out.l1descInx and not data and reply.int_info > 2:
                # A portal (the object outgrew the single buffer): close it, the client's way.
                conn.send(iRODSMessage("RODS_API_REQ", msg=_IntInput(myInt=reply.int_info),
                                       int_info=api_number["OPR_COMPLETE_AN"]))
                conn.recv()
                raise NotIncluded(path)
        return data, (out.chksum or "") if out is not None else ""

    def mkdir(self, session: iRODSSession, path: str) -> None:
        """Create ``path`` and missing parents (an existing collection is fine).

        iRODS backs up from ``path`` to the deepest collection the user can see and creates the
        levels below it; a user who sees none of them (someone else's collection, which hides
        its parents too) ends at the zone's root and gets ``SYS_INVALID_INPUT_PARAM``. That is
        reported as what it means: the destination is not visible to this user.

        When another client creates a sibling at the same moment (two workers, two threads),
        iRODS 5.0.2 may stop at the shared parent and answer success without creating ``path``;
        PRC's look-up afterwards then finds nothing. The parents exist by then, so the create
        is simply asked again.
        """
        with translate_irods_errors(path):
            for attempt in range(_MKDIR_ATTEMPTS):
                try:
                    session.collections.create(path, recurse=True)
                    return
                except SYS_INVALID_INPUT_PARAM as exc:
                    raise RemoteNotFound("no collection on this path is visible to this user",
                                         path=path) from exc
                except CollectionDoesNotExist:
                    if attempt == _MKDIR_ATTEMPTS - 1:
                        raise

    def set_mtime(self, session: iRODSSession, path: str, mtime: int) -> None:
        """Set the object's modify time with the touch API (20007), one request.

        iRODS 5 lets any user with write access touch an object, whereas ``modDataObjMeta``
        (622) is reserved to administrators (``SYS_NO_API_PRIV`` for a rodsuser). PRC's own
        ``data_objects.touch`` first queries the path twice; the engine knows it is an object.
        """
        payload = {"logical_path": path,
                   "options": {"no_create": True, "seconds_since_epoch": int(mtime)}}
        with translate_irods_errors(path), session.pool.get_connection() as conn:
            body = JSON_Message(payload, server_version=conn.server_version)
            conn.send(iRODSMessage("RODS_API_REQ", msg=body, int_info=api_number["TOUCH_APN"]))
            conn.recv()

    def set_acl(self, session: iRODSSession, path: str, user: str, level: str,
                recursive: bool) -> None:
        name, _, zone = user.partition("#")
        access = iRODSAccess(_ACL_NAMES[level], path, name, zone or session.zone)
        with translate_irods_errors(path):
            session.acls.set(access, recursive=recursive)

    def user_exists(self, session: iRODSSession, user: str) -> bool:
        """Whether ``user`` (``name`` or ``name#zone``; a group counts) is known to the zone,
        asked with one GenQuery as ``iadmin lu`` does."""
        name, _, zone = user.partition("#")
        with translate_irods_errors():
            rows = session.query(User.name).filter(User.name == name,
                                                   User.zone == (zone or session.zone))
            return any(True for _ in rows.get_results())

    def checksum(self, session: iRODSSession, path: str) -> str:
        """The stored checksum, or one the server computes (and registers) now."""
        with translate_irods_errors(path):
            return str(session.data_objects.chksum(path) or "")

    def mark_stale(self, session: iRODSSession, path: str) -> None:
        """Flag the replica stale: bytes that failed verification must never look complete.

        Setting ``replStatus`` directly (622) is for administrators only, so this opens the
        replica for writing and drops the connection without a close: the server (iRODS 5,
        and ours) marks a replica whose writer vanished stale. Any user who could write the
        bytes can do this.
        """
        handle = self.open(session, path, "a", create=False)
        handle.abort()

    def unlink(self, session: iRODSSession, path: str, trash: bool) -> None:
        """Remove one object: into the user's trash, ``/ZONE/trash/home/USER/...``, as
        ``irm`` does, or for good (``irm -f``) when ``trash`` is False."""
        with translate_irods_errors(path):
            session.data_objects.unlink(path, force=not trash)

    def collection_or_object(self, session: iRODSSession, path: str) -> str:
        """``"collection"`` or ``"object"``; RemoteNotFound when ``path`` is neither."""
        if self.is_collection(session, path):
            return "collection"
        if self.stat(session, path) is not None:
            return "object"
        raise RemoteNotFound("remote source does not exist", path=path)


def _fold(entries: list[ListedFile]) -> ListedFile:
    """One entry for several replicas: a good one if there is one."""
    good = [entry for entry in entries if entry.good]
    return good[0] if good else entries[0]


def _refuse_unsafe_collection(base: str, name: str) -> None:
    """A listed collection below ``base`` whose relative name holds ``.``, ``..`` or an empty
    part comes from a broken or hostile server (iRODS never makes one)."""
    relative = name[len(base.rstrip("/")) + 1:]
    if any(part in ("", ".", "..") or "\0" in part for part in relative.split("/")):
        raise UnsafePath(f"the server listed a collection named {name!r}; such a name would "
                         "leave the destination folder, so nothing more is trusted from this "
                         "listing", path=name)


def _refuse_unsafe_name(collection: str, name: str) -> None:
    """iRODS never names an object ``..`` or with a ``/``: a listing that does comes from a broken
    or hostile server, and following it could write outside the destination."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UnsafePath(f"the server listed an object named {name!r} in {collection}; such a "
                         "name would leave the destination folder, so nothing more is trusted "
                         "from this listing", path=f"{collection}/{name}")
