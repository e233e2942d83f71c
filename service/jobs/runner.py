"""The job runner: an asyncio loop that leases batch items, renders them, stores the documents
and marks the items finished; it also sends the webhooks of finished batches.

Any number of runners (tasks, processes, nodes) may share one store. Per item:

1. lease it (:meth:`BatchStore.claim`); a background task renews every lease it holds each
   ``lease_seconds / 3``, so a render may take longer than one lease;
2. if a document already exists under the item's idempotency key (an earlier runner rendered
   and stored it, then died before step 4), skip to step 4 with it;
3. render (the injected :data:`~service.jobs.render.RenderFn`), then store the document under the
   item's idempotency key;
4. complete the item, or fail it with the render's errors. Both only succeed while this runner
   still owns the lease; a runner that lost it drops its result (the document it stored is the
   one the new owner will find in step 2, so no duplicate exists).

A render whose worker process died (``WorkerCrashed``: the payload may be what kills it) gives
the item back with its attempt counted, so any runner tries it again; at ``max_attempts`` it
fails as ``worker_lost`` with the attempts in its message, like an item whose lease expired
that often.

A store that refuses writes (:class:`~service.store.StorageFull`,
:class:`~service.store.StorageReadOnly`: a full or read-only data folder or database) stops the
runner: it claims nothing more, gives back the items in flight where the store still lets it,
and :func:`run_worker` raises the error. Rendering on would only spend the items' attempts.

A database connection that is lost (a PostgreSQL restart or failover) is ridden out: each store
call of an item is tried again for up to ``store_retry_s`` (each is safe twice: the document is
stored under the item's idempotency key, and finishing checks the lease owner), so the render
is kept rather than done again. A claim or a lease renewal that fails is tried at the next round.

What a runner does not do: kill a render that hangs (the render function's timeout must, as the
API's pool does), or recover when its database stays gone: past ``store_retry_s`` store errors
are logged and the item is left to its lease, which another runner (or this one, later) takes
over when it expires.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import TypeVar

import aiohttp

from service.errors import FieldError
from service.jobs.attempt import Failed, GiveBack, Stored, attempt, retrying
from service.jobs.render import RenderFn
from service.jobs.webhook import body_of, deliver
from service.store import STORAGE_REFUSED, ClaimedItem, StorageRefused, Store, is_connection_lost
from service.store.batches import worker_lost_error

log = logging.getLogger("pilu.jobs.runner")
T = TypeVar("T")


@dataclass
class WorkerStats:
    """What one :func:`run_worker` call did. ``reused``: items finished with a document already
    stored under their key (no render); ``lost``: results dropped because the lease was lost;
    ``store_retries``: store calls of items tried again after a lost database connection."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    reused: int = 0
    released: int = 0
    lost: int = 0
    abandoned: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    store_retries: int = 0
    taken_over: int = 0


class RunnerEvents:
    """What a runner tells whoever watches it (the API's metrics); by default nobody."""

    def took_over(self, item: ClaimedItem) -> None:
        """``item`` was claimed again after an attempt that did not finish: another lease on it
        expired (its node died or stalled), or its render killed its worker."""

    def retried(self, item: ClaimedItem) -> None:
        """``item``'s render killed its worker; it was given back for another attempt."""

    def webhook_delivered(self, outcome: str) -> None:
        """One webhook delivery ended: ``delivered`` or ``failed`` (tried again later)."""

    def stalled_put_back(self, count: int) -> None:
        """The job engine's sweep put back ``count`` jobs of silent workers (dead nodes)."""


