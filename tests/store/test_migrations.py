"""Migrations: applied once, under a lock, and producing exactly the tables the code uses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, text

from service.errors import StoreSchemaTooNew
from service.store import open_store
from service.store.migrations import current_version, latest_version, migrate
from service.store.schema import metadata, schema_migrations


async def test_reopening_applies_nothing(fresh_database_url: str | None, data_dir: Path) -> None:
    async with await open_store(fresh_database_url, data_dir) as store:
        assert await current_version(store.db) == latest_version()
        assert await migrate(store.db) == []


async def test_migrated_tables_match_schema_module(
    fresh_database_url: str | None, data_dir: Path
) -> None:
    async with (
        await open_store(fresh_database_url, data_dir) as store,
        store.db.engine.connect() as conn,
    ):
        reflected = await conn.run_sync(
            lambda sync: {
                name: (
                    {c["name"]: c["nullable"] for c in inspect(sync).get_columns(name)},
                    sorted(
                        i["name"]
                        for i in inspect(sync).get_indexes(name)
                        if i["name"] and "duplicates_constraint" not in i  # PG lists UNIQUE too
                    ),
                )
                for name in inspect(sync).get_table_names()
                if not name.startswith("procrastinate_")  # the job engine's own (migration 6)
            }
        )
    expected = {
        t.name: ({c.name: c.nullable for c in t.columns}, sorted(str(i.name) for i in t.indexes))
        for t in metadata.sorted_tables
    }
    assert reflected == expected


async def test_job_engine_schema_is_on_postgresql_only(
    fresh_database_url: str | None, data_dir: Path
) -> None:
    async with (
        await open_store(fresh_database_url, data_dir) as store,
        store.db.engine.connect() as conn,
    ):
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    engine_tables = {t for t in tables if t.startswith("procrastinate_")}
    if fresh_database_url is None:
        assert engine_tables == set()
    else:
        assert {"procrastinate_jobs", "procrastinate_workers"} <= engine_tables


async def test_nodes_starting_together_migrate_once(
    fresh_database_url: str | None, data_dir: Path
) -> None:
    stores = await asyncio.gather(*(open_store(fresh_database_url, data_dir) for _ in range(4)))
    try:
        async with stores[0].db.read() as conn:
            rows = (await conn.execute(schema_migrations.select())).all()
        assert [r.version for r in rows] == list(range(1, latest_version() + 1))
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_many_nodes_opening_a_new_sqlite_file_together_all_start(tmp_path: Path) -> None:
    """Four stores opened at once on a new SQLite file, twenty times over: switching the file to
    WAL is contended, and SQLite refuses it at once ("database is locked") rather than wait;
    every store must open anyway."""
    for round_ in range(20):
        data_dir = tmp_path / str(round_)
        stores = await asyncio.gather(*(open_store(None, data_dir) for _ in range(4)))
        await asyncio.gather(*(s.close() for s in stores))


async def test_newer_schema_is_refused(fresh_database_url: str | None, data_dir: Path) -> None:
    async with (
        await open_store(fresh_database_url, data_dir) as store,
        store.db.write() as conn,
    ):
        await conn.execute(
            insert(schema_migrations).values(
                version=latest_version() + 1, name="future", applied_at=0.0
            )
        )
    with pytest.raises(StoreSchemaTooNew):
        await open_store(fresh_database_url, data_dir)


async def test_step_6_moves_batches_in_flight_onto_the_job_engine(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database the lease queue left mid-batch (an item pending, one running under a dead
    node's lease, one done; a finished batch whose webhook failed once) gets one job per
    unfinished item and one for the webhook; the running item is pending again, its attempt
    kept."""
    from service.store import migrations
    from service.store.db import Database, create_engine, normalise_url

    db = Database(create_engine(normalise_url(pg_url, Path("/nonexistent"))))
    try:
        monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        assert await migrate(db) == [1, 2, 3, 4, 5]
        async with db.write() as conn:
            for batch, state in (("bat_a", "waiting"), ("bat_b", "delivering")):
                await conn.execute(
                    text(
                        "INSERT INTO batches (id, scope, request_sha256, created_at, total,"
                        " done_count, failed_count, webhook_url, webhook_secret, webhook_state,"
                        " webhook_attempts) VALUES (:id, '', 'x', 0, 3, 0, 0, 'http://h', 's',"
                        " :state, 1)"
                    ),
                    {"id": batch, "state": state},
                )
            rows = [("bat_a", 0, "pending", 0), ("bat_a", 1, "running", 2), ("bat_a", 2, "done", 1)]
            for batch, idx, state, attempts in rows:
                await conn.execute(
                    text(
                        "INSERT INTO batch_items (batch_id, idx, source, payload, payload_sha256,"
                        " idempotency_key, state, attempts, lease_owner, lease_expires_at)"
                        " VALUES (:b, :i, 'l', '\\x7b7d', 'x', :k, :s, :a, :o, :e)"
                    ),
                    {"b": batch, "i": idx, "k": f"{batch}:{idx}", "s": state, "a": attempts,
                     "o": "old-node" if state == "running" else None,
                     "e": 9e12 if state == "running" else None},
                )  # fmt: skip
        monkeypatch.undo()
        assert (await migrate(db))[0] == 6
        async with db.read() as conn:
            jobs = (
                await conn.execute(
                    text(
                        "SELECT queue_name, task_name, priority, args::text FROM procrastinate_jobs"
                        " WHERE status = 'todo' ORDER BY id"
                    )
                )
            ).all()
            items = (
                await conn.execute(
                    text("SELECT idx, state, attempts, lease_owner FROM batch_items ORDER BY idx")
                )
            ).all()
            hooks = (
                await conn.execute(text("SELECT id, webhook_state FROM batches ORDER BY id"))
            ).all()
        ids = await _item_ids(db)
        assert [tuple(j) for j in jobs] == [
            ("batch_items", "pilu.render_item", 10, f'{{"item_id": {ids[0]}}}'),
            ("batch_items", "pilu.render_item", 10, f'{{"item_id": {ids[1]}}}'),
            ("webhooks", "pilu.send_webhook", 0, '{"batch_id": "bat_b"}'),
        ]
        assert [tuple(i) for i in items] == [
            (0, "pending", 0, None), (1, "pending", 2, None), (2, "done", 1, None),
        ]  # fmt: skip
        assert [tuple(h) for h in hooks] == [("bat_a", "waiting"), ("bat_b", "pending")]
    finally:
        await db.close()


async def _item_ids(db: Any) -> list[int]:
    async with db.read() as conn:
        return list((await conn.execute(text("SELECT id FROM batch_items ORDER BY idx"))).scalars())
