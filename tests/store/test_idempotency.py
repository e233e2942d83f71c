"""One idempotency mechanism for documents and batches, on both backends, and the migration that
moved the batches' keys into it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from service.errors import IdempotencyConflict
from service.jobs.parse import item_from_bytes
from service.store import Store, open_store
from service.store import migrations as migrations_module
from service.store.migrations import latest_version
from service.store.schema import batches, idempotency_keys
from tests.store.fakes import payload, rendered_for


async def key_rows(store: Store) -> list[tuple[str, str, str]]:
    async with store.db.read() as conn:
        rows = await conn.execute(
            select(idempotency_keys.c.kind, idempotency_keys.c.scope, idempotency_keys.c.key)
            .order_by(idempotency_keys.c.kind)
        )  # fmt: skip
        return [tuple(r) for r in rows.all()]


async def test_a_document_and_a_batch_may_share_a_key(store: Store) -> None:
    """The two kinds are apart: one Idempotency-Key names a document and a batch at once."""
    raw = payload()
    doc = await store.documents.create(raw, rendered_for(raw), idempotency_key="k", scope="s")
    batch = await store.batches.create(
        [item_from_bytes(raw, "line 1")], scope="s", idempotency_key="k"
    )
    assert not doc.replayed and not batch.replayed
    assert await key_rows(store) == [("batch", "s", "k"), ("document", "s", "k")]
    again = await store.batches.create(
        [item_from_bytes(raw, "line 1")], scope="s", idempotency_key="k"
    )
    assert again.replayed and again.batch.id == batch.batch.id
    with pytest.raises(IdempotencyConflict):
        await store.batches.create(
            [item_from_bytes(payload(n=1), "line 1")], scope="s", idempotency_key="k"
        )


async def test_racing_batch_creates_with_one_key_make_one_batch(store: Store) -> None:
    items = [item_from_bytes(payload(n=i), f"line {i + 1}") for i in range(3)]
    results = await asyncio.gather(
        *(store.batches.create(items, scope="s", idempotency_key="race") for _ in range(6))
    )
    assert len({r.batch.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    async with store.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(batches))).scalar_one() == 1


async def test_keys_of_version_2_are_carried_over(
    fresh_database_url: str | None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at schema version 2 holding a document's key and a batch's key: after the
    migration both still replay, and a new request under either key is still refused."""
    with monkeypatch.context() as patch:
        patch.setattr(migrations_module, "MIGRATIONS", migrations_module.MIGRATIONS[:2])
        async with await open_store(fresh_database_url, data_dir) as old, old.db.write() as conn:
            await conn.execute(
                text(
                    "INSERT INTO documents (id, company_id, report_year, kind, latest_version,"
                    " created_at, updated_at) VALUES ('doc_old', 'c', 2023, 'k', 1, 1.0, 1.0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO document_versions (document_id, version, created_at,"
                    " payload_sha256, manifest) VALUES ('doc_old', 1, 1.0, 'p', '{}')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO idempotency_keys (scope, key, request_sha256, document_id,"
                    " version, created_at) VALUES ('s', 'dk', 'sha-d', 'doc_old', 1, 1.0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO batches (id, scope, idempotency_key, request_sha256, created_at,"
                    " total, done_count, failed_count, webhook_state, webhook_attempts)"
                    " VALUES ('bat_old', 's', 'bk', 'sha-b', 2.0, 1, 0, 0, 'none', 0)"
                )
            )
    async with await open_store(fresh_database_url, data_dir) as store:
        async with store.db.read() as conn:
            version = await conn.execute(text("SELECT max(version) FROM schema_migrations"))
            assert version.scalar_one() == latest_version()
            left = (await conn.execute(select(batches.c.idempotency_key))).scalars().all()
        assert left == [None]
        assert await store.documents.keys.replayed("s", "dk", "sha-d") is not None
        batch = await store.batches.keys.replayed("s", "bk", "sha-b")
        assert batch is not None and batch.id == "bat_old"
        for keys, key in ((store.documents.keys, "dk"), (store.batches.keys, "bk")):
            with pytest.raises(IdempotencyConflict):
                await keys.replayed("s", key, "another request")
