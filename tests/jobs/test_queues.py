"""One contract, two queues: the local queue of embedded SQLite (:func:`run_worker`, one owner
per data folder) and the job engine of PostgreSQL (procrastinate, :class:`Engine`). The same
assertions run against both: every item done once, a render that kills its worker tried again
up to ``worker_lost``, interactive batches ahead of regeneration, and an item a dead runner left
running taken up and finished once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select, text

from service.errors import WorkerCrashed
from service.jobs.attempt import ITEM_SCOPE
from service.jobs.engine import Engine
from service.jobs.parse import item_from_bytes
from service.jobs.render import RenderFn, RenderOutcome
from service.jobs.runner import run_worker
from service.store import Store, open_store
from service.store.engine_sql import ITEM_QUEUE
from service.store.schema import document_versions, documents
from tests.jobs.batch_checks import assert_done_exactly_once
from tests.jobs.runner_events import Heard
from tests.store.backends import create_database, drop_database
from tests.store.fakes import FakeRender, payload, rendered_for

QUEUES = ("local", "engine")


class Queue(Protocol):
    store: Store

    async def run(
        self,
        render: RenderFn,
        batch_ids: list[str],
        *,
        concurrency: int = 2,
        heard: Heard | None = None,
    ) -> None:
        """Work until every batch in ``batch_ids`` is finished (at most 30 s)."""

    async def leave_running(self, batch_id: str) -> int:
        """Start an attempt at one item of ``batch_id`` on a runner that then dies; its id."""


async def _until_finished(store: Store, batch_ids: list[str], task: asyncio.Task[Any]) -> None:
    for _ in range(1500):
        states = [(await store.batches.get(b)).state for b in batch_ids]
        if all(s == "finished" for s in states):
            return
        if task.done():
            task.result()
            raise AssertionError("the queue stopped before the batches finished")
        await asyncio.sleep(0.02)
    raise AssertionError(f"batches not finished: {states}")


class LocalQueue:
    """SQLite: the runner of the data folder's owner, which first takes up what a dead process
    left running (as ``pilu serve`` does once it holds the folder's lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(
        self,
        render: RenderFn,
        batch_ids: list[str],
        *,
        concurrency: int = 2,
        heard: Heard | None = None,
    ) -> None:
        await self.store.batches.reset_running()
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(
                self.store,
                render,
                concurrency,
                30.0,
                stop,
                poll_interval_s=0.02,
                webhooks=False,
                events=heard,
            )  # fmt: skip
        )
        try:
            await _until_finished(self.store, batch_ids, task)
        finally:
            stop.set()
            await task

    async def leave_running(self, batch_id: str) -> int:
        (claimed,) = await self.store.batches.take("dead-runner", 1, batch_id=batch_id)
        return claimed.id


