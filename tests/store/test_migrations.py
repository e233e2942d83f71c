"""Migrations: applied once, under a lock, and producing exactly the tables the code uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect

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