class RenderPoolBroken(RuntimeError):
    """The render executor died (a process killed under it); the runner stopped claiming."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def run_worker(
    store: Store,
    render: RenderFn,
    concurrency: int = 2,
    lease_seconds: float = 30.0,
    stop_event: asyncio.Event | None = None,
    *,
    worker_id: str | None = None,
    batch_id: str | None = None,
    stop_when_finished: bool = False,
    poll_interval_s: float = 0.5,
    max_attempts: int = 3,
    webhooks: bool = True,
    webhook_grace_s: float = 30.0,
    webhook_timeout_s: float = 10.0,
    webhook_allow_private: bool = False,
    on_finished: Callable[[ClaimedItem, str], None] | None = None,
    store_retry_s: float = 30.0,
    events: RunnerEvents | None = None,
) -> WorkerStats:
    """Work until ``stop_event`` is set (then finish the renders in flight and return).

    ``concurrency``: items in flight at once (match it to the render pool's size).
    ``lease_seconds``: how long a dead runner's items stay untouched (database clock).
    ``batch_id``: only take items of that batch; with ``stop_when_finished`` also return once it
    is finished (every item done or failed, by any runner). ``on_finished(item, state)`` is
    called after each item this runner finishes (``done``/``failed``), for progress displays.
    ``webhooks``: also send the webhooks of finished batches (any batch, not only ``batch_id``);
    on the way out a delivery in progress gets ``webhook_grace_s`` to finish, and one POST may
    take ``webhook_timeout_s``; ``webhook_allow_private`` lets them reach non-public addresses
    (:func:`~service.jobs.webhook.deliver`). With ``stop_when_finished`` the batch's own webhook
    is sent before returning. ``store_retry_s``: how long one store call of an item is tried
    again while the database connection is lost. ``events`` hears of take-overs and webhook
    deliveries as they happen.
    Raises :class:`RenderPoolBroken` when the executor behind ``render`` broke, and
    :class:`~service.store.StorageFull` or :class:`~service.store.StorageReadOnly` when the
    store refused a write; cancelling the call gives the leases back (items and webhooks).
    """
    if stop_when_finished and batch_id is None:
        raise ValueError("stop_when_finished needs a batch_id")
    worker = _Runner(store, render, worker_id or default_worker_id(), lease_seconds, max_attempts,
                     on_finished, webhook_timeout_s, webhook_allow_private, store_retry_s,
                     events or RunnerEvents())  # fmt: skip
    stop = stop_event or asyncio.Event()
    async with aiohttp.ClientSession() as http:
        renewer = asyncio.create_task(worker.renew_forever(), name="pilu-lease-renewer")
        webhook_task: asyncio.Task[None] | None = None
        cancelled = False
        try:
            while not stop.is_set() and worker.broken is None and worker.refused is None:
                claimed = await worker.claim_more(concurrency, batch_id)
                if webhooks and (webhook_task is None or webhook_task.done()):
                    webhook_task = asyncio.create_task(worker.send_webhooks(http))
                if stop_when_finished and not worker.inflight and not claimed:
                    assert batch_id is not None
                    if await worker.batch_finished(batch_id):
                        break
                if claimed and len(worker.inflight) < concurrency:
                    continue
                await worker.wait(stop, poll_interval_s)
            if worker.inflight:
                await asyncio.gather(*worker.inflight.values(), return_exceptions=True)
            if webhooks and stop_when_finished and worker.broken is None and worker.refused is None:
                if webhook_task is not None:
                    await asyncio.wait({webhook_task}, timeout=webhook_grace_s)
                webhook_task = asyncio.create_task(worker.send_webhooks(http))
        except asyncio.CancelledError:
            cancelled = True
            for task in worker.inflight.values():
                task.cancel()
            await asyncio.gather(*worker.inflight.values(), return_exceptions=True)
            raise
        finally:
            renewer.cancel()
            if webhook_task is not None and not webhook_task.done():
                if not cancelled:
                    await asyncio.wait({webhook_task}, timeout=webhook_grace_s)
                webhook_task.cancel()
            await asyncio.gather(renewer, *(t for t in [webhook_task] if t), return_exceptions=True)
    if worker.broken is not None:
        raise RenderPoolBroken(str(worker.broken)) from worker.broken
    if worker.refused is not None:
        raise worker.refused
    return worker.stats


def _log_store_error(exc: Exception, message: str) -> None:
    """A lost connection in one line (it is expected while a database restarts), anything
    else with its traceback."""
    if is_connection_lost(exc):
        log.warning("%s: database connection lost (%s)", message, type(exc).__name__)
    else:
        log.exception(message)


class _Runner:
    def __init__(
        self,
        store: Store,
        render: RenderFn,
        worker_id: str,
        lease_seconds: float,
        max_attempts: int,
        on_finished: Callable[[ClaimedItem, str], None] | None,
        webhook_timeout_s: float = 10.0,
        webhook_allow_private: bool = False,
        store_retry_s: float = 30.0,
        events: RunnerEvents | None = None,
    ) -> None:
        self.events = events or RunnerEvents()
        self.store = store
        self.store_retry_s = store_retry_s
        self.render = render
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.on_finished = on_finished
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.stats = WorkerStats()
        self.broken: BaseException | None = None
        self.refused: StorageRefused | None = None
        """The store refused a write; the runner stops (see the module docstring)."""
        self._changed = asyncio.Event()
        self.webhook_timeout_s = webhook_timeout_s
        self.webhook_allow_private = webhook_allow_private

    async def claim_more(self, concurrency: int, batch_id: str | None) -> list[ClaimedItem]:
        free = concurrency - len(self.inflight)
        if free <= 0:
            return []
        try:
            claimed = await self.store.batches.claim(
                self.worker_id,
                free,
                self.lease_seconds,
                batch_id=batch_id,
                max_attempts=self.max_attempts,
            )
        except STORAGE_REFUSED as exc:
            self._refuse(exc)
            return []
        except Exception as exc:  # noqa: BLE001 - logged, then tried again
            _log_store_error(exc, "claim failed; retrying after the poll interval")
            return []
        for item in claimed:
            self.stats.claimed += 1
            if item.attempts > 1:  # a release gives its attempt back: only an expired lease
                self._took_over(item)
            task = asyncio.create_task(
                self.process(item), name=f"pilu-item-{item.batch_id}-{item.index}"
            )
            self.inflight[item.id] = task
            task.add_done_callback(functools.partial(self._forget, item.id))
        return claimed

    def _took_over(self, item: ClaimedItem) -> None:
        self.stats.taken_over += 1
        log.info(
            "taking over item %s:%s (attempt %d): its earlier attempt did not finish",
            item.batch_id, item.index, item.attempts,
            extra={"fields": {"batch_id": item.batch_id, "index": item.index,
                              "attempt": item.attempts, "worker_id": self.worker_id}},
        )  # fmt: skip
        self.events.took_over(item)

    async def _store(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retrying(what, call, self.store_retry_s, self._count_store_retry)

    def _count_store_retry(self) -> None:
        self.stats.store_retries += 1

    async def batch_finished(self, batch_id: str) -> bool:
        """Whether every item of ``batch_id`` is done or failed; ``False`` while the database
        cannot say (the next round asks again)."""
        try:
            return (await self.store.batches.get(batch_id)).state == "finished"
        except Exception as exc:  # noqa: BLE001 - logged, then tried again
            _log_store_error(exc, "batch state unknown; asking again after the poll interval")
            return False

    def _refuse(self, exc: StorageRefused) -> None:
        if self.refused is None:
            log.error("the store refuses writes (%s); the runner stops", exc.code,
                      extra={"fields": {"error_code": exc.code, "details": exc.details}})  # fmt: skip
        self.refused = self.refused or exc
        self._changed.set()

    def _forget(self, item_id: int, _task: asyncio.Task[None]) -> None:
        self.inflight.pop(item_id, None)
        self._changed.set()

    async def wait(self, stop: asyncio.Event, timeout: float) -> None:
        self._changed.clear()
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._changed.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def renew_forever(self) -> None:
        interval = max(self.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            held = set(self.inflight)
            if not held:
                continue
            try:
                renewed = await self.store.batches.renew(self.worker_id, held, self.lease_seconds)
            except Exception as exc:  # noqa: BLE001 - logged, then tried again
                _log_store_error(exc, "lease renewal failed")
                continue
            for item_id in held - renewed:
                if item_id in self.inflight:
                    log.warning("lease of item %s lost; its result will be dropped", item_id)

    async def process(self, item: ClaimedItem) -> None:
        try:
            await self._process(item)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(item))
            raise
        except STORAGE_REFUSED as exc:
            self._refuse(exc)
            await self._release(item)
        except Exception:
            # A store error: leave the item to its lease (another runner, or this one, retries).
            self.stats.abandoned += 1
            log.exception("item %s:%s abandoned to its lease", item.batch_id, item.index)

    async def _process(self, item: ClaimedItem) -> None:
        try:
            outcome = await attempt(
                self.store, self.render, item, self.store_retry_s, self._count_store_retry
            )
        except BrokenExecutor as exc:
            # The pool is gone: leave the item to its lease, stop claiming, report to the caller.
            self.broken = exc
            self._changed.set()
            return
        if isinstance(outcome, Stored):
            if outcome.reused:
                self.stats.reused += 1
            await self._complete(item, outcome.document_id, outcome.version)
        elif isinstance(outcome, Failed):
            await self._fail(item, outcome.errors)
        elif isinstance(outcome, GiveBack):
            await self._release(item)
        elif item.attempts >= self.max_attempts:
            # The payload may be what kills the worker: try again (another worker, maybe
            # another node) until max_attempts, then fail it as worker_lost.
            await self._fail(item, (worker_lost_error(item.attempts),))
        else:
            await self._release(item, counted=True)
            self.events.retried(item)

    async def _complete(self, item: ClaimedItem, document_id: str, version: int) -> None:
        batches = self.store.batches
        if await self._store(
            f"item {item.batch_id}:{item.index}",
            lambda: batches.complete(item.id, self.worker_id, document_id, version),
        ):
            self.stats.done += 1
            self._notify(item, "done")
        else:
            self.stats.lost += 1
            log.warning("item %s:%s finished elsewhere; result dropped", item.batch_id, item.index)

    async def _fail(self, item: ClaimedItem, errors: tuple[FieldError, ...]) -> None:
        batches = self.store.batches
        if await self._store(
            f"item {item.batch_id}:{item.index}",
            lambda: batches.fail(item.id, self.worker_id, errors),
        ):
            self.stats.failed += 1
            self._notify(item, "failed")
        else:
            self.stats.lost += 1

    async def _release(self, item: ClaimedItem, *, counted: bool = False) -> None:
        try:
            # Not tried again: a lease that expires gives the item back as well, and a release
            # runs on cancellation, which must not wait for a database to come back.
            if await self.store.batches.release(item.id, self.worker_id, counted=counted):
                self.stats.released += 1
        except Exception:
            log.exception(
                "release of item %s:%s failed; its lease will expire", item.batch_id, item.index
            )

    def _notify(self, item: ClaimedItem, state: str) -> None:
        if self.on_finished is not None:
            self.on_finished(item, state)

    async def send_webhooks(self, http: aiohttp.ClientSession) -> None:
        try:
            due = await self.store.batches.claim_webhooks(
                self.worker_id, lease_seconds=max(60.0, self.lease_seconds)
            )
        except Exception:
            log.exception("webhook claim failed")
            return
        for webhook in due:
            try:
                error = await deliver(
                    http, webhook.url, webhook.secret, body_of(webhook.status),
                    delivery_id=webhook.batch_id, timeout_s=self.webhook_timeout_s,
                    allow_private=self.webhook_allow_private,
                )  # fmt: skip
            except asyncio.CancelledError:
                await asyncio.shield(
                    self.store.batches.finish_webhook(
                        webhook.batch_id,
                        self.worker_id,
                        delivered=False,
                        error="cancelled",
                        retry_after_s=0,
                    )
                )
                raise
            if error is None:
                self.stats.webhooks_sent += 1
            else:
                self.stats.webhooks_failed += 1
            self.events.webhook_delivered("delivered" if error is None else "failed")
            await self.store.batches.finish_webhook(
                webhook.batch_id, self.worker_id, delivered=error is None, error=error
            )
