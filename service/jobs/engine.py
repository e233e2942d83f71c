"""Batches on PostgreSQL: every item and every webhook is a procrastinate job, and each node runs
a procrastinate worker in its own event loop that hands the renders to the node's worker pool
(which keeps its time limit, kill and recycling).

The jobs are deferred by the store, in the transactions that record a batch and finish it
(:mod:`service.store.engine_sql`). Here:

- **Items** (:data:`~service.store.engine_sql.ITEM_TASK`): :meth:`BatchStore.start` begins an
  attempt (or says there is nothing to do: a job run twice finds its item finished), then
  :func:`~service.jobs.attempt.attempt` finds or renders and stores the document under the
  item's key, and :meth:`BatchStore.finish` finishes it; only the first finish counts. A render
  that killed its worker gives the item back with its attempt counted and the job is retried
  with back-off (:class:`Backoff`); the item's own attempt count, kept in ``batch_items`` across
  retries and take-overs, fails it as ``worker_lost`` at ``max_attempts``.
- **A dead node's jobs** stay ``doing`` under a worker whose heartbeat stops. Every node sweeps
  for them each ``stalled_after_s / 2`` (procrastinate's ``get_stalled_jobs`` and
  ``retry_job``) and puts them back; another node's worker takes them.
- **Webhooks** (:data:`~service.store.engine_sql.WEBHOOK_TASK`): one delivery per job run,
  retried with back-off up to :data:`WEBHOOK_ATTEMPTS`; at least once (a node that dies after
  sending and before recording lets the job run again).
- **Priorities**: item jobs carry their batch's priority; procrastinate fetches the highest
  first. The pool's lane for HTTP requests is the pool's own (``lane="batch"`` renders here):
  ``concurrency`` (the node's workers) jobs at once keep every worker busy while it is lent.

What it does not do: run on SQLite (:mod:`service.jobs.runner` is the local queue there),
or kill a render that hangs (the render function's time limit does). A worker whose database
connection breaks (a PostgreSQL restart) stops; :func:`run_engine` starts it again after
:data:`RESTART_PAUSE_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import procrastinate
from procrastinate import RetryDecision
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy
from procrastinate.worker import Worker

from service.jobs.attempt import Crashed, Failed, GiveBack, Stored, attempt, retrying
from service.jobs.render import RenderFn
from service.jobs.runner import RenderPoolBroken, RunnerEvents
from service.jobs.webhook import body_of, deliver
from service.store import Store
from service.store.batches import worker_lost_error
from service.store.engine_sql import ITEM_QUEUE, ITEM_TASK, WEBHOOK_QUEUE, WEBHOOK_TASK

log = logging.getLogger("pilu.jobs.engine")

RESTART_PAUSE_S = 2.0
WEBHOOK_ATTEMPTS = 3
JOB_ATTEMPTS = 12
FINISHED_JOBS_KEPT_H = 72
"""Hours a finished job's row is kept: the item's outcome lives in ``batch_items``, so a
finished job is only the engine's bookkeeping and is deleted once this old (each sweep looks,
at most once an hour)."""
"""Runs of one item job before procrastinate gives up on it (crashes stop far earlier, at the
item's ``max_attempts``; this bounds give-backs and store outages)."""


class ItemRetry(Exception):
    """The item's attempt ended unfinished (its render killed its worker, or the pool could not
    take it): run the job again after the back-off."""


@dataclass(frozen=True)
class Backoff(BaseRetryStrategy):
    """Retry a job ``base_s * 2**attempts`` seconds later (at most ``max_s``), at once when it
    was stopped by its node shutting down, until ``limit`` runs."""

    limit: int
    base_s: float = 1.0
    max_s: float = 60.0

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.limit:
            return None
        if isinstance(exception, JobAborted | asyncio.CancelledError):
            return RetryDecision(retry_in={"seconds": 0})
        return RetryDecision(retry_in={"seconds": min(self.base_s * 2**job.attempts, self.max_s)})


@dataclass
class EngineStats:
    """What one node's engine did since it started."""

    done: int = 0
    failed: int = 0
    reused: int = 0
    retried: int = 0
    taken_over: int = 0
    stalled_retried: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0


def conninfo(store: Store) -> str:
    """The libpq connection string of ``store``'s PostgreSQL database (password included)."""
    url = store.db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Engine:
    """One node's procrastinate app: its tasks, its worker and its stalled-job sweep."""

    def __init__(
        self,
        store: Store,
        render: RenderFn,
        *,
        node: str,
        concurrency: int = 1,
        stalled_after_s: float = 30.0,
        max_attempts: int = 3,
        store_retry_s: float = 30.0,
        webhook_timeout_s: float = 10.0,
        webhook_allow_private: bool = False,
        shutdown_grace_s: float = 30.0,
        poll_interval_s: float = 1.0,
        events: RunnerEvents | None = None,
    ) -> None:
        if store.db.dialect != "postgresql":
            raise ValueError("the job engine runs on PostgreSQL only")
        self.store, self.render, self.node = store, render, node
        self.concurrency, self.stalled_after_s = concurrency, stalled_after_s
        self.max_attempts, self.store_retry_s = max_attempts, store_retry_s
        self.webhook_timeout_s, self.webhook_allow_private = (
            webhook_timeout_s,
            webhook_allow_private,
        )
        self.shutdown_grace_s, self.poll_interval_s = shutdown_grace_s, poll_interval_s
        self.events = events or RunnerEvents()
        self.stats = EngineStats()
        self.broken: BaseException | None = None
        self._http: aiohttp.ClientSession | None = None
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo(store), min_size=1, max_size=concurrency + 3,
                kwargs={"application_name": f"pilu-engine {node}"[:63]},
            )
        )  # fmt: skip
        self.app.task(
            name=ITEM_TASK, queue=ITEM_QUEUE, pass_context=True, retry=Backoff(JOB_ATTEMPTS)
        )(self._item_job)
        self.app.task(
            name=WEBHOOK_TASK, queue=WEBHOOK_QUEUE, pass_context=True,
            retry=Backoff(WEBHOOK_ATTEMPTS + 1, base_s=5.0),
        )(self._webhook_job)  # fmt: skip

    # --- running --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> EngineStats:
        """Work until ``stop`` is set; then jobs in flight get ``shutdown_grace_s`` to finish
        before they are cancelled (their items given back, their jobs retried at once by any
        node). Raises :class:`~service.jobs.runner.RenderPoolBroken` when the pool broke."""
        async with self.app.open_async(), aiohttp.ClientSession() as http:
            self._http = http
            sweeper = asyncio.create_task(self._sweep_forever(stop), name="pilu-engine-sweep")
            try:
                while not stop.is_set() and self.broken is None:
                    worker = Worker(
                        self.app, queues=[ITEM_QUEUE, WEBHOOK_QUEUE], name=self.node,
                        concurrency=self.concurrency, install_signal_handlers=False,
                        update_heartbeat_interval=max(self.stalled_after_s / 3, 0.2),
                        stalled_worker_timeout=self.stalled_after_s,
                        fetch_job_polling_interval=self.poll_interval_s,
                        shutdown_graceful_timeout=self.shutdown_grace_s,
                    )  # fmt: skip
                    if await self._run_worker(worker, stop):
                        break
                    await _pause(stop, RESTART_PAUSE_S)
            finally:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)
                self._http = None
        if self.broken is not None:
            raise RenderPoolBroken(str(self.broken)) from self.broken
        return self.stats

    async def _run_worker(self, worker: Worker, stop: asyncio.Event) -> bool:
        """Run ``worker`` until ``stop`` (``True``) or until it fails (``False``)."""
        # procrastinate's Worker.run and stop carry no annotations
        run = worker.run()  # type: ignore[no-untyped-call]
        task: asyncio.Task[None] = asyncio.create_task(run, name=f"pilu-engine-worker {self.node}")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                worker.stop()  # type: ignore[no-untyped-call]
                await asyncio.wait({task})
                return True
        except asyncio.CancelledError:
            # Cancelled past the caller's grace: the jobs in flight are cancelled too (their
            # items given back, their jobs retried), not waited for.
            worker.shutdown_graceful_timeout = 0
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            stopper.cancel()
        error = task.exception()
        if error is None:
            return stop.is_set() or self.broken is not None
        log.warning("job engine worker stopped (%s: %s); starting again in %.0f s",
                    type(error).__name__, error, RESTART_PAUSE_S)  # fmt: skip
        return False

    async def _sweep_forever(self, stop: asyncio.Event) -> None:
        interval = max(self.stalled_after_s / 2, 0.2)
        purged_at = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await _pause(stop, interval)
            try:
                await self.sweep()
                if loop.time() - purged_at >= 3600:
                    await self.delete_finished_jobs()
                    purged_at = loop.time()
            except Exception as exc:  # noqa: BLE001 - logged, then tried again
                log.warning("stalled-job sweep failed (%s: %s)", type(exc).__name__, exc)

    async def delete_finished_jobs(self, older_than_h: int = FINISHED_JOBS_KEPT_H) -> None:
        """Delete the engine's rows of jobs finished (in any final state) ``older_than_h``
        hours ago; the items and batches they ran are untouched."""
        await self.app.job_manager.delete_old_jobs(
            nb_hours=older_than_h, include_failed=True, include_cancelled=True,
            include_aborted=True,
        )  # fmt: skip

    async def sweep(self) -> int:
        """Put back the jobs of workers silent for ``stalled_after_s`` (their node died or
        lost the database); how many."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after_s)
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
            except Exception as exc:  # noqa: BLE001 - another node put it back first
                log.debug("stalled job %s not retried: %s", job.id, exc)
                continue
            retried += 1
            self.stats.stalled_retried += 1
            log.info("job %s (%s) of a stalled worker put back", job.id, job.task_name,
                     extra={"fields": {"job_id": job.id, "task": job.task_name}})  # fmt: skip
        if retried:
            self.events.stalled_put_back(retried)
        return retried

    # --- the tasks ------------------------------------------------------------------------

    async def _item_job(self, context: Any, item_id: int) -> None:
        batches = self.store.batches
        what = f"item {item_id}"
        item = await retrying(
            what,
            lambda: batches.start(item_id, self.node, max_attempts=self.max_attempts),
            self.store_retry_s,
        )
        if item is None:
            return
        if item.attempts > 1:
            self.stats.taken_over += 1
            log.info("item %s:%s attempt %d: its earlier attempt did not finish",
                     item.batch_id, item.index, item.attempts,
                     extra={"fields": {"batch_id": item.batch_id, "index": item.index,
                                       "attempt": item.attempts, "node": self.node}})  # fmt: skip
            self.events.took_over(item)
        try:
            outcome = await attempt(self.store, self.render, item, self.store_retry_s)
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back(item_id, counted=False))
            raise
        except BrokenExecutor as exc:
            self.broken = exc
            await self._give_back(item_id, counted=False)
            raise
        if isinstance(outcome, Stored):
            if outcome.reused:
                self.stats.reused += 1
            done = lambda: batches.finish(  # noqa: E731
                item_id, document_id=outcome.document_id, version=outcome.version
            )
            if await retrying(what, done, self.store_retry_s):
                self.stats.done += 1
        elif isinstance(outcome, Failed):
            errors = outcome.errors
            if await retrying(
                what, lambda: batches.finish(item_id, errors=errors), self.store_retry_s
            ):
                self.stats.failed += 1
        elif isinstance(outcome, GiveBack):
            await self._give_back(item_id, counted=False)
            raise ItemRetry("the render pool could not take the item")
        else:
            assert isinstance(outcome, Crashed)
            if item.attempts >= self.max_attempts:
                lost = (worker_lost_error(item.attempts),)
                if await retrying(
                    what, lambda: batches.finish(item_id, errors=lost), self.store_retry_s
                ):
                    self.stats.failed += 1
                return
            await self._give_back(item_id, counted=True)
            self.stats.retried += 1
            self.events.retried(item)
            raise ItemRetry("the render killed its worker")

    async def _give_back(self, item_id: int, *, counted: bool) -> None:
        try:
            await self.store.batches.give_back(item_id, counted=counted)
        except Exception as exc:  # noqa: BLE001 - the next start counts from what is stored
            log.warning("give-back of item %s failed (%s)", item_id, type(exc).__name__)

    async def _webhook_job(self, context: Any, batch_id: str) -> None:
        batches = self.store.batches
        due = await batches.webhook_due(batch_id)
        if due is None:
            return
        assert self._http is not None
        error = await deliver(
            self._http, due.url, due.secret, body_of(due.status), delivery_id=batch_id,
            timeout_s=self.webhook_timeout_s, allow_private=self.webhook_allow_private,
        )  # fmt: skip
        final = error is None or context.job.attempts + 1 >= WEBHOOK_ATTEMPTS
        await batches.record_webhook(batch_id, delivered=error is None, error=error, final=final)
        self.events.webhook_delivered("delivered" if error is None else "failed")
        if error is None:
            self.stats.webhooks_sent += 1
            return
        self.stats.webhooks_failed += 1
        if not final:
            raise ItemRetry(f"webhook delivery failed: {error}")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
