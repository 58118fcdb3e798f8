"""What a run keeps in Redis besides the Celery queue: which batches were sent, their outcomes,
the live byte count and the per-batch leases. All keys of run ``R`` start with
``mango-transfer:run:R:`` and are removed when the run completes.

Why not Celery's result backend: a batch may run twice (redelivery after a lost worker), and
Celery would let the second run overwrite the first outcome (a repeat reports its files as
skipped). Here the first outcome stored wins (``SET NX``), so the report says what happened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis
from redis.lock import Lock

from mango_transfer.errors import UsageError

__all__ = ["RunRecords", "connect", "redacted"]

_BYTES_FIELD = "\0bytes"  # cannot clash with a path
RESULT_TTL = 14 * 24 * 3600  # a coordinator stopped for longer starts over (harmless: skips)


def redacted(url: str) -> str:
    """The broker URL fit for a message or log: ``redis://:secret@host`` → ``redis://***@host``."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def connect(url: str) -> redis.Redis:
    """A client for the broker URL, checked with a PING so a typo fails at once, clearly."""
    shown = redacted(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30,
                                      health_check_interval=30)
        client.ping()
    except ValueError as exc:
        raise UsageError(f"invalid Celery broker URL: {str(exc).replace(url, shown)}",
                         path=shown, hint="use redis://HOST:PORT/DB") from None
    except redis.RedisError as exc:
        raise UsageError(f"cannot reach the Celery broker: {str(exc).replace(url, shown)}",
                         path=shown,
                         hint="check that redis-server runs there and the URL is right") from None
    return client


class RunRecords:
    def __init__(self, client: redis.Redis, run_id: str) -> None:
        self.client = client
        self.prefix = f"mango-transfer:run:{run_id}:"

    def _key(self, name: str) -> str:
        return self.prefix + name

    def mark_sent(self, batch: str) -> bool:
        """True when this batch was not sent before in this run (then send it)."""
        return bool(self.client.hsetnx(self._key("sent"), batch, 1))

    def was_sent(self, batch: str) -> bool:
        return bool(self.client.hexists(self._key("sent"), batch))

    def store_outcome(self, batch: str, outcome: dict[str, Any]) -> bool:
        """Keep the first outcome of a batch; False when one was already there."""
        return bool(self.client.set(self._key(f"outcome:{batch}"), json.dumps(outcome),
                                    nx=True, ex=RESULT_TTL))

    def has_outcome(self, batch: str) -> bool:
        return bool(self.client.exists(self._key(f"outcome:{batch}")))

    def outcomes(self, batches: Sequence[str]) -> list[dict[str, Any] | None]:
        """The stored outcomes of ``batches`` (None: not finished), one round trip."""
        if not batches:
            return []
        raw = self.client.mget([self._key(f"outcome:{batch}") for batch in batches])
        return [None if value is None else json.loads(value) for value in raw]

    def note_progress(self, batch: str, moved: dict[str, list[Any]], count: int) -> None:
        """While a batch runs: the files it has moved so far and its bytes, so that a repeat
        after a lost worker reports those files as transferred (not as found already there)."""
        pipe = self.client.pipeline(transaction=False)
        key = self._key(f"progress:{batch}")
        if moved:
            pipe.hset(key, mapping={path: json.dumps(result) for path, result in moved.items()})
        if count:
            pipe.hincrby(key, _BYTES_FIELD, count)
            pipe.incrby(self._key("bytes"), count)
        pipe.expire(key, RESULT_TTL)
        pipe.execute()

    def set_live(self, attempt: str, live: bool) -> None:
        """An attempt at a split file is live from its leader's start to its end."""
        if live:
            self.client.set(self._key(f"live:{attempt}"), 1, ex=RESULT_TTL)
        else:
            self.client.delete(self._key(f"live:{attempt}"))

    def is_live(self, attempt: str) -> bool:
        return bool(self.client.exists(self._key(f"live:{attempt}")))

    def mark_started(self, key: str) -> bool:
        """Note that someone began ``key``; False when someone had already begun it."""
        return bool(self.client.set(self._key(f"started:{key}"), 1, nx=True, ex=RESULT_TTL))

    def forget_progress(self, batch: str) -> None:
        self.client.delete(self._key(f"progress:{batch}"))

    def earlier_progress(self, batch: str) -> tuple[dict[str, list[Any]], int]:
        """What earlier attempts at ``batch`` moved: ``{path: result}`` and their bytes."""
        raw: dict[bytes, bytes] = self.client.hgetall(  # type: ignore[assignment]
            self._key(f"progress:{batch}"))
        count = int(raw.pop(_BYTES_FIELD.encode(), 0))
        return {name.decode("utf-8", "surrogateescape"): json.loads(value)
                for name, value in raw.items()}, count

    def live_bytes(self) -> int:
        value = self.client.get(self._key("bytes"))
        return int(value) if value is not None else 0

    def leased(self, batches: Sequence[str]) -> list[bool]:
        """Which of ``batches`` a worker holds right now (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        for batch in batches:
            pipe.exists(self._key(f"lease:{batch}"))
        return [bool(found) for found in pipe.execute()]

    def lease(self, batch: str, seconds: float) -> Lock:
        """The lock a worker holds while it moves ``batch``; it lapses ``seconds`` after the
        holder stops renewing it (killed), so the redelivered task can take over."""
        return self.client.lock(self._key(f"lease:{batch}"), timeout=seconds, blocking=False,
                                thread_local=False)

    def clear(self) -> None:
        """Forget the run (after it completed): the same command later starts afresh."""
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start:start + 1000])