class EngineQueue:
    """PostgreSQL: one node's engine; a dead node is a procrastinate worker that stopped
    beating while its job was ``doing``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(
        self,
        render: RenderFn,
        batch_ids: list[str],
        *,
        concurrency: int = 2,
        heard: Heard | None = None,
    ) -> None:
        engine = Engine(self.store, render, node="contract-node", concurrency=concurrency,
                        stalled_after_s=1.0, poll_interval_s=0.05, events=heard)  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            await _until_finished(self.store, batch_ids, task)
        finally:
            stop.set()
            await task

    async def leave_running(self, batch_id: str) -> int:
        engine = Engine(self.store, FakeRender(), node="dead-node")
        async with engine.app.open_async():
            manager = engine.app.job_manager
            worker_id = await manager.register_worker()
            job = await manager.fetch_job(queues=[ITEM_QUEUE], worker_id=worker_id)
            assert job is not None
        item_id = job.task_kwargs["item_id"]
        assert isinstance(item_id, int)
        assert await self.store.batches.start(item_id, "dead-node") is not None
        async with self.store.db.write() as conn:
            await conn.execute(
                text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
            )
        return item_id


@pytest.fixture(params=QUEUES)
async def queue(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: None
) -> AsyncIterator[LocalQueue | EngineQueue]:
    url = None if request.param == "local" else await create_database()  # jobs included
    store = await open_store(url, tmp_path / "data")
    make: Callable[[Store], LocalQueue | EngineQueue] = LocalQueue if url is None else EngineQueue
    try:
        yield make(store)
    finally:
        await store.close()
        if url is not None:
            await drop_database(url)


async def _create(store: Store, raws: list[bytes], **kwargs: Any) -> str:
    items = [item_from_bytes(r, f"line {i + 1}") for i, r in enumerate(raws)]
    return (await store.batches.create(items, **kwargs)).batch.id


async def _versions(store: Store) -> tuple[int, int]:
    async with store.db.read() as conn:
        docs = (await conn.execute(select(func.count()).select_from(documents))).scalar_one()
        versions = (
            await conn.execute(select(func.count()).select_from(document_versions))
        ).scalar_one()
    return docs, versions


async def test_every_item_done_once(queue: Queue) -> None:
    store = queue.store
    raws = [payload(n=n) for n in range(4)] + [payload(n=9, fail=True)]
    batch_id = await _create(store, raws)
    render = FakeRender()
    await queue.run(render, [batch_id])
    status = await store.batches.get(batch_id)
    assert (status.done, status.failed, status.state) == (4, 1, "finished")
    items = await store.batches.items(batch_id)
    assert [i.state for i in items] == ["done"] * 4 + ["failed"]
    assert [i.attempts for i in items] == [1] * 5
    assert items[4].errors[0].code == "breakdown_sum_mismatch"
    assert sorted(render.calls.values()) == [1] * 5, "each payload rendered once"
    assert await _versions(store) == (4, 4)

    await queue.run(render, [batch_id])  # again: nothing left to do, nothing made twice
    assert sum(render.calls.values()) == 5
    assert await _versions(store) == (4, 4)
    assert (await store.batches.get(batch_id)).done == 4


class Poisoned(FakeRender):
    """Kills its worker on payloads with ``"poison": true``."""

    async def __call__(self, raw: bytes) -> RenderOutcome:
        outcome = await super().__call__(raw)
        if json.loads(raw).get("poison"):
            raise WorkerCrashed("渲染进程意外退出")
        return outcome


async def test_a_render_that_kills_its_worker_fails_as_worker_lost_at_the_third(
    queue: Queue,
) -> None:
    store = queue.store
    raws = [payload(n=0), payload(n=1, poison=True), payload(n=2)]
    batch_id = await _create(store, raws)
    render, heard = Poisoned(), Heard()
    await queue.run(render, [batch_id], heard=heard)
    items = await store.batches.items(batch_id)
    assert [i.state for i in items] == ["done", "failed", "done"]
    assert items[1].attempts == 3
    assert [e.code for e in items[1].errors] == ["worker_lost"]
    assert "3次" in items[1].errors[0].message
    assert render.calls[items[1].payload_sha256] == 3
    assert len(heard.retried_items) == 2, "two give-backs, then worker_lost"
    status = await store.batches.get(batch_id)
    assert (status.done, status.failed) == (2, 1)


async def test_interactive_batches_go_ahead_of_regeneration(queue: Queue) -> None:
    store = queue.store
    old = await _create(store, [payload(year=2019, n=n) for n in range(3)], priority="regeneration")
    new = await _create(store, [payload(year=2024, n=n) for n in range(3)])
    order: list[int] = []

    class Recording(FakeRender):
        async def __call__(self, raw: bytes) -> RenderOutcome:
            order.append(json.loads(raw)["report_year"])
            return await super().__call__(raw)

    await queue.run(Recording(), [old, new], concurrency=1)
    assert order == [2024] * 3 + [2019] * 3


async def test_an_item_a_dead_runner_left_running_is_taken_up_once(queue: Queue) -> None:
    store = queue.store
    batch_id = await _create(store, [payload(n=n) for n in range(3)])
    item_id = await queue.leave_running(batch_id)
    items = {i.index: i for i in await store.batches.items(batch_id)}
    [held] = [i for i in items.values() if i.state == "running"]
    # it had stored its document before it died: the next attempt finds it, renders nothing
    raw = await store.batches.payload(batch_id, held.index)
    key = f"{batch_id}:{held.index}"
    await store.documents.create(raw, rendered_for(raw), idempotency_key=key, scope=ITEM_SCOPE)
    render, heard = FakeRender(), Heard()
    await queue.run(render, [batch_id], heard=heard)
    after = {i.index: i for i in await store.batches.items(batch_id)}
    assert after[held.index].attempts == 2
    assert [t.id for t in heard.taken] == [item_id]
    assert render.calls[held.payload_sha256] == 0, "its stored document was reused"
    await assert_done_exactly_once(store, batch_id, 3)


async def test_a_job_run_twice_makes_no_second_document(tmp_path: Path, pg_url: str) -> None:
    """The engine only: a second job for an item already done (a job run again after its node
    lost the database between storing and finishing) finds the item finished."""
    async with await open_store(pg_url, tmp_path / "data") as store:
        batch_id = await _create(store, [payload(n=0), payload(n=1)])
        queue, render = EngineQueue(store), FakeRender()
        await queue.run(render, [batch_id])
        async with store.db.write() as conn:
            await conn.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'todo', attempts = 0"
                    " WHERE task_name = 'pilu.render_item'"
                )
            )
        engine = Engine(store, render, node="again", poll_interval_s=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            for _ in range(500):
                async with store.db.read() as conn:
                    left = (
                        await conn.execute(
                            text(
                                "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'"
                            )
                        )
                    ).scalar_one()
                if left == 0:
                    break
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await task
        assert left == 0
        assert sum(render.calls.values()) == 2
        await assert_done_exactly_once(store, batch_id, 2)


async def test_a_node_stopping_gives_its_jobs_back_past_the_grace(
    tmp_path: Path, pg_url: str
) -> None:
    """The engine only: a render still running when the grace is over is cancelled, its item
    given back with the attempt not counted and its job retried at once, by any node."""
    async with await open_store(pg_url, tmp_path / "data") as store:
        batch_id = await _create(store, [payload(n=0, sleep=30)])
        engine = Engine(store, FakeRender(), node="stopping", shutdown_grace_s=0.2,
                        poll_interval_s=0.05)  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        for _ in range(500):
            if (await store.batches.get(batch_id)).running == 1:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 10)
        (item,) = await store.batches.items(batch_id)
        assert (item.state, item.attempts) == ("pending", 0)
        async with store.db.read() as conn:
            jobs = (
                await conn.execute(text("SELECT status::text, attempts FROM procrastinate_jobs"))
            ).all()
        assert [tuple(j) for j in jobs] == [("todo", 1)]


async def test_finished_jobs_are_deleted_and_their_items_kept(tmp_path: Path, pg_url: str) -> None:
    """The engine only: rows of finished jobs older than the retention are deleted; younger
    ones, and the items and documents the jobs made, stay."""
    async with await open_store(pg_url, tmp_path / "data") as store:
        batch_id = await _create(store, [payload(n=0), payload(n=1)])
        await EngineQueue(store).run(FakeRender(), [batch_id])
        async with store.db.write() as conn:
            await conn.execute(
                text(
                    "UPDATE procrastinate_events SET at = at - interval '100 hours'"
                    " WHERE job_id = (SELECT min(id) FROM procrastinate_jobs"
                    " WHERE task_name = 'pilu.render_item')"
                )
            )
        engine = Engine(store, FakeRender(), node="purging")
        async with engine.app.open_async():
            await engine.delete_finished_jobs()
        async with store.db.read() as conn:
            kept = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'pilu.render_item'"
                    )
                )
            ).scalar_one()
        assert kept == 1
        await assert_done_exactly_once(store, batch_id, 2)
