"""The batch store on both backends: durable creation, taking, exactly-once completion."""

from __future__ import annotations

import asyncio

import pytest

from service.errors import BatchInvalid, FieldError, IdempotencyConflict, NotFound
from service.jobs.parse import item_from_bytes
from service.store import BatchItemInput, Store, Webhook
from tests.store.fakes import payload

ERR = (FieldError("$.x", "bad", "坏"),)


def items(n: int, company: str = "xiaokang-life") -> list[BatchItemInput]:
    return [item_from_bytes(payload(company, 2023, i), f"line {i + 1}") for i in range(n)]


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


async def test_takes_are_disjoint_and_finish_once(store: Store) -> None:
    batch = (await store.batches.create(items(5))).batch
    a = await store.batches.take("A", 3)
    b = await store.batches.take("B", 3)
    assert sorted(c.index for c in a) == [0, 1, 2] and sorted(c.index for c in b) == [3, 4]
    assert await store.batches.take("C", 3) == []
    assert await store.batches.finish(a[0].id, document_id="doc_x", version=1)
    assert not await store.batches.finish(a[0].id, document_id="doc_y", version=1), (
        "a finished item never finishes again"
    )
    assert not await store.batches.finish(a[0].id, errors=ERR)
    assert await store.batches.finish(b[0].id, errors=ERR)
    status = await store.batches.get(batch.id)
    assert (status.done, status.failed, status.running, status.pending, status.state) == (
        1,
        1,
        3,
        0,
        "running",
    )
    (first,) = [i for i in await store.batches.items(batch.id) if i.index == a[0].index]
    assert first.document_id == "doc_x"


async def test_what_a_dead_owner_left_running_is_put_back_with_its_attempt(store: Store) -> None:
    batch = (await store.batches.create(items(2))).batch
    await store.batches.take("dead", 2)
    assert await store.batches.take("alive", 2) == []
    assert await store.batches.reset_running(batch.id) == 2
    taken = await store.batches.take("alive", 2)
    assert sorted((c.index, c.attempts) for c in taken) == [(0, 2), (1, 2)]


async def test_an_item_started_max_attempts_times_fails_as_worker_lost(store: Store) -> None:
    batch = (await store.batches.create(items(2))).batch
    first, second = await store.batches.take("w", 2)
    for node in ("node-2", "node-3"):
        assert (await store.batches.start(first.id, node)) is not None
    # started three times (one take, two starts after nodes that died), then a fourth: lost
    assert await store.batches.start(first.id, "node-4") is None
    await store.batches.give_back(second.id, counted=True)
    await store.batches.give_back((await store.batches.take("w", 1))[0].id, counted=True)
    await store.batches.give_back((await store.batches.take("w", 1))[0].id, counted=True)
    assert await store.batches.take("w", 1, max_attempts=3) == []
    listed = await store.batches.items(batch.id)
    assert [(i.state, i.attempts) for i in listed] == [("failed", 3), ("failed", 3)]
    assert {i.errors[0].code for i in listed} == {"worker_lost"}
    assert "3次" in listed[0].errors[0].message
    assert (await store.batches.get(batch.id)).state == "finished"


async def test_a_give_back_that_does_not_count_takes_its_attempt_back(store: Store) -> None:
    await store.batches.create(items(1))
    (taken,) = await store.batches.take("A", 1)
    await store.batches.give_back(taken.id, counted=False)
    (again,) = await store.batches.take("B", 1)
    assert again.attempts == 1


async def test_start_of_a_finished_item_does_nothing(store: Store) -> None:
    batch = (await store.batches.create(items(1))).batch
    (taken,) = await store.batches.take("A", 1)
    assert await store.batches.finish(taken.id, document_id="doc_x", version=1)
    assert await store.batches.start(taken.id, "B") is None
    (item,) = await store.batches.items(batch.id)
    assert (item.state, item.attempts, item.document_id) == ("done", 1, "doc_x")


async def test_take_only_from_one_batch(store: Store) -> None:
    one = (await store.batches.create(items(2))).batch
    two = (await store.batches.create(items(2))).batch
    taken = await store.batches.take("A", 5, batch_id=two.id)
    assert {c.batch_id for c in taken} == {two.id}
    assert (await store.batches.get(one.id)).pending == 2


async def test_concurrent_takers_never_share(store: Store) -> None:
    n = 40
    batch = (await store.batches.create(items(n))).batch
    seen: list[int] = []

    async def worker(name: str) -> None:
        while taken := await store.batches.take(name, 3):
            for c in taken:
                seen.append(c.index)
                assert await store.batches.finish(c.id, document_id="doc_x", version=1)

    await asyncio.gather(*(worker(f"w{i}") for i in range(5)))
    assert sorted(seen) == list(range(n))
    status = await store.batches.get(batch.id)
    assert (status.done, status.state) == (n, "finished")
    assert status.finished_at is not None


async def test_last_items_finishing_together_finish_the_batch(store: Store) -> None:
    batch = (
        await store.batches.create(items(6), webhook=Webhook("http://127.0.0.1:9/h", "s"))
    ).batch
    taken = await store.batches.take("A", 6)
    assert (await store.batches.get(batch.id)).webhook_state == "waiting"
    await asyncio.gather(
        *(store.batches.finish(c.id, document_id="doc_x", version=1) for c in taken)
    )
    status = await store.batches.get(batch.id)
    assert (status.done, status.state, status.webhook_state) == (6, "finished", "pending")


async def test_webhook_is_retried_after_its_pause_then_given_up(store: Store) -> None:
    batch = (
        await store.batches.create(
            [BatchItemInput(b"{", "a", None, ERR)], webhook=Webhook("http://x", "s")
        )
    ).batch
    for attempt in (1, 2, 3):
        (due,) = await store.batches.due_webhooks()
        assert (due.batch_id, due.attempt, due.secret) == (batch.id, attempt, "s")
        await store.batches.record_webhook(
            batch.id, delivered=False, error="HTTP 500", final=attempt == 3, retry_after_s=0
        )
    assert await store.batches.due_webhooks() == []
    assert (await store.batches.get(batch.id)).webhook_state == "failed"


async def test_a_failed_webhook_waits_for_its_retry_time(store: Store) -> None:
    batch = (
        await store.batches.create(
            [BatchItemInput(b"{", "a", None, ERR)], webhook=Webhook("http://x", "s")
        )
    ).batch
    await store.batches.record_webhook(batch.id, delivered=False, error="HTTP 500", final=False)
    assert await store.batches.due_webhooks() == []
    await store.batches.record_webhook(batch.id, delivered=True, error=None, final=False)
    assert (await store.batches.get(batch.id)).webhook_state == "delivered"
