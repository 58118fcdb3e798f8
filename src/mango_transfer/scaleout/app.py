"""The Celery application both sides build from the same broker URL.

Settings and why:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged only after it
  finished, so a worker that dies mid-batch leaves the message to be delivered again.
- ``worker_prefetch_multiplier=1``: a worker takes a new batch only when it has room; batches
  are long, and prefetched ones would wait on a busy host while another host idles.
- ``visibility_timeout`` = the lease: Redis hands an unacknowledged message to another worker
  after this long, checked every ``lease/4`` seconds. An early redelivery is harmless (the
  lease in ``records.py`` turns it away), a late one only delays recovery from a lost worker.
- JSON only, no result backend (outcomes live in ``records.py``), our own queue name.
"""

from __future__ import annotations

from typing import Any

from mango_transfer.errors import UsageError

__all__ = ["DEFAULT_LEASE", "QUEUE", "TASK_NAME", "make_app", "require_celery"]

QUEUE = "mango-transfer"
TASK_NAME = "mango_transfer.transfer_batch"
DEFAULT_LEASE = 120.0  # seconds


def require_celery() -> None:
    """A clear message instead of an ImportError when the extra is not installed."""
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        raise UsageError("--celery needs the optional Celery support",
                         hint='install it with pip install "mango-transfer[celery]"') from None


def make_app(broker: str, lease: float = DEFAULT_LEASE) -> Any:
    require_celery()
    from celery import Celery

    app = Celery("mango_transfer", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": lease,
            "unacked_restore_interval": max(1, int(lease / 4)),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app
