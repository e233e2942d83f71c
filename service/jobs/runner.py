"""The local queue: an asyncio loop that takes pending batch items, runs an attempt at each
(:func:`~service.jobs.attempt.attempt`), finishes them, and sends the webhooks of finished
batches. It serves the embedded SQLite store, where one process owns the data folder
(:mod:`service.jobs.owner`); on PostgreSQL the nodes run the job engine
(:mod:`service.jobs.engine`) instead.

No leases: the owner knows that no one else runs its items, so an item it takes stays
``running`` until it is finished or given back, and what a killed owner left running is put
back by the next one when it starts (:meth:`~service.store.BatchStore.reset_running`, the
attempt still counted). Two runners on one store never take the same item (taking is one
``UPDATE`` of pending rows), but one that dies leaves its items running until an owner resets
them; so run one per store.

A render whose worker process died (``WorkerCrashed``: the payload may be what kills it) gives
the item back with its attempt counted, so it is tried again; at ``max_attempts`` it fails as
``worker_lost`` with the attempts in its message.

A store that refuses writes (:class:`~service.store.StorageFull`,
:class:`~service.store.StorageReadOnly`: a full or read-only data folder or database) stops the
runner: it takes nothing more, gives back the items in flight where the store still lets it,
and :func:`run_worker` raises the error. Rendering on would only spend the items' attempts.

A database connection that is lost is ridden out: each store call of an item is tried again
for up to ``store_retry_s`` (each is safe twice: the document is stored under the item's
idempotency key, and only an item's first finish counts), so the render is kept rather than
done again.

What a runner does not do: kill a render that hangs (the render function's timeout must, as the
API's pool does), or recover an item whose store calls failed past ``store_retry_s``: it is
given back if the store lets it, else left running for the next owner's start.
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

WEBHOOK_ATTEMPTS = 3
WEBHOOK_RETRY_S = 30.0


@dataclass
class WorkerStats:
    """What one :func:`run_worker` call did. ``reused``: items finished with a document already
    stored under their key (no render); ``lost``: finishes that found the item finished
    already; ``store_retries``: store calls of items tried again after a lost database
    connection."""

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
    """What a queue (this runner, or the job engine) tells whoever watches it (the API's
    metrics); by default nobody."""

    def took_over(self, item: ClaimedItem) -> None:
        """``item`` was started again after an attempt that did not finish: its node or
        process died, or its render killed its worker."""

    def retried(self, item: ClaimedItem) -> None:
        """``item``'s render killed its worker; it was given back for another attempt."""

    def webhook_delivered(self, outcome: str) -> None:
        """One webhook delivery ended: ``delivered`` or ``failed`` (tried again later)."""

    def stalled_put_back(self, count: int) -> None:
        """The job engine's sweep put back ``count`` jobs of silent workers (dead nodes)."""


