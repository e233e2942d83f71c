"""The batch store: batches, their items, leases, and the webhook outbox.

Durability: :meth:`BatchStore.create` writes the batch and every item (payload bytes included)
in one transaction and returns only after it committed; the caller may hand out the id. Its
idempotency key (``kind`` ``batch``) is :mod:`service.store.idempotency`, as for documents.

Leases: a worker :meth:`~BatchStore.claim`\\ s items (``running``, ``lease_owner``,
``lease_expires_at`` on the database clock). A lease that expires makes the item claimable
again, so a dead node's items are picked up by another node ``lease_seconds`` later. PostgreSQL
claims with ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, so concurrent claimers
never wait for nor take the same row; SQLite runs the same statement (without the locking
clause, which it does not have) inside ``BEGIN IMMEDIATE``, which serialises writers.

Exactly once: :meth:`~BatchStore.complete` and :meth:`~BatchStore.fail` only act when the
caller still owns the item (``state = 'running' AND lease_owner = me``) and move it to a final
state no claim ever selects. A worker that lost its lease (paused past expiry while another took
over) gets ``False`` and must drop its result. Rendering may therefore run twice for one item
(the slow node and its successor); the *document* is stored once because workers store it under
the item's idempotency key. An item whose lease expired ``max_attempts`` times (a payload that
kills its worker) fails with ``worker_lost`` instead of being retried forever.

Counters: ``done_count``/``failed_count`` on the batch row change in the same transaction as
the item, by an ``UPDATE`` that locks the batch row; two workers finishing the last two items at
once cannot both miss that the batch finished. Which caller may see a batch: only one whose
allowed companies include every company its items name (a batch for A and B is hidden from a
key for A alone, since its archive holds B's documents).
"""

from __future__ import annotations

import builtins
import json
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import BatchInvalid, FieldError, NotFound
from service.store import engine_sql
from service.store.db import Database, epoch_now
from service.store.documents import decode_cursor, encode_cursor, new_id
from service.store.idempotency import IdempotencyKeys, Target
from service.store.models import (
    BatchCreated,
    BatchItemInput,
    BatchStatus,
    ClaimedItem,
    ItemStatus,
    Page,
    Webhook,
    WebhookDue,
    from_epoch,
    sha256_hex,
)
from service.store.schema import batch_companies, batch_items, batches

ITEM_FINAL_STATES = ("done", "failed")
UNKNOWN_COMPANY = ""
"""Stored in ``batch_companies`` for an item whose company id could not be read."""


def worker_lost_error(attempts: int) -> FieldError:
    return FieldError(
        "$", "worker_lost", f"处理该项的进程{attempts}次未能完成（进程退出或租约过期）"
    )


def errors_json(errors: Iterable[FieldError]) -> str:
    return json.dumps([e.as_dict() for e in errors], ensure_ascii=False)


def errors_from_json(text: str | None) -> tuple[FieldError, ...]:
    if not text:
        return ()
    return tuple(FieldError(**e) for e in json.loads(text))


def _request_sha(items: Sequence[BatchItemInput], webhook: Webhook | None) -> str:
    lines = [f"webhook\0{webhook.url if webhook else ''}"]
    for item in items:
        lines.append(f"{item.source}\0{sha256_hex(item.raw)}\0{item.idempotency_key or ''}")
    return sha256_hex("\n".join(lines).encode())


