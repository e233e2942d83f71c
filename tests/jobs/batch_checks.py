"""A check shared by the batch tests that cut something mid-batch (a node, the disk, the database)."""

from __future__ import annotations

from sqlalchemy import func, select

from service.store import Store
from service.store.schema import document_versions, documents, idempotency_keys


async def assert_done_exactly_once(store: Store, batch_id: str, n: int) -> None:
    """All ``n`` items done, the batch finished, and one document, version and idempotency key
    per item: nothing stored twice, nothing lost. Each item's outputs read back as hashed."""
    items = await store.batches.items(batch_id)
    assert [i.state for i in items] == ["done"] * n, [i.errors for i in items]
    assert len({i.document_id for i in items}) == n
    async with store.db.read() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
            for t, where in (
                (documents, ()),
                (document_versions, ()),
                (idempotency_keys, (idempotency_keys.c.kind == "document",)),
            )
        ]
    assert counts == [n, n, n], "one document, one version, one key per item"
    status = await store.batches.get(batch_id)
    assert (status.done, status.failed, status.state) == (n, 0, "finished")
    for item in items:
        assert item.document_id is not None
        doc = await store.documents.get(item.document_id)
        assert doc.version.manifest.payload_sha256 == item.payload_sha256
        for fmt in doc.version.manifest.outputs:
            await store.documents.read_output(doc.id, fmt)  # raises StorageCorrupt on a mismatch
