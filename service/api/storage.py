"""The document store and the background batch queue, in the application's life.

- :func:`store_ctx` (a cleanup context) opens the store the settings name as ``app[STORE]``:
  embedded SQLite under ``data_dir``, or PostgreSQL with ``database_url``. Migrations run here,
  so an unreachable or too new database stops the server at start, not at the first request.
- :func:`runner_ctx` (a cleanup context after the pool and the store) runs the batch queue as a
  task on the API's worker pool: on PostgreSQL the job engine (:class:`service.jobs.engine.
  Engine`: a procrastinate worker taking jobs deferred by any node sharing the store, and the
  sweep that puts back the jobs of dead nodes), on SQLite the local queue
  (:func:`service.jobs.runner.run_worker`). Either renders items, stores their documents and sends the
  webhooks of finished batches. A queue that fails (a bug, not a store outage: those it logs and
  rides out) is restarted after a pause. A store that refuses writes (full or read-only data
  folder or database) stops the local queue too; it tries again every :data:`STORAGE_PAUSE_S`,
  leaving the batches where they are meanwhile.
- :func:`stop_runner` (on shutdown) stops taking items at once. Renders in flight finish within
  what is left of ``shutdown_grace_s``; past it they are cancelled, which gives their items back
  (on PostgreSQL their jobs are retried at once by any node). A node killed outright gives
  nothing back: on PostgreSQL its jobs wait until its worker has been silent for
  ``batch_lease_s`` and another node's sweep puts them back.
- On embedded SQLite one process owns the data folder's batches (:mod:`service.jobs.owner`,
  ``<data_dir>/batches.lock``): its queue starts only once it holds the lock, and then takes
  up at once whatever a killed predecessor left running. A second server on the same folder
  serves requests, and its queue waits for the lock (it takes over when the owner stops or
  dies).

Cleanup runs in reverse: the queue stops first, then the store closes, then the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from service.api.state import BACKEND, METRICS, POOL, SETTINGS, STORE
from service.jobs.engine import Engine
from service.jobs.owner import Locked, exclusive_lock
from service.jobs.render import pool_render
from service.jobs.runner import default_worker_id, run_worker
from service.store import STORAGE_REFUSED, open_store

log = logging.getLogger("pilu.api.storage")

RESTART_PAUSE_S = 5.0
OWNER_POLL_S = 1.0
"""How often a runner waiting for the data folder's lock (SQLite) tries again."""
OWNER_LOCK = "batches.lock"
STORAGE_PAUSE_S = 30.0
"""How long the runner waits after the store refused a write before it claims again."""


@dataclass(eq=False)
class RunnerHandle:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    stopping_since: float | None = None
    """Loop time when the graceful stop began (``on_shutdown``)."""
    owner: bool = False
    """Whether this runner may run batches: always on PostgreSQL; on SQLite once it holds the
    data folder's lock."""


RUNNER = web.AppKey("batch_runner", RunnerHandle)


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = await open_store(settings.database_url_value, settings.data_dir)
    log.info("store open", extra={"fields": {"backend": store.backend, "url": store.url}})
    app[STORE] = store
    try:
        yield
    finally:
        await store.close()


async def runner_ctx(app: web.Application) -> AsyncIterator[None]:
    handle = RunnerHandle()
    app[RUNNER] = handle
    handle.task = asyncio.create_task(_supervise(app, handle), name="pilu-batch-runner")
    try:
        yield
    finally:
        await _stop(app, handle)


async def stop_runner(app: web.Application) -> None:
    """First step of a graceful stop: claim nothing more (renders in flight go on)."""
    handle = app.get(RUNNER)
    if handle is not None and not handle.stop.is_set():
        handle.stopping_since = asyncio.get_running_loop().time()
        handle.stop.set()


