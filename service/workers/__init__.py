"""Where renders run: a pool of warm worker processes, or the server process itself (0 workers).

Bytes in, bytes out: a task is a module-level function and picklable arguments, given by the
caller; the pool knows nothing of documents (:mod:`service.jobs.tasks` and
:func:`service.jobs.render.render_item` are the functions the server submits).
"""

from __future__ import annotations

from collections.abc import Callable

from service.settings import Settings
from service.workers.base import Pool, PoolStats
from service.workers.inline import InlinePool
from service.workers.pool import ProcessPool, RestartReason, WorkerStartFailed

__all__ = [
    "InlinePool",
    "Pool",
    "PoolStats",
    "ProcessPool",
    "RestartReason",
    "WorkerStartFailed",
    "make_pool",
]


TASKS_PER_REQUEST = 2
"""Most tasks one request gives the pool: a ZIP is a PDF and a DOCX rendered side by side."""


def task_queue_limit(settings: Settings) -> int:
    """Tasks the pool may queue: as many as the requests admission lets in can give it.

    Admission (``workers + queue_limit`` requests) is the limit callers meet; the pool's own
    limit only guards against a caller that bypasses it.
    """
    admitted = settings.workers + settings.queue_limit
    return TASKS_PER_REQUEST * admitted - settings.workers


def make_pool(
    settings: Settings,
    initializer: Callable[[], None] | None,
    on_restart: Callable[[RestartReason], None] | None = None,
    preload: tuple[str, ...] = (),
) -> Pool:
    """The pool the settings ask for (not started); ``preload``: the modules its fork server
    imports first (:attr:`ProcessPool.preload`)."""
    if settings.workers == 0:
        return InlinePool(initializer=initializer)
    return ProcessPool(
        size=settings.workers,
        initializer=initializer,
        max_tasks_per_child=settings.max_tasks_per_child,
        queue_limit=task_queue_limit(settings),
        start_method=settings.worker_start_method,
        preload=preload,
        start_timeout_s=settings.worker_start_timeout_s,
        retry_after_s=settings.retry_after_s,
        on_restart=on_restart,
    )
