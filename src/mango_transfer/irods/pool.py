"""A bounded pool of PRC sessions, each used by one thread at a time and holding one connection.

Why not one shared ``iRODSSession``: PRC's own connection pool hands out a new connection
whenever none is idle and never caps them, and it sends a GenQuery continuation on *any* idle
connection, which a real iRODS agent answers by dying (irods-protocol.md §9). So every engine
task checks a whole session out, uses it from one worker thread at a time, and returns it. A
session used this way never has two calls in flight, so it keeps exactly one connection and a
paged query always continues on the connection that started it.

Checkout is async (tasks wait for a free session without holding a thread); the blocking PRC
calls then run through ``anyio.to_thread.run_sync`` with the engine's limiter. Sessions are
created lazily from the validated environment, reused, and all closed by :meth:`aclose`. A
session whose connection broke (or that holds a half-finished transfer) is returned with
``discard=True``: it is disconnected, so the server releases whatever it held, and a fresh one
replaces it on the next checkout.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from irods.session import iRODSSession

from mango_transfer.errors import ConnectionFailed, MangoError, UsageError
from mango_transfer.irods.environment import IrodsEnvironment, open_session

__all__ = ["PoolState", "SessionCache", "SessionPool"]


class PoolState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


def _close_quietly(session: iRODSSession) -> None:
    """Disconnect every connection of ``session``; a broken socket must not stop the cleanup."""
    try:
        session.cleanup()
    except Exception:  # noqa: BLE001 - the connection may already be dead; nothing to report
        pass


class SessionPool:
    """At most ``size`` sessions; see the module docstring.

    ``factory`` makes one session (default: :func:`open_session` on ``env``); it runs in a
    worker thread because PRC reads files when it builds a session.
    """

    def __init__(
        self,
        env: IrodsEnvironment,
        size: int,
        *,
        limiter: anyio.CapacityLimiter,
        factory: Callable[[IrodsEnvironment], iRODSSession] | None = None,
        release: Callable[[iRODSSession], None] | None = None,
    ) -> None:
        if size < 1:
            raise UsageError(f"the session pool needs at least one session, got {size}")
        self.env = env
        self.size = size
        self.limiter = limiter
        self._factory = factory or open_session
        self._release = release  # where healthy sessions go at the end (default: closed)
        self._idle: list[iRODSSession] = []
        self._all: set[iRODSSession] = set()
        self._slots = anyio.Semaphore(size)
        self._gather = anyio.Lock()
        self.state = PoolState.UNOPENED
        self.created = 0

    def _check_open(self) -> None:
        if self.state is PoolState.CLOSED:
            raise RuntimeError("this session pool is closed; create a new engine run")
        self.state = PoolState.OPEN

    async def _take(self) -> iRODSSession:
        """One session, after a slot is acquired by the caller."""
        if self._idle:
            return self._idle.pop()
        session = await anyio.to_thread.run_sync(self._factory, self.env, limiter=self.limiter)
        self._all.add(session)
        self.created += 1
        return session

    async def checkout(self) -> iRODSSession:
        """Wait for a free slot and return a session that only the caller uses."""
        self._check_open()
        await self._slots.acquire()
        try:
            return await self._take()
        except BaseException:
            self._slots.release()
            raise

    async def checkout_many(self, count: int) -> list[iRODSSession]:
        """``count`` sessions at once (a chunked transfer), without deadlocking other gatherers.

        Only one task gathers several sessions at a time, so two large files can never each
        hold half of the pool while waiting for the other half.
        """
        count = max(1, min(count, self.size))
        self._check_open()
        sessions: list[iRODSSession] = []
        try:
            async with self._gather:
                for _ in range(count):
                    await self._slots.acquire()
                    sessions.append(await self._take())
        except BaseException:
            for session in sessions:
                await self.checkin(session, discard=True)
            raise
        return sessions

    async def checkin(self, session: iRODSSession, *, discard: bool = False) -> None:
        """Return ``session``; with ``discard`` it is disconnected (and its server state freed)."""
        try:
            if discard or self.state is PoolState.CLOSED:
                self._all.discard(session)
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_close_quietly, session, limiter=self.limiter)
            else:
                self._idle.append(session)
        finally:
            self._slots.release()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[iRODSSession]:
        """``async with pool.session() as s``: checked in on exit.

        Discarded after a connection fault, a retryable error or anything that is not a
        MangoError (cancellation included), because the connection may be mid-exchange.
        """
        session = await self.checkout()
        broken = True
        try:
            yield session
            broken = False
        except MangoError as exc:
            # A refusal (no such path, no permission) leaves the connection usable.
            broken = isinstance(exc, ConnectionFailed) or exc.retryable
            raise
        finally:
            await self.checkin(session, discard=broken)

    async def aclose(self) -> None:
        """Disconnect every session (or hand the healthy, idle ones to ``release``); the pool
        refuses further use."""
        self.state = PoolState.CLOSED
        idle = {id(session) for session in self._idle}
        sessions, self._all, self._idle = list(self._all), set(), []
        with anyio.CancelScope(shield=True):
            for session in sessions:
                if self._release is not None and id(session) in idle:
                    self._release(session)
                else:
                    await anyio.to_thread.run_sync(_close_quietly, session, limiter=self.limiter)


class SessionCache:
    """Healthy sessions kept from one engine run to the next in a long-lived process.

    A scale-out worker runs the engine once per batch; without this, every batch would connect
    and log in ``--threads`` times (tens of thousands of logins per million files, each a
    catalog lookup on the server). Sessions come back only from a pool's :meth:`aclose` and
    only when checked in healthy; one that went bad while idle fails its first call as a
    retryable connection error and is replaced. Thread-safe: batches run in parallel threads.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._idle: list[iRODSSession] = []
        self._lock = threading.Lock()
        self.opened = 0
        self.reused = 0

    def take(self, env: IrodsEnvironment) -> iRODSSession:
        with self._lock:
            if self._idle:
                self.reused += 1
                return self._idle.pop()
            self.opened += 1
        return open_session(env)

    def give(self, session: iRODSSession) -> None:
        with self._lock:
            if len(self._idle) < self.limit:
                self._idle.append(session)
                return
        _close_quietly(session)

    def close(self) -> None:
        with self._lock:
            sessions, self._idle = self._idle, []
        for session in sessions:
            _close_quietly(session)
