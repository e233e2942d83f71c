"""One attempt at one batch item, whichever queue runs it: the document already stored under the
item's key, or a render stored under it, or the errors to fail it with.

Exactly once as users see it rests here and in :meth:`~service.store.BatchStore.finish`: the
document is stored under the item's idempotency key (scope :data:`ITEM_SCOPE`), so an attempt
after one that stored it and died finds it instead of rendering again, and outputs are
content-addressed; only the first finish of an item moves the batch's counters.

What an attempt does not decide: what happens to an item whose render killed its worker
(:class:`Crashed`) or could not start (:class:`GiveBack`); the queue says (tried again, or failed
as ``worker_lost`` at its last attempt). A :exc:`~concurrent.futures.BrokenExecutor` and a store
that refuses writes propagate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import TypeVar

from service.errors import (
    FieldError,
    IdempotencyConflict,
    NotReady,
    Overloaded,
    PiluError,
    ShuttingDown,
    WorkerCrashed,
)
from service.jobs.render import RenderFn
from service.store import ClaimedItem, Store, is_connection_lost

log = logging.getLogger("pilu.jobs.attempt")
T = TypeVar("T")

ITEM_SCOPE = "jobs"
"""The idempotency scope batch items store their documents under."""

GIVE_BACK = (Overloaded, ShuttingDown, NotReady)


@dataclass(frozen=True, slots=True)
class Stored:
    """The item's document (``reused``: found under its key, not rendered now)."""

    document_id: str
    version: int
    reused: bool


@dataclass(frozen=True, slots=True)
class Failed:
    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class Crashed:
    """The render killed its worker process (the payload may be what kills it)."""


@dataclass(frozen=True, slots=True)
class GiveBack:
    """The pool could not take the render (busy, stopping): the attempt does not count."""


Outcome = Stored | Failed | Crashed | GiveBack


async def retrying(
    what: str,
    call: Callable[[], Awaitable[T]],
    retry_s: float,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """``call()``, tried again with back-off while the database connection is lost, for up to
    ``retry_s`` (``on_retry()`` before each new try); any other error, and the last one,
    propagates. Only for calls safe twice."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + retry_s, 0.1
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_connection_lost(exc) or loop.time() + delay > deadline:
                raise
            log.warning("%s: database connection lost (%s); again in %.1f s",
                        what, type(exc).__name__, delay)  # fmt: skip
            if on_retry is not None:
                on_retry()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def attempt(
    store: Store,
    render: RenderFn,
    item: ClaimedItem,
    retry_s: float,
    on_retry: Callable[[], None] | None = None,
) -> Outcome:
    """Find or render and store ``item``'s document (see the module docstring); store calls
    are :func:`retrying`."""
    documents, key, what = (
        store.documents,
        item.idempotency_key,
        f"item {item.batch_id}:{item.index}",
    )
    try:
        existing = await retrying(
            what, lambda: documents.find_replay(ITEM_SCOPE, key, item.raw), retry_s, on_retry
        )
    except IdempotencyConflict as exc:
        return Failed((FieldError("$", exc.code, exc.message),))
    if existing is not None:
        return Stored(existing.id, existing.version.version, reused=True)
    try:
        outcome = await render(item.raw)
    except GIVE_BACK:
        return GiveBack()
    except WorkerCrashed:
        return Crashed()
    except PiluError as exc:
        return Failed((FieldError("$", exc.code, exc.message),))
    except BrokenExecutor:
        raise
    except Exception:
        log.exception("render of %s raised", what)
        return Failed((FieldError("$", "internal_error", "渲染时发生内部错误"),))
    if outcome.rendered is None:
        return Failed(outcome.errors)
    rendered = outcome.rendered
    result = await retrying(
        what,
        lambda: documents.create(item.raw, rendered, idempotency_key=key, scope=ITEM_SCOPE),
        retry_s,
        on_retry,
    )
    return Stored(result.document.id, result.document.version.version, reused=False)
