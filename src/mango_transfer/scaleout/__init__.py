"""Scale-out: one migration spread over many hosts with Celery + Redis (``mango-transfer[celery]``).

The single-machine engine stays the default and needs none of this. With ``--celery URL`` the
local process becomes the **coordinator** (``coordinator.py``): it walks the source exactly as a
local run does, packs files into batches (``batches.py``), enqueues one Celery task per batch and
follows the outcomes into the same ``Stats``, summary and JSON report. ``mango-transfer worker``
(``worker.py``) runs the tasks (``tasks.py``): each is a plain engine run over the batch's
explicit file list, on the worker's own iRODS environment; credentials never enter the broker.

Why it is safe to deliver a task twice: the engine's skip rules make a repeated batch cheap, a
per-batch lease in Redis (``records.py``) keeps two workers from moving the same batch at the
same time, and the first outcome stored wins. Tasks are acknowledged late, so a killed worker's
batch is delivered again once its lease runs out, and the transfer it left resumes.
"""
