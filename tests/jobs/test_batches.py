"""The batch store on both backends: durable creation, leases, exactly-once completion."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from service.errors import BatchInvalid, FieldError, IdempotencyConflict, NotFound
from service.jobs.parse import item_from_bytes
from service.store import BatchItemInput, Store, Webhook
from service.store.schema import batch_items
from tests.store.fakes import payload

ERR = (FieldError("$.x", "bad", "坏"),)


def items(n: int, company: str = "xiaokang-life") -> list[BatchItemInput]:
    return [item_from_bytes(payload(company, 2023, i), f"line {i + 1}") for i in range(n)]


async def expire_all(store: Store, batch_id: str) -> None:
    """Move every lease of the batch into the past, as if ``lease_seconds`` went by."""
    async with store.db.write() as conn:
        await conn.execute(
            update(batch_items).where(batch_items.c.batch_id == batch_id, batch_items.c.state == "running")
            .values(lease_expires_at=0.0)
        )  # fmt: skip


async def test_create_records_every_item(store: Store) -> None:
    bad = BatchItemInput(b"{", "line 4", None, ERR)
    created = await store.batches.create([*items(3), bad])
    status = created.batch
    assert (status.total, status.pending, status.failed, status.state) == (4, 3, 1, "queued")
    listed = await store.batches.items(status.id)
    assert [(i.index, i.state, i.source) for i in listed] == [
        (0, "pending", "line 1"), (1, "pending", "line 2"), (2, "pending", "line 3"), (3, "failed", "line 4"),
    ]  # fmt: skip
    assert listed[3].errors == ERR
    assert await store.batches.payload(status.id, 1) == payload("xiaokang-life", 2023, 1)


async def test_all_failed_batch_is_finished_at_once(store: Store) -> None:
    created = await store.batches.create(
        [BatchItemInput(b"{", "a", None, ERR)], webhook=Webhook("http://127.0.0.1:9/h", "s")
    )
    assert created.batch.state == "finished" and created.batch.finished_at is not None
    assert created.batch.webhook_state == "pending"


async def test_empty_batch_is_refused(store: Store) -> None:
    with pytest.raises(BatchInvalid):
        await store.batches.create([])


async def test_batch_idempotency(store: Store) -> None:
    first = await store.batches.create(items(2), scope="key1", idempotency_key="k")
    again = await store.batches.create(items(2), scope="key1", idempotency_key="k")
    assert again.replayed and again.batch.id == first.batch.id
    with pytest.raises(IdempotencyConflict):
        await store.batches.create(items(3), scope="key1", idempotency_key="k")
    other_scope = await store.batches.create(items(2), scope="key2", idempotency_key="k")
    assert other_scope.batch.id != first.batch.id


@pytest.mark.parametrize(
    ("allowed", "visible"),
    [
        (None, True),
        ({"xiaokang-life", "anhe-life"}, True),
        ({"xiaokang-life"}, False),
        (set(), False),
    ],
)
async def test_batch_visible_only_with_every_company(
    store: Store, allowed: set[str] | None, visible: bool
) -> None:
    batch = (await store.batches.create(items(1) + items(1, "anhe-life"))).batch
    listed = [b.id for b in (await store.batches.list(allowed_companies=allowed)).items]
    assert (listed == [batch.id]) == visible
    if not visible:
        for call in (store.batches.get(batch.id, allowed_companies=allowed),
                     store.batches.items(batch.id, allowed_companies=allowed)):  # fmt: skip
            with pytest.raises(NotFound):
                await call


async def test_claims_are_disjoint_and_complete_once(store: Store) -> None:
    batch = (await store.batches.create(items(5))).batch
    a = await store.batches.claim("A", 3, 30)
    b = await store.batches.claim("B", 3, 30)
    assert [c.index for c in a] == [0, 1, 2] and [c.index for c in b] == [3, 4]
    assert await store.batches.claim("C", 3, 30) == []
    assert await store.batches.complete(a[0].id, "A", "doc_x", 1)
    assert not await store.batches.complete(a[0].id, "A", "doc_x", 1), (
        "a finished item never finishes again"
    )
    assert not await store.batches.complete(b[0].id, "A", "doc_x", 1), (
        "only the lease owner finishes"
    )
    assert await store.batches.fail(b[0].id, "B", ERR)
    status = await store.batches.get(batch.id)
    assert (status.done, status.failed, status.running, status.pending, status.state) == (
        1,
        1,
        3,
        0,
        "running",
    )


async def test_expired_lease_moves_to_another_worker(store: Store) -> None:
    batch = (await store.batches.create(items(2))).batch
    first = await store.batches.claim("dead", 2, 30)
    assert await store.batches.claim("alive", 2, 30) == []
    await expire_all(store, batch.id)
    taken = await store.batches.claim("alive", 2, 30)
    assert [(c.index, c.attempts) for c in taken] == [(0, 2), (1, 2)]
    assert await store.batches.renew("dead", [c.id for c in first], 30) == set()
    assert not await store.batches.complete(first[0].id, "dead", "doc_x", 1)
    assert await store.batches.complete(taken[0].id, "alive", "doc_x", 1)


async def test_renewed_lease_is_not_taken(store: Store) -> None:
    await store.batches.create(items(1))
    claimed = await store.batches.claim("A", 1, 1.0)
    for _ in range(3):
        await asyncio.sleep(0.4)
        assert await store.batches.renew("A", [claimed[0].id], 1.0) == {claimed[0].id}
        assert await store.batches.claim("B", 1, 1.0) == []


async def test_poison_item_fails_after_max_attempts(store: Store) -> None:
    batch = (await store.batches.create(items(1))).batch
    for attempt in range(1, 4):
        claimed = await store.batches.claim(f"w{attempt}", 1, 30, max_attempts=3)
        assert [c.attempts for c in claimed] == [attempt]
        await expire_all(store, batch.id)
    assert await store.batches.claim("w4", 1, 30, max_attempts=3) == []
    (item,) = await store.batches.items(batch.id)
    assert item.state == "failed" and item.errors[0].code == "worker_lost"
    assert (await store.batches.get(batch.id)).state == "finished"


async def test_release_gives_back_without_counting(store: Store) -> None:
    await store.batches.create(items(1))
    (claimed,) = await store.batches.claim("A", 1, 30)
    assert await store.batches.release(claimed.id, "A")
    (again,) = await store.batches.claim("B", 1, 30)
    assert again.attempts == 1


async def test_claim_only_from_one_batch(store: Store) -> None:
    one = (await store.batches.create(items(2))).batch
    two = (await store.batches.create(items(2))).batch
    claimed = await store.batches.claim("A", 5, 30, batch_id=two.id)
    assert {c.batch_id for c in claimed} == {two.id}
    assert (await store.batches.get(one.id)).pending == 2


async def test_concurrent_claimers_never_share(store: Store) -> None:
    n = 40
    batch = (await store.batches.create(items(n))).batch
    seen: list[int] = []

    async def worker(name: str) -> None:
        while claimed := await store.batches.claim(name, 3, 30):
            for c in claimed:
                seen.append(c.index)
                assert await store.batches.complete(c.id, name, "doc_x", 1)

    await asyncio.gather(*(worker(f"w{i}") for i in range(5)))
    assert sorted(seen) == list(range(n))
    status = await store.batches.get(batch.id)
    assert (status.done, status.state) == (n, "finished")
    assert status.finished_at is not None


async def test_last_items_finishing_together_finish_the_batch(store: Store) -> None:
    batch = (
        await store.batches.create(items(6), webhook=Webhook("http://127.0.0.1:9/h", "s"))
    ).batch
    claimed = await store.batches.claim("A", 6, 30)
    assert (await store.batches.get(batch.id)).webhook_state == "waiting"
    await asyncio.gather(*(store.batches.complete(c.id, "A", "doc_x", 1) for c in claimed))
    status = await store.batches.get(batch.id)
    assert (status.done, status.state, status.webhook_state) == (6, "finished", "pending")


async def test_webhook_outbox_retries_then_gives_up(store: Store) -> None:
    batch = (
        await store.batches.create(
            [BatchItemInput(b"{", "a", None, ERR)], webhook=Webhook("http://x", "s")
        )
    ).batch
    for attempt in (1, 2, 3):
        (due,) = await store.batches.claim_webhooks("A", 60, max_attempts=3)
        assert (due.batch_id, due.attempt, due.secret) == (batch.id, attempt, "s")
        assert await store.batches.claim_webhooks("B", 60) == [], "leased to A"
        await store.batches.finish_webhook(
            batch.id, "A", delivered=False, error="HTTP 500", retry_after_s=0
        )
    assert await store.batches.claim_webhooks("A", 60, max_attempts=3) == []
    assert (await store.batches.get(batch.id)).webhook_state == "failed"