class BatchStore:
    """Batches and items in a :class:`Database`; see the module docstring for the guarantees."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys = IdempotencyKeys(db, "batch")

    # --- creating and reading -------------------------------------------------------------

    async def create(
        self,
        items: Sequence[BatchItemInput],
        *,
        webhook: Webhook | None = None,
        scope: str = "",
        idempotency_key: str | None = None,
        priority: str = "interactive",
    ) -> BatchCreated:
        """Record a batch and all its items durably; items with ``errors`` start ``failed``.
        On PostgreSQL each other item is a job of the engine, deferred in the same transaction
        at ``priority`` (:data:`~service.store.engine_sql.PRIORITIES`: ``interactive`` for the
        console and the API, ``regeneration`` for historical regeneration, after them).

        With ``idempotency_key`` (within ``scope``), a retried create of the same items answers
        the first batch (``replayed``); other items under the same key raise
        ``IdempotencyConflict``. Raises ``BatchInvalid`` for an empty batch.
        """
        if not items:
            raise BatchInvalid("批次中没有任何报送数据", details=[])
        if priority not in engine_sql.PRIORITIES:
            raise ValueError(f"unknown batch priority {priority!r}")
        request_sha = _request_sha(items, webhook)
        earlier = await self.keys.replayed(scope, idempotency_key, request_sha)
        if earlier is not None:
            return BatchCreated(await self.get(earlier.id), replayed=True)
        failed = sum(1 for item in items if item.errors)
        finished = failed == len(items)

        async def write(conn: AsyncConnection) -> Target:
            batch_id = new_id("bat")
            now = await _now(conn)
            await conn.execute(
                insert(batches).values(
                    id=batch_id,
                    scope=scope,
                    idempotency_key=None,
                    request_sha256=request_sha,
                    created_at=now,
                    finished_at=now if finished else None,
                    total=len(items),
                    done_count=0,
                    failed_count=failed,
                    webhook_url=webhook.url if webhook else None,
                    webhook_secret=webhook.secret if webhook else None,
                    webhook_state="none" if webhook is None else ("pending" if finished else "waiting"),
                    webhook_attempts=0,
                    priority=engine_sql.PRIORITIES[priority],
                )
            )  # fmt: skip
            companies = sorted({item.company_id or UNKNOWN_COMPANY for item in items})
            await conn.execute(
                insert(batch_companies),
                [{"batch_id": batch_id, "company_id": c} for c in companies],
            )
            await conn.execute(
                insert(batch_items),
                [
                    {
                        "batch_id": batch_id,
                        "idx": index,
                        "source": item.source,
                        "company_id": item.company_id,
                        "payload": item.raw,
                        "payload_sha256": sha256_hex(item.raw),
                        "idempotency_key": item.idempotency_key or f"{batch_id}:{index}",
                        "state": "failed" if item.errors else "pending",
                        "attempts": 0,
                        "errors": errors_json(item.errors) if item.errors else None,
                        "finished_at": now if item.errors else None,
                    }
                    for index, item in enumerate(items)
                ],
            )
            if self.db.dialect == "postgresql":
                await engine_sql.defer_items(conn, batch_id)
                await engine_sql.defer_webhook(conn, batch_id)
            return Target(batch_id)

        target, replayed = await self.keys.write(scope, idempotency_key, request_sha, write)
        return BatchCreated(await self.get(target.id), replayed=replayed)

    async def get(
        self, batch_id: str, *, allowed_companies: Collection[str] | None = None
    ) -> BatchStatus:
        """Status and counts; ``NotFound`` if absent or not visible to ``allowed_companies``."""
        stmt = _batch_visible(_status_select().where(batches.c.id == batch_id), allowed_companies)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            raise NotFound("批次不存在", details={"batch_id": batch_id})
        return _status(row)

    async def list(
        self,
        *,
        allowed_companies: Collection[str] | None = None,
        scope: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[BatchStatus]:
        """Batches newest first (keyset paging as :meth:`DocumentStore.list`)."""
        limit = max(1, min(limit, 200))
        stmt = _status_select().order_by(batches.c.seq.desc()).limit(limit + 1)
        if scope is not None:
            stmt = stmt.where(batches.c.scope == scope)
        if cursor is not None:
            stmt = stmt.where(batches.c.seq < decode_cursor(cursor))
        stmt = _batch_visible(stmt, allowed_companies)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        next_cursor = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return Page(items=[_status(r) for r in rows[:limit]], next_cursor=next_cursor)

    async def items(
        self,
        batch_id: str,
        *,
        allowed_companies: Collection[str] | None = None,
        states: Collection[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> builtins.list[ItemStatus]:
        """Items in index order (payload bytes left out); ``NotFound`` as :meth:`get`."""
        await self.get(batch_id, allowed_companies=allowed_companies)
        cols = [c for c in batch_items.c if c.name != "payload"]
        stmt = select(*cols).where(batch_items.c.batch_id == batch_id).order_by(batch_items.c.idx)
        if states is not None:
            stmt = stmt.where(batch_items.c.state.in_(sorted(states)))
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_item(r) for r in rows]

    async def payload(self, batch_id: str, index: int) -> bytes:
        """The payload bytes of one item, exactly as received (no access check: internal)."""
        async with self.db.read() as conn:
            data = (
                await conn.execute(
                    select(batch_items.c.payload).where(
                        batch_items.c.batch_id == batch_id, batch_items.c.idx == index
                    )
                )
            ).scalar()
        if data is None:
            raise NotFound("批次项不存在", details={"batch_id": batch_id, "index": index})
        return bytes(data)

    # --- items run by a queue (the job engine, the local queue) -----------------------------

    async def start(
        self, item_id: int, runner: str, *, max_attempts: int = 3
    ) -> ClaimedItem | None:
        """Begin an attempt at an item: ``running`` on ``runner`` (a name, not a lease), its
        attempt counted. ``None`` when there is nothing to do: the item is finished (a job run
        twice), or it was started ``max_attempts`` times without finishing (its render or its
        node died each time), in which case it fails here as ``worker_lost``."""
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    select(batch_items.c.state, batch_items.c.attempts)
                    .where(batch_items.c.id == item_id)
                    .with_for_update()
                )
            ).first()
            if row is None or row.state in ITEM_FINAL_STATES:
                return None
            if row.attempts >= max_attempts:
                await self._finish_in(
                    conn, item_id, "failed", None, None,
                    errors_json([worker_lost_error(row.attempts)]),
                )  # fmt: skip
                return None
            r = (
                await conn.execute(
                    update(batch_items)
                    .where(batch_items.c.id == item_id)
                    .values(
                        state="running",
                        lease_owner=runner,
                        lease_expires_at=None,
                        attempts=batch_items.c.attempts + 1,
                        started_at=func.coalesce(batch_items.c.started_at, epoch_now()),
                    )
                    .returning(
                        batch_items.c.id, batch_items.c.batch_id, batch_items.c.idx,
                        batch_items.c.payload, batch_items.c.attempts,
                        batch_items.c.idempotency_key,
                    )
                )
            ).one()  # fmt: skip
        return ClaimedItem(id=r.id, batch_id=r.batch_id, index=r.idx, raw=bytes(r.payload),
                           attempts=r.attempts, idempotency_key=r.idempotency_key)  # fmt: skip

    async def finish(
        self,
        item_id: int,
        *,
        document_id: str | None = None,
        version: int | None = None,
        errors: Sequence[FieldError] | None = None,
    ) -> bool:
        """Finish an item: ``done`` with its document, or ``failed`` with ``errors``. Only the
        first finish of an item counts (moves the batch's counters, may make it finished and
        due its webhook); a later one returns ``False`` and changes nothing."""
        state = "failed" if errors is not None else "done"
        async with self.db.write() as conn:
            return await self._finish_in(
                conn, item_id, state, document_id, version,
                errors_json(errors) if errors is not None else None,
            )  # fmt: skip

    async def give_back(self, item_id: int, *, counted: bool) -> None:
        """An attempt that ended unfinished: the item is ``pending`` again. The attempt stays
        counted when ``counted`` (the render killed its worker), else it is taken back (the
        pool was busy or stopping)."""
        async with self.db.write() as conn:
            await conn.execute(
                update(batch_items)
                .where(batch_items.c.id == item_id, batch_items.c.state == "running")
                .values(
                    state="pending",
                    lease_owner=None,
                    attempts=batch_items.c.attempts - (0 if counted else 1),
                )
            )

    async def _finish_in(
        self,
        conn: AsyncConnection,
        item_id: int,
        state: str,
        document_id: str | None,
        version: int | None,
        errors: str | None,
    ) -> bool:
        batch_id = (
            await conn.execute(
                update(batch_items)
                .where(batch_items.c.id == item_id, batch_items.c.state.not_in(ITEM_FINAL_STATES))
                .values(
                    state=state, document_id=document_id, version=version, errors=errors,
                    lease_owner=None, lease_expires_at=None, finished_at=epoch_now(),
                )
                .returning(batch_items.c.batch_id)
            )
        ).scalar()  # fmt: skip
        if batch_id is None:
            return False
        await _bump(conn, batch_id, done=int(state == "done"), failed=int(state == "failed"))
        if self.db.dialect == "postgresql":
            await engine_sql.defer_webhook(conn, batch_id)
        return True

    async def webhook_due(self, batch_id: str) -> WebhookDue | None:
        """The webhook of ``batch_id`` if it is due (finished, not yet delivered nor given up)."""
        stmt = _status_select().where(
            batches.c.id == batch_id, batches.c.webhook_state.in_(("pending", "delivering"))
        )
        async with self.db.read() as conn:
            r = (await conn.execute(stmt)).mappings().first()
        if r is None:
            return None
        return WebhookDue(batch_id=r["id"], url=r["webhook_url"], secret=r["webhook_secret"],
                          attempt=r["webhook_attempts"] + 1, status=_status(r))  # fmt: skip

    async def record_webhook(
        self, batch_id: str, *, delivered: bool, error: str | None, final: bool
    ) -> None:
        """One delivery attempt: ``delivered``; or failed, to be tried again (``delivering``)
        or given up (``failed``) when ``final``."""
        state = "delivered" if delivered else ("failed" if final else "delivering")
        async with self.db.write() as conn:
            await conn.execute(
                update(batches)
                .where(batches.c.id == batch_id,
                       batches.c.webhook_state.in_(("pending", "delivering")))
                .values(webhook_state=state, webhook_last_error=error,
                        webhook_attempts=batches.c.webhook_attempts + 1)
            )  # fmt: skip

    # --- leases ---------------------------------------------------------------------------

    async def count_jobs(self) -> dict[tuple[str, str], int]:
        """Jobs by ``(queue, state)``: on PostgreSQL the engine's (procrastinate's queues and
        states: ``todo``, ``doing``, ``succeeded``, ``failed`` …), on SQLite the local queue's
        items (queue ``local``, the item states)."""
        if self.db.dialect != "postgresql":
            return {("local", state): n for state, n in (await self.count_items_by_state()).items()}
        async with self.db.read() as conn:
            rows = await conn.execute(engine_sql.COUNT_JOBS)
            return {(queue, state): int(n) for queue, state, n in rows.all()}

    async def count_items_by_state(self) -> dict[str, int]:
        """How many items of every batch are in each state (only states that have some)."""
        stmt = select(batch_items.c.state, func.count()).group_by(batch_items.c.state)
        async with self.db.read() as conn:
            return {state: count for state, count in (await conn.execute(stmt)).all()}

    async def claim(
        self,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        *,
        batch_id: str | None = None,
        max_attempts: int = 3,
    ) -> builtins.list[ClaimedItem]:
        """Lease up to ``limit`` claimable items (pending, or running with an expired lease),
        oldest first; only from ``batch_id`` when given. Items whose lease expired
        ``max_attempts`` times fail with ``worker_lost`` here instead of being claimed."""
        if limit <= 0:
            return []
        now = epoch_now()
        expired = and_(batch_items.c.state == "running", batch_items.c.lease_expires_at < now)
        scoped = (batch_items.c.batch_id == batch_id) if batch_id is not None else true()
        async with self.db.write() as conn:
            poisoned = (
                select(batch_items.c.id)
                .where(expired, batch_items.c.attempts >= max_attempts, scoped)
                .order_by(batch_items.c.id)
                .limit(100)
                .with_for_update(skip_locked=True)
            )
            lost = (
                (
                    await conn.execute(
                        update(batch_items)
                        .where(batch_items.c.id.in_(poisoned))
                        .values(
                            state="failed",
                            errors=errors_json([worker_lost_error(max_attempts)]),
                            lease_owner=None,
                            lease_expires_at=None,
                            finished_at=now,
                        )
                        .returning(batch_items.c.batch_id)
                    )
                )
                .scalars()
                .all()
            )
            for lost_batch, count in sorted(Counter(lost).items()):
                await _bump(conn, lost_batch, failed=count)
            candidates = (
                select(batch_items.c.id)
                .join(batches, batches.c.id == batch_items.c.batch_id)
                .where(or_(batch_items.c.state == "pending", expired), scoped)
                .order_by(batches.c.priority.desc(), batch_items.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=batch_items)
            )
            rows = (
                await conn.execute(
                    update(batch_items)
                    .where(batch_items.c.id.in_(candidates))
                    .values(
                        state="running",
                        lease_owner=worker_id,
                        lease_expires_at=now + lease_seconds,
                        attempts=batch_items.c.attempts + 1,
                        started_at=func.coalesce(batch_items.c.started_at, now),
                    )
                    .returning(
                        batch_items.c.id,
                        batch_items.c.batch_id,
                        batch_items.c.idx,
                        batch_items.c.payload,
                        batch_items.c.attempts,
                        batch_items.c.idempotency_key,
                    )
                )
            ).all()
        claimed = [
            ClaimedItem(id=r.id, batch_id=r.batch_id, index=r.idx, raw=bytes(r.payload),
                        attempts=r.attempts, idempotency_key=r.idempotency_key)
            for r in rows
        ]  # fmt: skip
        return sorted(claimed, key=lambda c: c.id)

    async def renew(
        self, worker_id: str, item_ids: Collection[int], lease_seconds: float
    ) -> set[int]:
        """Extend the leases ``worker_id`` still holds among ``item_ids``; the ids renewed."""
        if not item_ids:
            return set()
        async with self.db.write() as conn:
            rows = await conn.execute(
                update(batch_items)
                .where(
                    batch_items.c.id.in_(sorted(item_ids)),
                    batch_items.c.state == "running",
                    batch_items.c.lease_owner == worker_id,
                )
                .values(lease_expires_at=epoch_now() + lease_seconds)
                .returning(batch_items.c.id)
            )
            return set(rows.scalars().all())

    async def complete(self, item_id: int, worker_id: str, document_id: str, version: int) -> bool:
        """Mark the item done with its document; ``False`` if ``worker_id`` no longer owns it."""
        return await self._finish(
            item_id, worker_id, state="done", document_id=document_id, version=version, errors=None
        )

    async def fail(self, item_id: int, worker_id: str, errors: Sequence[FieldError]) -> bool:
        """Mark the item failed with ``errors``; ``False`` if ``worker_id`` no longer owns it."""
        return await self._finish(
            item_id,
            worker_id,
            state="failed",
            document_id=None,
            version=None,
            errors=errors_json(errors),
        )

    async def release(self, item_id: int, worker_id: str, *, counted: bool = False) -> bool:
        """Give an item back unfinished: it is claimable at once. The attempt does not count
        (shutting down, pool overloaded) unless ``counted`` (its render killed its worker: the
        next claim is its next attempt)."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(batch_items)
                .where(
                    batch_items.c.id == item_id,
                    batch_items.c.state == "running",
                    batch_items.c.lease_owner == worker_id,
                )
                .values(
                    state="pending",
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=batch_items.c.attempts - (0 if counted else 1),
                )
                .returning(batch_items.c.id)
            )
            return result.first() is not None

    async def expire_leases(self, batch_id: str | None = None) -> int:
        """Expire every lease in ``batch_id`` (``None``: in every batch) now; the attempt still
        counts. Only for a caller that knows no one else works on these items, like the owner
        of a data folder (:mod:`service.jobs.owner`) after a crash; with live workers this
        would let two of them render the same item."""
        scoped = (batch_items.c.batch_id == batch_id) if batch_id is not None else true()
        async with self.db.write() as conn:
            result = await conn.execute(
                update(batch_items)
                .where(scoped, batch_items.c.state == "running")
                .values(lease_expires_at=0.0)
                .returning(batch_items.c.id)
            )
            return len(result.all())

    async def _finish(
        self,
        item_id: int,
        worker_id: str,
        *,
        state: str,
        document_id: str | None,
        version: int | None,
        errors: str | None,
    ) -> bool:
        async with self.db.write() as conn:
            batch_id = (
                await conn.execute(
                    update(batch_items)
                    .where(
                        batch_items.c.id == item_id,
                        batch_items.c.state == "running",
                        batch_items.c.lease_owner == worker_id,
                    )
                    .values(
                        state=state,
                        document_id=document_id,
                        version=version,
                        errors=errors,
                        lease_owner=None,
                        lease_expires_at=None,
                        finished_at=epoch_now(),
                    )
                    .returning(batch_items.c.batch_id)
                )
            ).scalar()
            if batch_id is None:
                return False
            await _bump(conn, batch_id, done=int(state == "done"), failed=int(state == "failed"))
            return True

    # --- webhook outbox -------------------------------------------------------------------

    async def claim_webhooks(
        self, worker_id: str, lease_seconds: float, *, limit: int = 5, max_attempts: int = 3
    ) -> builtins.list[WebhookDue]:
        """Lease finished batches whose webhook is due; those past ``max_attempts`` become
        ``failed``. At-least-once: a node that dies after sending but before
        :meth:`finish_webhook` lets another node send again after the lease."""
        now = epoch_now()
        due = or_(
            batches.c.webhook_state == "pending",
            and_(batches.c.webhook_state == "delivering", batches.c.webhook_lease_expires_at < now),
        )
        async with self.db.read() as conn:
            if not (await conn.execute(select(exists().where(due)))).scalar():
                return []
        async with self.db.write() as conn:
            await conn.execute(
                update(batches)
                .where(due, batches.c.webhook_attempts >= max_attempts)
                .values(
                    webhook_state="failed", webhook_lease_owner=None, webhook_lease_expires_at=None
                )
            )
            candidates = (
                select(batches.c.id).where(due).order_by(batches.c.seq).limit(limit)
                .with_for_update(skip_locked=True)
            )  # fmt: skip
            rows = (
                (
                    await conn.execute(
                        update(batches)
                        .where(batches.c.id.in_(candidates))
                        .values(
                            webhook_state="delivering",
                            webhook_lease_owner=worker_id,
                            webhook_lease_expires_at=now + lease_seconds,
                            webhook_attempts=batches.c.webhook_attempts + 1,
                        )
                        .returning(batches.c.id)
                    )
                )
                .scalars()
                .all()
            )
            if not rows:
                return []
            statuses = (
                (
                    await conn.execute(
                        _status_select().where(batches.c.id.in_(rows)).order_by(batches.c.seq)
                    )
                )
                .mappings()
                .all()
            )
        return [
            WebhookDue(batch_id=r["id"], url=r["webhook_url"], secret=r["webhook_secret"],
                       attempt=r["webhook_attempts"], status=_status(r))
            for r in statuses
        ]  # fmt: skip

    async def finish_webhook(
        self, batch_id: str, worker_id: str, *, delivered: bool, error: str | None = None,
        retry_after_s: float = 30.0,
    ) -> None:  # fmt: skip
        """Record a delivery: ``delivered``, or a failure retried by any node after
        ``retry_after_s`` (until :meth:`claim_webhooks` gives up)."""
        values: dict[str, Any]
        if delivered:
            values = {"webhook_state": "delivered", "webhook_lease_expires_at": None}
        else:
            values = {
                "webhook_state": "delivering",
                "webhook_lease_expires_at": epoch_now() + retry_after_s,
            }
        async with self.db.write() as conn:
            await conn.execute(
                update(batches)
                .where(batches.c.id == batch_id, batches.c.webhook_lease_owner == worker_id,
                       batches.c.webhook_state == "delivering")
                .values(webhook_lease_owner=None, webhook_last_error=error, **values)
            )  # fmt: skip