class RenderPoolBroken(RuntimeError):
    """The render executor died (a process killed under it); the runner stopped taking items."""


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
    ``lease_seconds``: unused (the local queue has no leases); kept for its callers.
    ``batch_id``: only take items of that batch; with ``stop_when_finished`` also return once it
    is finished (every item done or failed). ``on_finished(item, state)`` is called after each
    item this runner finishes (``done``/``failed``), for progress displays.
    ``webhooks``: also send the webhooks of finished batches (any batch, not only ``batch_id``);
    on the way out a delivery in progress gets ``webhook_grace_s`` to finish, and one POST may
    take ``webhook_timeout_s``; ``webhook_allow_private`` lets them reach non-public addresses
    (:func:`~service.jobs.webhook.deliver`). With ``stop_when_finished`` the batch's own webhook
    is sent before returning. ``store_retry_s``: how long one store call of an item is tried
    again while the database connection is lost. ``events`` hears of take-overs, retries and
    webhook deliveries as they happen.
    Raises :class:`RenderPoolBroken` when the executor behind ``render`` broke, and
    :class:`~service.store.StorageFull` or :class:`~service.store.StorageReadOnly` when the
    store refused a write; cancelling the call gives the items in flight back.
    """
    del lease_seconds
    if stop_when_finished and batch_id is None:
        raise ValueError("stop_when_finished needs a batch_id")
    worker = _Runner(store, render, worker_id or default_worker_id(), max_attempts, on_finished,
                     webhook_timeout_s, webhook_allow_private, store_retry_s,
                     events or RunnerEvents())  # fmt: skip
    stop = stop_event or asyncio.Event()
    async with aiohttp.ClientSession() as http:
        webhook_task: asyncio.Task[None] | None = None
        cancelled = False
        try:
            while not stop.is_set() and worker.broken is None and worker.refused is None:
                taken = await worker.take_more(concurrency, batch_id)
                if webhooks and (webhook_task is None or webhook_task.done()):
                    webhook_task = asyncio.create_task(worker.send_webhooks(http))
                if stop_when_finished and not worker.inflight and not taken:
                    assert batch_id is not None
                    if await worker.batch_finished(batch_id):
                        break
                if taken and len(worker.inflight) < concurrency:
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
            if webhook_task is not None and not webhook_task.done():
                if not cancelled:
                    await asyncio.wait({webhook_task}, timeout=webhook_grace_s)
                webhook_task.cancel()
            await asyncio.gather(*(t for t in [webhook_task] if t), return_exceptions=True)
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
        max_attempts: int,
        on_finished: Callable[[ClaimedItem, str], None] | None,
        webhook_timeout_s: float,
        webhook_allow_private: bool,
        store_retry_s: float,
        events: RunnerEvents,
    ) -> None:
        self.store, self.render, self.worker_id = store, render, worker_id
        self.max_attempts, self.on_finished, self.events = max_attempts, on_finished, events
        self.webhook_timeout_s, self.webhook_allow_private = (
            webhook_timeout_s,
            webhook_allow_private,
        )
        self.store_retry_s = store_retry_s
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.stats = WorkerStats()
        self.broken: BaseException | None = None
        self.refused: StorageRefused | None = None
        """The store refused a write; the runner stops (see the module docstring)."""
        self._changed = asyncio.Event()

    async def take_more(self, concurrency: int, batch_id: str | None) -> list[ClaimedItem]:
        free = concurrency - len(self.inflight)
        if free <= 0:
            return []
        try:
            taken = await self.store.batches.take(
                self.worker_id, free, batch_id=batch_id, max_attempts=self.max_attempts
            )
        except STORAGE_REFUSED as exc:
            self._refuse(exc)
            return []
        except Exception as exc:  # noqa: BLE001 - logged, then tried again
            _log_store_error(exc, "taking items failed; again after the poll interval")
            return []
        for item in taken:
            self.stats.claimed += 1
            if item.attempts > 1:  # a give-back that did not count took its attempt back
                self._took_over(item)
            task = asyncio.create_task(
                self.process(item), name=f"pilu-item-{item.batch_id}-{item.index}"
            )
            self.inflight[item.id] = task
            task.add_done_callback(functools.partial(self._forget, item.id))
        return taken

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

    async def process(self, item: ClaimedItem) -> None:
        try:
            await self._process(item)
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back(item))
            raise
        except STORAGE_REFUSED as exc:
            self._refuse(exc)
            await self._give_back(item)
        except Exception:
            self.stats.abandoned += 1
            log.exception("item %s:%s abandoned after store errors", item.batch_id, item.index)
            await self._give_back(item)

    async def _process(self, item: ClaimedItem) -> None:
        try:
            outcome = await attempt(
                self.store, self.render, item, self.store_retry_s, self._count_store_retry
            )
        except BrokenExecutor as exc:
            # The pool is gone: the item stays running (the next owner's start puts it back),
            # the runner stops taking items and reports to the caller.
            self.broken = exc
            self._changed.set()
            return
        if isinstance(outcome, Stored):
            if outcome.reused:
                self.stats.reused += 1
            await self._finish(item, "done", document_id=outcome.document_id,
                               version=outcome.version)  # fmt: skip
        elif isinstance(outcome, Failed):
            await self._finish(item, "failed", errors=outcome.errors)
        elif isinstance(outcome, GiveBack):
            await self._give_back(item)
        elif item.attempts >= self.max_attempts:
            await self._finish(item, "failed", errors=(worker_lost_error(item.attempts),))
        else:
            await self._give_back(item, counted=True)
            self.events.retried(item)

    async def _finish(
        self,
        item: ClaimedItem,
        state: str,
        *,
        document_id: str | None = None,
        version: int | None = None,
        errors: tuple[FieldError, ...] | None = None,
    ) -> None:
        batches = self.store.batches
        if await self._store(
            f"item {item.batch_id}:{item.index}",
            lambda: batches.finish(
                item.id, document_id=document_id, version=version, errors=errors
            ),
        ):
            if state == "done":
                self.stats.done += 1
            else:
                self.stats.failed += 1
            if self.on_finished is not None:
                self.on_finished(item, state)
        else:
            self.stats.lost += 1
            log.warning("item %s:%s was finished already", item.batch_id, item.index)

    async def _give_back(self, item: ClaimedItem, *, counted: bool = False) -> None:
        try:
            # Not tried again: it runs on cancellation, which must not wait for a database to
            # come back; an item left running is put back by the next owner's start.
            await self.store.batches.give_back(item.id, counted=counted)
            self.stats.released += 1
        except Exception:
            log.exception("give-back of item %s:%s failed", item.batch_id, item.index)

    async def send_webhooks(self, http: aiohttp.ClientSession) -> None:
        try:
            due = await self.store.batches.due_webhooks()
        except Exception as exc:  # noqa: BLE001 - logged, then tried again
            _log_store_error(exc, "webhooks due unknown")
            return
        for webhook in due:
            error = await deliver(
                http, webhook.url, webhook.secret, body_of(webhook.status),
                delivery_id=webhook.batch_id, timeout_s=self.webhook_timeout_s,
                allow_private=self.webhook_allow_private,
            )  # fmt: skip
            if error is None:
                self.stats.webhooks_sent += 1
            else:
                self.stats.webhooks_failed += 1
            self.events.webhook_delivered("delivered" if error is None else "failed")
            await self.store.batches.record_webhook(
                webhook.batch_id, delivered=error is None, error=error,
                final=webhook.attempt >= WEBHOOK_ATTEMPTS, retry_after_s=WEBHOOK_RETRY_S,
            )  # fmt: skip
