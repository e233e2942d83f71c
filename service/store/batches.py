"""The batch store: batches and their items, and what either queue needs of them.

Durability: :meth:`BatchStore.create` writes the batch and every item (payload bytes included)
in one transaction and returns only after it committed; the caller may hand out the id. Its
idempotency key (``kind`` ``batch``) is :mod:`service.store.idempotency`, as for documents. On
PostgreSQL the same transaction defers one job of the engine per item
(:mod:`service.store.engine_sql`): a batch is never recorded without its jobs.

Queues: on PostgreSQL the job engine (procrastinate, :mod:`service.jobs.engine`) runs each item
with :meth:`~BatchStore.start`, :meth:`~BatchStore.finish` and :meth:`~BatchStore.give_back`;
who runs a job and when it is retried is the engine's. On SQLite the local queue of the data
folder's one owner takes pending items with :meth:`~BatchStore.take` and, when it starts, puts
back what a killed predecessor left running (:meth:`~BatchStore.reset_running`). There are no
leases: ``lease_owner`` only names the node or process running the item now.

Exactly once, as users see it: :meth:`~BatchStore.finish` acts on an item only while it is not
finished, so only the first completion moves the batch's counters; a job run twice (or an
attempt after one that died between storing and finishing) changes nothing. The document is
stored once because attempts store it under the item's idempotency key. An item started
``max_attempts`` times without finishing (a payload that kills its worker, or its node) fails
with ``worker_lost`` instead of being tried forever.

Counters: ``done_count``/``failed_count`` on the batch row change in the same transaction as
the item, by an ``UPDATE`` that locks the batch row; two workers finishing the last two items at
once cannot both miss that the batch finished. Which caller may see a batch: only one whose
allowed companies include every company its items name (a batch for A and B is hidden from a
key for A alone, since its archive holds B's documents).
"""

from __future__ import annotations

import builtins
import json
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


_CLAIMED_COLUMNS = (
    batch_items.c.id, batch_items.c.batch_id, batch_items.c.idx, batch_items.c.payload,
    batch_items.c.attempts, batch_items.c.idempotency_key,
)  # fmt: skip
"""What an item's attempt needs, returned by the update that begins it."""


def _attempt_begun(runner: str) -> dict[str, Any]:
    """The values of an item whose attempt ``runner`` begins: running, one attempt more, its
    first start kept."""
    return {
        "state": "running",
        "lease_owner": runner,
        "attempts": batch_items.c.attempts + 1,
        "started_at": func.coalesce(batch_items.c.started_at, epoch_now()),
    }


def _claimed(row: Any) -> ClaimedItem:
    return ClaimedItem(id=row.id, batch_id=row.batch_id, index=row.idx, raw=bytes(row.payload),
                       attempts=row.attempts, idempotency_key=row.idempotency_key)  # fmt: skip


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
                    .values(**_attempt_begun(runner), lease_expires_at=None)
                    .returning(*_CLAIMED_COLUMNS)
                )
            ).one()
        return _claimed(r)

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
        self,
        batch_id: str,
        *,
        delivered: bool,
        error: str | None,
        final: bool,
        retry_after_s: float = 30.0,
    ) -> None:
        """One delivery attempt: ``delivered``; or failed, to be tried again after
        ``retry_after_s`` (``delivering``) or given up (``failed``) when ``final``."""
        state = "delivered" if delivered else ("failed" if final else "delivering")
        async with self.db.write() as conn:
            await conn.execute(
                update(batches)
                .where(batches.c.id == batch_id,
                       batches.c.webhook_state.in_(("pending", "delivering")))
                .values(webhook_state=state, webhook_last_error=error,
                        webhook_attempts=batches.c.webhook_attempts + 1,
                        webhook_lease_expires_at=epoch_now() + retry_after_s)
            )  # fmt: skip

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

    # --- the local queue (SQLite) ---------------------------------------------------------

    async def take(
        self,
        runner: str,
        limit: int,
        *,
        batch_id: str | None = None,
        max_attempts: int = 3,
    ) -> builtins.list[ClaimedItem]:
        """Begin attempts at up to ``limit`` pending items (:meth:`start` for each, in one
        transaction): the highest batch priority first, then the oldest; only from
        ``batch_id`` when given. Pending items already started ``max_attempts`` times fail as
        ``worker_lost`` here instead. For the local queue, whose one owner knows that no one
        else runs these items; an item taken stays ``running`` until it is finished or given
        back (a dead owner's are put back by :meth:`reset_running`)."""
        if limit <= 0:
            return []
        scoped = (batch_items.c.batch_id == batch_id) if batch_id is not None else true()
        async with self.db.write() as conn:
            lost = (
                await conn.execute(
                    select(batch_items.c.id, batch_items.c.attempts).where(
                        batch_items.c.state == "pending",
                        batch_items.c.attempts >= max_attempts,
                        scoped,
                    )
                )
            ).all()
            for item_id, attempts in lost:
                await self._finish_in(
                    conn, item_id, "failed", None, None,
                    errors_json([worker_lost_error(attempts)]),
                )  # fmt: skip
            candidates = (
                select(batch_items.c.id)
                .join(batches, batches.c.id == batch_items.c.batch_id)
                .where(batch_items.c.state == "pending", scoped)
                .order_by(batches.c.priority.desc(), batch_items.c.id)
                .limit(limit)
            )
            rows = (
                await conn.execute(
                    update(batch_items)
                    .where(batch_items.c.id.in_(candidates), batch_items.c.state == "pending")
                    .values(**_attempt_begun(runner))
                    .returning(*_CLAIMED_COLUMNS)
                )
            ).all()
        return [
            _claimed(r)
            for r in rows
        ]  # fmt: skip

    async def reset_running(self, batch_id: str | None = None) -> int:
        """Put every ``running`` item of ``batch_id`` (``None``: of every batch) back to
        ``pending``, its attempt still counted; how many. Only for the owner of a data folder
        (:mod:`service.jobs.owner`) taking up what a killed predecessor left: with a live
        runner this would let two of them render the same item."""
        scoped = (batch_items.c.batch_id == batch_id) if batch_id is not None else true()
        async with self.db.write() as conn:
            result = await conn.execute(
                update(batch_items)
                .where(scoped, batch_items.c.state == "running")
                .values(state="pending", lease_owner=None, lease_expires_at=None)
                .returning(batch_items.c.id)
            )
            return len(result.all())

    async def due_webhooks(self, *, limit: int = 5) -> builtins.list[WebhookDue]:
        """Finished batches whose webhook is due now: never tried, or failed and past its
        retry time (:meth:`record_webhook`), oldest first. For the local queue; on PostgreSQL
        each webhook is a job of the engine."""
        due = or_(
            batches.c.webhook_state == "pending",
            and_(
                batches.c.webhook_state == "delivering",
                func.coalesce(batches.c.webhook_lease_expires_at, 0.0) <= epoch_now(),
            ),
        )
        stmt = _status_select().where(due).order_by(batches.c.seq).limit(limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            WebhookDue(batch_id=r["id"], url=r["webhook_url"], secret=r["webhook_secret"],
                       attempt=r["webhook_attempts"] + 1, status=_status(r))
            for r in rows
        ]  # fmt: skip


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
