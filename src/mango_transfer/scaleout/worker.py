"""``mango-transfer worker``: a Celery worker that runs batches with the engine.

Threads pool: a task is an engine run (itself async, with its own bounded session pool), so a
thread per concurrent task is all it needs, and killing the worker kills every task with it (a
prefork child could outlive its parent and finish a batch nobody acknowledges).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mango_transfer.irods.pool import SessionCache
from mango_transfer.scaleout.app import QUEUE, TASK_NAME, make_app
from mango_transfer.scaleout.payload import BatchPayload
from mango_transfer.scaleout.records import RunRecords, connect
from mango_transfer.scaleout.split import PART_TASK, PartSpec, SplitPolicy, SplitRanges, run_part
from mango_transfer.scaleout.tasks import BatchError, BatchState, error_outcome, run_batch

__all__ = ["BATCH_ATTEMPTS", "check_irods", "start_worker", "worker_app"]

log = logging.getLogger(__name__)
BATCH_ATTEMPTS = 3  # a batch the engine cannot run at all is tried this often, then reported


def worker_app(broker: str, lease: float, environ: Mapping[str, str] | None = None) -> Any:
    """The Celery app with our one task registered."""
    app = make_app(broker, lease)
    client = connect(broker)
    sessions = SessionCache()  # logged-in sessions kept from one batch to the next

    @app.task(name=TASK_NAME, bind=True, max_retries=None)
    def transfer_batch(self: Any, data: dict[str, Any]) -> str:
        payload = BatchPayload.from_json(data)
        records = RunRecords(client, payload.run)
        node = str(self.request.hostname)
        ranges = None
        if payload.split:
            policy = SplitPolicy(split_from=payload.split[0], part_size=payload.split[1])
            ranges = SplitRanges(app, records, payload.run, policy, payload.lease)
        try:
            state = run_batch(payload, records, node=node, environ=environ, ranges=ranges,
                              sessions=sessions)
        except BatchError as exc:
            if self.request.retries + 1 < BATCH_ATTEMPTS and exc.error.retryable:
                raise self.retry(countdown=min(30.0, lease / 4)) from None
            log.error("batch %s failed: %s", payload.batch, exc)
            records.store_outcome(payload.batch, error_outcome(str(exc), node))
            return "failed"
        if state is BatchState.BUSY:  # another worker holds it; look again later
            raise self.retry(countdown=min(30.0, lease / 3))
        return state.value

    @app.task(name=PART_TASK, bind=True, max_retries=None)
    def transfer_part(self: Any, data: dict[str, Any]) -> str:
        spec = PartSpec.from_json(data)
        return run_part(spec, RunRecords(client, spec.run), lambda: _session(environ),
                        str(self.request.hostname))

    return app


def _session(environ: Mapping[str, str] | None) -> Any:
    from mango_transfer.irods.environment import load_environment, open_session

    return open_session(load_environment(environ=environ))


def check_irods(environ: Mapping[str, str] | None = None) -> str:
    """Connect once before taking tasks: a worker without a working environment would only
    fail every batch it takes. Returns ``user@host:port`` for the start-up line."""
    from mango_transfer.irods.environment import load_environment, open_session
    from mango_transfer.irods.errors import translate_irods_errors

    environment = load_environment(environ=environ)
    session = open_session(environment)
    try:
        with translate_irods_errors(environment.home):
            session.collections.get(environment.home)
    finally:
        session.cleanup()
    return f"{environment.user}@{environment.host}:{environment.port}"


def start_worker(broker: str, *, concurrency: int, name: str, lease: float,
                 loglevel: str = "INFO") -> None:
    """Blocks: run the Celery worker until it is told to stop (SIGTERM: warm shutdown)."""
    _log_engine_events(loglevel)
    app = worker_app(broker, lease)
    app.worker_main(argv=["worker", "--pool=threads", f"--concurrency={concurrency}",
                          f"--hostname={name}", f"--queues={QUEUE}", "--without-gossip",
                          "--without-mingle", f"--loglevel={loglevel}"])


def _log_engine_events(level: str) -> None:
    """The engine's own lines (a resumed transfer, a lost lease) in the worker's log, beside
    Celery's: an operator reads what happened to a batch in one place."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s: %(levelname)s/%(name)s] %(message)s"))
    engine_log = logging.getLogger("mango_transfer")
    engine_log.addHandler(handler)
    engine_log.setLevel(level)
    engine_log.propagate = False
