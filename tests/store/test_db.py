"""The SQLite engine's set-up: the pool no longer rolls back every connection given back, so a
transaction left open must still end before the connection is used again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from service.store import open_store


async def test_a_connection_given_back_inside_a_transaction_is_rolled_back(tmp_path: Path) -> None:
    async with await open_store(None, tmp_path) as store:
        db = store.documents.db
        async with db.engine.connect() as conn:  # begun on first use, never committed
            await conn.execute(text("CREATE TABLE left_open (x)"))
        async with db.write() as conn:  # would fail to begin inside the one left open
            await conn.execute(text("CREATE TABLE committed (x)"))
        async with db.read() as conn:
            names = (await conn.execute(text("SELECT name FROM sqlite_master"))).scalars().all()
        assert "committed" in names and "left_open" not in names
