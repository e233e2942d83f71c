"""run_worker (the local queue) with an injected render: outcomes, reuse, give-back, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import BrokenExecutor
from typing import Any

import pytest

from service.errors import Overloaded, WorkerCrashed
from service.jobs.attempt import ITEM_SCOPE
from service.jobs.parse import item_from_bytes
from service.jobs.render import RenderOutcome
from service.jobs.runner import RenderPoolBroken, WorkerStats, run_worker
from service.store import Store
from service.store.models import sha256_hex
from tests.jobs.runner_events import Heard
from tests.store.fakes import FakeRender, payload, rendered_for


async def running(store: Store, batch_id: str, n: int) -> None:
    """Wait until ``n`` items of the batch are leased."""
    for _ in range(200):
        if (await store.batches.get(batch_id)).running == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {n} items running")


async def test_batch_with_failing_items_finishes(store: Store) -> None:
    raws = [
        payload(n=0),
        payload(n=1, fail=True),
        payload(n=2),
        payload(n=3, fail=True),
        payload(n=4),
    ]
    batch = (
        await store.batches.create(
            [item_from_bytes(r, f"line {i + 1}") for i, r in enumerate(raws)]
        )
    ).batch
    render = FakeRender()
    stats = await run_worker(store, render, concurrency=2, lease_seconds=5, batch_id=batch.id,
                             stop_when_finished=True, poll_interval_s=0.05)  # fmt: skip
    assert (stats.done, stats.failed) == (3, 2)
    status = await store.batches.get(batch.id)
    assert (status.done, status.failed, status.state) == (3, 2, "finished")
    items = await store.batches.items(batch.id)
    assert [i.state for i in items] == ["done", "failed", "done", "failed", "done"]
    assert items[1].errors[0].code == "breakdown_sum_mismatch"
    for item in items:
        if item.state == "done":
            assert item.document_id is not None
            doc = await store.documents.get(item.document_id)
            assert doc.version.manifest.payload_sha256 == item.payload_sha256


async def test_two_runners_on_one_store_never_take_the_same_item(store: Store) -> None:
    """Taking is one update of pending rows: whoever takes an item, no one else does."""
    raws = [payload(n=i, sleep=0.3) for i in range(4)]
    batch = (
        await store.batches.create([item_from_bytes(r, str(i)) for i, r in enumerate(raws)])
    ).batch
    render = FakeRender()

    def runner(name: str) -> Coroutine[Any, Any, WorkerStats]:
        return run_worker(store, render, 2, worker_id=name, batch_id=batch.id,
                          stop_when_finished=True, poll_interval_s=0.05)  # fmt: skip

    stats = await asyncio.gather(runner("A"), runner("B"))
    assert sorted(render.calls.values()) == [1, 1, 1, 1], "no item was rendered twice"
    assert sum(s.done for s in stats) == 4
    assert [i.attempts for i in await store.batches.items(batch.id)] == [1, 1, 1, 1]


async def test_document_already_stored_is_reused(store: Store) -> None:
    raw = payload()
    batch = (await store.batches.create([item_from_bytes(raw, "a")])).batch
    earlier = await store.documents.create(
        raw, rendered_for(raw), idempotency_key=f"{batch.id}:0", scope=ITEM_SCOPE
    )
    render = FakeRender()
    stats = await run_worker(
        store, render, 1, 5, batch_id=batch.id, stop_when_finished=True, poll_interval_s=0.05
    )
    assert (stats.done, stats.reused, sum(render.calls.values())) == (1, 1, 0)
    (item,) = await store.batches.items(batch.id)
    assert item.document_id == earlier.document.id


async def test_overloaded_render_gives_the_item_back(store: Store) -> None:
    batch = (await store.batches.create([item_from_bytes(payload(), "a")])).batch
    inner = FakeRender()
    refusals = 2

    async def busy_then_ok(raw: bytes) -> RenderOutcome:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise Overloaded("busy")
        return await inner(raw)

    stats = await run_worker(store, busy_then_ok, 1, 5, batch_id=batch.id, stop_when_finished=True,
                             poll_interval_s=0.02)  # fmt: skip
    assert (stats.released, stats.done) == (2, 1)
    (item,) = await store.batches.items(batch.id)
    assert item.attempts == 1


async def test_stop_event_lets_renders_in_flight_finish(store: Store) -> None:
    batch = (
        await store.batches.create(
            [item_from_bytes(payload(n=i, sleep=0.3), str(i)) for i in range(4)]
        )
    ).batch
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(store, FakeRender(), 2, 5, stop, poll_interval_s=0.02))
    await running(store, batch.id, 2)
    stop.set()
    stats = await task
    status = await store.batches.get(batch.id)
    assert (stats.done, status.done, status.pending, status.running) == (2, 2, 2, 0)


async def test_cancel_gives_the_items_back(store: Store) -> None:
    batch = (
        await store.batches.create(
            [item_from_bytes(payload(n=i, sleep=5), str(i)) for i in range(2)]
        )
    ).batch
    task = asyncio.create_task(run_worker(store, FakeRender(), 2, 30, poll_interval_s=0.02))
    await running(store, batch.id, 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = await store.batches.get(batch.id)
    assert (status.running, status.pending) == (0, 2)


async def test_broken_pool_stops_the_runner_and_leaves_the_item(store: Store) -> None:
    batch = (await store.batches.create([item_from_bytes(payload(), "a")])).batch

    async def broken(raw: bytes) -> RenderOutcome:
        raise BrokenExecutor("a worker died")

    with pytest.raises(RenderPoolBroken):
        await run_worker(
            store, broken, 1, 30, batch_id=batch.id, stop_when_finished=True, poll_interval_s=0.02
        )
    (item,) = await store.batches.items(batch.id)
    assert (item.state, item.attempts) == ("running", 1), "left to the next start, counted"


async def test_same_payload_twice_in_a_batch_makes_two_documents(store: Store) -> None:
    raw = payload()
    batch = (
        await store.batches.create([item_from_bytes(raw, "a"), item_from_bytes(raw, "b")])
    ).batch
    await run_worker(
        store, FakeRender(), 2, 5, batch_id=batch.id, stop_when_finished=True, poll_interval_s=0.02
    )
    docs = {i.document_id for i in await store.batches.items(batch.id)}
    assert len(docs) == 2
    assert all(i.payload_sha256 == sha256_hex(raw) for i in await store.batches.items(batch.id))


async def test_taking_up_what_a_dead_owner_left_is_logged_and_reported(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    batch = (
        await store.batches.create([item_from_bytes(payload(n=i), str(i)) for i in range(2)])
    ).batch
    (dead,) = await store.batches.take("dead-node", 1)
    assert await store.batches.reset_running() == 1  # the next owner, at its start
    heard = Heard()
    with caplog.at_level("INFO", logger="pilu.jobs.runner"):
        stats = await run_worker(store, FakeRender(), 2, batch_id=batch.id, events=heard,
                                 stop_when_finished=True, poll_interval_s=0.02)  # fmt: skip
    assert (stats.done, stats.taken_over) == (2, 1)
    assert [(i.id, i.attempts) for i in heard.taken] == [(dead.id, 2)]
    lines = [r for r in caplog.records if r.getMessage().startswith("taking over item")]
    assert len(lines) == 1 and lines[0].levelname == "INFO"
    assert f"{batch.id}:{dead.index}" in lines[0].getMessage()


async def test_an_item_given_back_is_not_a_take_over(store: Store) -> None:
    batch = (await store.batches.create([item_from_bytes(payload(), "a")])).batch
    (item,) = await store.batches.take("stopping-node", 1)
    await store.batches.give_back(item.id, counted=False)
    heard = Heard()
    stats = await run_worker(store, FakeRender(), 1, batch_id=batch.id, events=heard,
                             stop_when_finished=True, poll_interval_s=0.02)  # fmt: skip
    assert (stats.done, stats.taken_over, heard.taken) == (1, 0, [])


async def test_an_item_that_kills_its_worker_is_tried_three_times_then_worker_lost(
    store: Store,
) -> None:
    raws = [payload(n=0), payload(n=1, poison=True), payload(n=2)]
    batch = (
        await store.batches.create(
            [item_from_bytes(r, f"line {i + 1}") for i, r in enumerate(raws)]
        )
    ).batch
    fake = FakeRender()

    async def render(raw: bytes) -> RenderOutcome:
        if b'"poison"' in raw:
            fake.calls[sha256_hex(raw)] += 1
            raise WorkerCrashed("渲染进程意外退出，请重试或联系运维")
        return await fake(raw)

    heard = Heard()
    stats = await run_worker(store, render, concurrency=2, lease_seconds=5, batch_id=batch.id,
                             stop_when_finished=True, poll_interval_s=0.05, events=heard)  # fmt: skip
    assert (stats.done, stats.failed) == (2, 1)
    assert [(i.index, i.attempts) for i in heard.retried_items] == [(1, 1), (1, 2)]
    assert [(i.index, i.attempts) for i in heard.taken] == [(1, 2), (1, 3)]
    items = await store.batches.items(batch.id)
    assert [(i.state, i.attempts) for i in items] == [("done", 1), ("failed", 3), ("done", 1)]
    assert [e.code for e in items[1].errors] == ["worker_lost"]
    assert "3次" in items[1].errors[0].message
    assert fake.calls[sha256_hex(raws[1])] == 3
    status = await store.batches.get(batch.id)
    assert (status.done, status.failed, status.state) == (2, 1, "finished")