async def _now(conn: AsyncConnection) -> float:
    return float((await conn.execute(select(epoch_now()))).scalar_one())


async def _bump(conn: AsyncConnection, batch_id: str, *, done: int = 0, failed: int = 0) -> None:
    finished = (batches.c.done_count + done + batches.c.failed_count + failed) >= batches.c.total
    await conn.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(
            done_count=batches.c.done_count + done,
            failed_count=batches.c.failed_count + failed,
            finished_at=case(
                (finished, func.coalesce(batches.c.finished_at, epoch_now())), else_=None
            ),
            webhook_state=case(
                (and_(finished, batches.c.webhook_state == "waiting"), "pending"),
                else_=batches.c.webhook_state,
            ),
        )
    )


def _status_select() -> Select[Any]:
    running = (
        select(func.count())
        .where(batch_items.c.batch_id == batches.c.id, batch_items.c.state == "running")
        .correlate(batches)
        .scalar_subquery()
    )
    return select(batches, running.label("running"))


def _batch_visible(stmt: Select[Any], allowed_companies: Collection[str] | None) -> Select[Any]:
    if allowed_companies is None:
        return stmt
    foreign = exists().where(
        batch_companies.c.batch_id == batches.c.id,
        batch_companies.c.company_id.not_in(sorted(allowed_companies)),
    )
    return stmt.where(~foreign)


def _dt(seconds: float | None) -> datetime | None:
    return from_epoch(seconds)


def _status(row: Any) -> BatchStatus:
    created = from_epoch(row["created_at"])
    assert created is not None
    running = int(row["running"])
    return BatchStatus(
        id=row["id"],
        created_at=created,
        finished_at=_dt(row["finished_at"]),
        total=row["total"],
        pending=row["total"] - row["done_count"] - row["failed_count"] - running,
        running=running,
        done=row["done_count"],
        failed=row["failed_count"],
        webhook_state=row["webhook_state"],
    )


def _item(row: Any) -> ItemStatus:
    return ItemStatus(
        batch_id=row["batch_id"],
        index=row["idx"],
        source=row["source"],
        state=row["state"],
        company_id=row["company_id"],
        payload_sha256=row["payload_sha256"],
        attempts=row["attempts"],
        document_id=row["document_id"],
        version=row["version"],
        errors=errors_from_json(row["errors"]),
        started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
    )