async def _stop(app: web.Application, handle: RunnerHandle) -> None:
    loop = asyncio.get_running_loop()
    if handle.stopping_since is None:
        handle.stopping_since = loop.time()
    handle.stop.set()
    task = handle.task
    if task is None:
        return
    left = app[SETTINGS].shutdown_grace_s - (loop.time() - handle.stopping_since)
    done, _ = await asyncio.wait({task}, timeout=max(left, 0.0))
    if not done:
        log.warning("batch renders still running after the shutdown grace; giving them back")
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _supervise(app: web.Application, handle: RunnerHandle) -> None:
    stop = handle.stop
    with contextlib.ExitStack() as owned:
        if app[STORE].backend == "sqlite" and not await _own_folder(app, handle, owned):
            return
        handle.owner = True
        if app[STORE].backend == "postgresql":
            await _run_engine(app, stop)
        else:
            await _run(app, stop, take_over=True)


async def _own_folder(
    app: web.Application, handle: RunnerHandle, owned: contextlib.ExitStack
) -> bool:
    """Hold the data folder's lock in ``owned``; ``False`` if told to stop first."""
    path = app[SETTINGS].data_dir / OWNER_LOCK
    waiting = False
    while not handle.stop.is_set():
        try:
            owned.enter_context(exclusive_lock(path))
            return True
        except Locked:
            if not waiting:
                log.info("another process runs the batches of this data folder; waiting")
                waiting = True
            await _pause(handle.stop, OWNER_POLL_S)
    return False


async def _run(app: web.Application, stop: asyncio.Event, *, take_over: bool) -> None:
    """Run the local queue until ``stop``; ``take_over``: first put back what is left running
    (the caller owns the folder, so it is a dead process's)."""
    settings = app[SETTINGS]
    render = pool_render(
        app[POOL], settings.render_timeout_s, app[BACKEND].item_renderer(), lane="batch"
    )
    while not stop.is_set():
        try:
            if take_over:
                taken = await app[STORE].batches.reset_running()
                take_over = False
                if taken:
                    log.info("taking up %d batch items a stopped process left running", taken)
            stats = await run_worker(
                app[STORE],
                render,
                concurrency=settings.runner_concurrency,
                lease_seconds=settings.batch_lease_s,
                stop_event=stop,
                webhook_timeout_s=settings.webhook_timeout_s,
                webhook_allow_private=settings.webhook_allow_private,
                events=app[METRICS].runner_events(),
            )
        except STORAGE_REFUSED as exc:
            log.warning("batch runner paused: the store refuses writes (%s); again in %.0f s",
                        exc.code, STORAGE_PAUSE_S, extra={"fields": {"error_code": exc.code}})  # fmt: skip
            await _pause(stop, STORAGE_PAUSE_S)
            continue
        except Exception:
            log.exception("batch runner failed; restarting in %.0f s", RESTART_PAUSE_S)
            await _pause(stop, RESTART_PAUSE_S)
            continue
        log.info("batch runner stopped", extra={"fields": dict(vars(stats))})
        return


async def _run_engine(app: web.Application, stop: asyncio.Event) -> None:
    """PostgreSQL: the node's procrastinate worker and stalled-job sweep until ``stop``."""
    settings = app[SETTINGS]
    render = pool_render(
        app[POOL], settings.render_timeout_s, app[BACKEND].item_renderer(), lane="batch"
    )
    while not stop.is_set():
        engine = Engine(
            app[STORE], render, node=default_worker_id(),
            concurrency=settings.runner_concurrency, stalled_after_s=settings.batch_lease_s,
            webhook_timeout_s=settings.webhook_timeout_s,
            webhook_allow_private=settings.webhook_allow_private,
            shutdown_grace_s=settings.shutdown_grace_s, events=app[METRICS].runner_events(),
        )  # fmt: skip
        try:
            stats = await engine.run(stop)
        except Exception:
            log.exception("job engine failed; restarting in %.0f s", RESTART_PAUSE_S)
            await _pause(stop, RESTART_PAUSE_S)
            continue
        log.info("job engine stopped", extra={"fields": dict(vars(stats))})
        return


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
