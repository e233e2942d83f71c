"""The job engine's rows, written inside the store's own transactions (PostgreSQL only).

On PostgreSQL every batch item and every webhook is a procrastinate job. The store defers them
with procrastinate's own SQL function (``procrastinate_defer_jobs_v1``) on the connection of the
transaction that records the batch or finishes it, so a batch is never recorded without its
jobs, nor a job deferred for a batch that rolled back. The worker side (tasks, retries, the
stalled-job sweep) is :mod:`service.jobs.engine`.

What this cannot do: run on SQLite (it has no procrastinate; the local queue reads
``batch_items`` itself), or change procrastinate's schema: :func:`install_schema` applies the
``schema.sql`` of the installed procrastinate, once, in migration 6; a later procrastinate whose
schema differs needs a migration of its own (its ``sql/migrations`` files).
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

ITEM_TASK = "pilu.render_item"
WEBHOOK_TASK = "pilu.send_webhook"
ITEM_QUEUE = "batch_items"
WEBHOOK_QUEUE = "webhooks"

PRIORITIES = {"interactive": 10, "regeneration": 0}
"""Batch priorities by name: console and API batches ahead of historical regeneration
(procrastinate fetches higher numbers first, then older jobs)."""

_DEFER_ITEMS = f"""
SELECT coalesce(cardinality(procrastinate_defer_jobs_v1(array_agg(
    ROW('{ITEM_QUEUE}', '{ITEM_TASK}', b.priority, NULL, 'item:' || i.id,
        jsonb_build_object('item_id', i.id), NULL)::procrastinate_job_to_defer_v1
    ORDER BY i.id))), 0)
FROM batch_items i JOIN batches b ON b.id = i.batch_id
WHERE i.state IN ('pending', 'running') AND (CAST(:batch_id AS TEXT) IS NULL OR i.batch_id = :batch_id)
"""

_DEFER_WEBHOOK = f"""
SELECT procrastinate_defer_jobs_v1(ARRAY[
    ROW('{WEBHOOK_QUEUE}', '{WEBHOOK_TASK}', 0, NULL, 'webhook:' || b.id,
        jsonb_build_object('batch_id', b.id), NULL)::procrastinate_job_to_defer_v1])
FROM batches b
WHERE b.webhook_state IN ('pending', 'delivering') AND (CAST(:batch_id AS TEXT) IS NULL OR b.id = :batch_id)
  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = 'webhook:' || b.id
                  AND j.status = 'todo')
"""


COUNT_JOBS = text(
    "SELECT queue_name, CAST(status AS TEXT), count(*) FROM procrastinate_jobs GROUP BY 1, 2"
)


async def defer_items(conn: AsyncConnection, batch_id: str) -> int:
    """One job per unfinished item of ``batch_id``, at the batch's priority; how many."""
    return int((await conn.execute(text(_DEFER_ITEMS), {"batch_id": batch_id})).scalar_one())


async def defer_webhook(conn: AsyncConnection, batch_id: str) -> None:
    """The job that sends ``batch_id``'s webhook, if it is due and not already waiting."""
    await conn.execute(text(_DEFER_WEBHOOK), {"batch_id": batch_id})


def install_schema(conn: Connection) -> None:
    """procrastinate's tables, types and functions; then a job for every item and webhook the
    earlier lease queue left unfinished (items it had ``running`` start again as ``pending``,
    their attempts kept)."""
    schema = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    conn.exec_driver_sql(schema.replace("%", "%%"))
    conn.execute(
        text(
            "UPDATE batch_items SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL"
            " WHERE state = 'running'"
        )
    )
    conn.execute(text(_DEFER_ITEMS), {"batch_id": None})
    conn.execute(
        text(
            "UPDATE batches SET webhook_state = 'pending', webhook_lease_owner = NULL,"
            " webhook_lease_expires_at = NULL WHERE webhook_state = 'delivering'"
        )
    )
    conn.execute(text(_DEFER_WEBHOOK), {"batch_id": None})
