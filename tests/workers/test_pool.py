"""The process pool on its own: results, errors, timeouts, crashes, recycling, bounds."""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from service.errors import (
    InternalError,
    Overloaded,
    PayloadInvalid,
    RenderFailed,
    RenderTimeout,
    ShuttingDown,
    WorkerCrashed,
)
from service.workers import InlinePool, ProcessPool, WorkerStartFailed
from tests.workers import tasks

PoolFactory = Callable[..., Awaitable[ProcessPool]]


@pytest.fixture
async def make_pool() -> AsyncIterator[PoolFactory]:
    pools: list[ProcessPool] = []

    async def factory(**kwargs: Any) -> ProcessPool:
        kwargs.setdefault("size", 1)
        kwargs.setdefault("initializer", tasks.noop)
        pool = ProcessPool(**kwargs)
        await pool.start()
        pools.append(pool)
        return pool

    yield factory
    for pool in pools:
        await pool.close()


async def wait_for_warm(pool: ProcessPool, count: int, limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while pool.stats().warm < count:
        assert time.monotonic() < deadline, f"pool did not get back to {count} warm workers"
        await asyncio.sleep(0.02)


async def test_runs_a_task_in_another_process(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    assert await pool.run(tasks.echo, b"\x00bytes" * 1000, timeout=5) == b"\x00bytes" * 1000
    assert await pool.run(tasks.pid, timeout=5) != __import__("os").getpid()


async def test_large_payloads_cross_both_ways(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    blob = bytes(range(256)) * 40_000  # 10 MB
    assert await pool.run(tasks.echo, blob, timeout=10) == blob


async def test_pilu_errors_cross_with_their_fields(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    with pytest.raises(PayloadInvalid) as caught:
        await pool.run(tasks.invalid, ["$.a", "$.b[0].c"], timeout=5)
    assert [e.path for e in caught.value.errors] == ["$.a", "$.b[0].c"]
    assert caught.value.details[1]["path"] == "$.b[0].c"
    assert caught.value.status == 422
    with pytest.raises(RenderFailed) as failed:
        await pool.run(tasks.render_failed, timeout=5)
    assert failed.value.details == {"font": "FZXiaoBiaoSong"}
    assert await pool.run(tasks.echo, b"still fine", timeout=5) == b"still fine"


async def test_unexpected_errors_become_internal_and_are_logged(
    make_pool: PoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await make_pool()
    with caplog.at_level(logging.ERROR, logger="pilu.workers"):
        with pytest.raises(InternalError) as caught:
            await pool.run(tasks.unexpected, timeout=5)
        with pytest.raises(InternalError):
            await pool.run(tasks.unpicklable_result, timeout=5)
    assert "internal detail" not in caught.value.message
    assert "internal detail" in caplog.text  # the traceback goes to the log
    assert pool.stats().restarts == 0  # the worker is healthy and kept


async def test_unpicklable_function_fails_before_reaching_a_worker(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        await pool.run(lambda: 1, timeout=5)
    assert pool.stats().busy == 0
    assert await pool.run(tasks.echo, b"ok", timeout=5) == b"ok"


async def test_timeout_kills_the_worker_and_a_new_one_takes_over(make_pool: PoolFactory) -> None:
    restarts: list[str] = []
    pool = await make_pool(on_restart=restarts.append)
    first = await pool.run(tasks.pid, timeout=5)
    started = time.monotonic()
    with pytest.raises(RenderTimeout) as caught:
        await pool.run(tasks.sleep_then, 30, "never", timeout=0.3)
    assert time.monotonic() - started < 2  # the caller is answered at once
    assert caught.value.status == 504
    assert restarts == ["timeout"]
    assert await pool.run(tasks.echo, b"after", timeout=10) == b"after"
    assert await pool.run(tasks.pid, timeout=5) != first
    assert pool.stats().restarts == 1


async def test_a_crashed_worker_is_replaced(make_pool: PoolFactory) -> None:
    restarts: list[str] = []
    pool = await make_pool(on_restart=restarts.append)
    with pytest.raises(WorkerCrashed):
        await pool.run(tasks.die, timeout=5)
    assert restarts == ["crash"]
    assert await pool.run(tasks.echo, b"back", timeout=10) == b"back"


async def test_workers_are_recycled_after_max_tasks(make_pool: PoolFactory) -> None:
    restarts: list[str] = []
    pool = await make_pool(max_tasks_per_child=2, on_restart=restarts.append)
    pids = [await pool.run(tasks.pid, timeout=10) for _ in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert restarts == ["recycle", "recycle"]


async def test_queue_is_bounded(make_pool: PoolFactory) -> None:
    pool = await make_pool(size=1, queue_limit=1, retry_after_s=7)
    running = asyncio.create_task(pool.run(tasks.sleep_then, 0.6, "a", timeout=5))
    await asyncio.sleep(0.1)
    queued = asyncio.create_task(pool.run(tasks.sleep_then, 0, "b", timeout=5))
    await asyncio.sleep(0.05)
    assert pool.stats().queued == 1 and pool.stats().busy == 1
    with pytest.raises(Overloaded) as caught:
        await pool.run(tasks.echo, b"c", timeout=5)
    assert caught.value.headers == {"Retry-After": "7"}
    assert await running == "a" and await queued == "b"


async def test_a_cancelled_caller_does_not_lose_the_worker(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    caller = asyncio.create_task(pool.run(tasks.sleep_then, 0.3, "x", timeout=5))
    await asyncio.sleep(0.1)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await pool.run(tasks.echo, b"y", timeout=5) == b"y"
    assert pool.stats().restarts == 0


async def test_a_caller_cancelled_while_waiting_leaves_the_queue(make_pool: PoolFactory) -> None:
    """Its task never runs, its place in the queue is free again, and the lane is lent again
    ``lane_idle_s`` after it left."""
    pool = await make_pool(size=2, queue_limit=1, lane_idle_s=0.3)
    running = [
        asyncio.create_task(pool.run(tasks.sleep_then, 0.5, f"r{n}", timeout=5)) for n in range(2)
    ]
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(pool.run(tasks.die, timeout=5))
    await asyncio.sleep(0.05)
    assert pool.stats().queued == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pool.stats().queued == 0
    assert await pool.run(tasks.echo, b"next", timeout=5) == b"next"  # after one of the two
    assert await asyncio.gather(*running) == ["r0", "r1"]
    assert pool.stats().restarts == 0  # the cancelled task (it kills its worker) never ran
    assert not pool.stats().lane_lent
    await asyncio.sleep(0.5)
    assert pool.stats().lane_lent


async def test_drain_refuses_new_work_but_finishes_running_work(make_pool: PoolFactory) -> None:
    pool = await make_pool()
    running = asyncio.create_task(pool.run(tasks.sleep_then, 0.3, "done", timeout=5))
    await asyncio.sleep(0.05)
    pool.drain()
    with pytest.raises(ShuttingDown):
        await pool.run(tasks.echo, b"late", timeout=5)
    assert await running == "done"


async def test_close_stops_every_process() -> None:
    pool = ProcessPool(size=2, initializer=tasks.noop)
    await pool.start()
    processes = [w.process for w in pool._processes]
    stuck = asyncio.create_task(pool.run(tasks.sleep_then, 30, "never", timeout=60))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(pool.close(), 10)
    assert all(p.exitcode is not None for p in processes)
    with pytest.raises((ShuttingDown, asyncio.CancelledError)):
        await stuck


async def test_failed_warm_up_stops_start() -> None:
    pool = ProcessPool(size=2, initializer=tasks.failing_warm_up)
    with pytest.raises(WorkerStartFailed, match="fonts missing"):
        await pool.start()
    assert not pool._processes


def test_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        ProcessPool(size=0)


async def test_inline_pool_runs_in_process() -> None:
    warmed: list[int] = []
    pool = InlinePool(initializer=lambda: warmed.append(1))
    await pool.start()
    assert warmed == [1]
    assert await pool.run(tasks.pid, timeout=1) == __import__("os").getpid()
    with pytest.raises(PayloadInvalid):
        await pool.run(tasks.invalid, ["$.x"], timeout=1)
    pool.drain()
    with pytest.raises(ShuttingDown):
        await pool.run(tasks.echo, b"", timeout=1)
    await pool.close()


async def test_a_batch_alone_runs_on_every_worker(make_pool: PoolFactory) -> None:
    """Two workers and no request: four 0.5 s batch tasks run two at a time."""
    pool = await make_pool(size=2)
    assert pool.stats().lane_lent
    started = time.monotonic()
    batch = [
        asyncio.create_task(pool.run(tasks.sleep_then, 0.5, f"b{n}", timeout=10, lane="batch"))
        for n in range(4)
    ]
    await asyncio.sleep(0.2)
    assert pool.stats().busy == 2
    assert await asyncio.gather(*batch) == ["b0", "b1", "b2", "b3"]
    assert time.monotonic() - started < 1.5  # two rounds, not four


async def test_a_request_mid_batch_takes_the_next_free_worker_then_keeps_the_lane(
    make_pool: PoolFactory,
) -> None:
    """Every worker runs a batch task and more wait: a request gets the first worker that
    frees, before the batch tasks queued earlier; batch tasks then leave one worker free until
    ``lane_idle_s`` after the request, and take both again after that."""
    pool = await make_pool(size=2, lane_idle_s=0.8)
    batch = [
        asyncio.create_task(pool.run(tasks.sleep_then, 0.5, f"b{n}", timeout=10, lane="batch"))
        for n in range(12)
    ]
    await asyncio.sleep(0.15)
    assert pool.stats().busy == 2
    asked = time.monotonic()
    assert await pool.run(tasks.sleep_then, 0.0, "r", timeout=10) == "r"
    answered = time.monotonic()
    assert answered - asked < 0.5  # the rest of one batch task, not one queued behind it
    assert not pool.stats().lane_lent
    samples: list[tuple[float, int]] = []
    while time.monotonic() - answered < 1.6:
        await asyncio.sleep(0.02)
        samples.append((time.monotonic() - answered, pool.stats().busy))
    kept = [busy for at, busy in samples if 0.05 < at < 0.7]
    lent = [busy for at, busy in samples if at > 0.9]
    assert kept and max(kept) == 1  # the lane stays free for requests
    assert 2 in lent  # then it is lent again
    assert pool.stats().lane_lent
    assert len(await asyncio.gather(*batch)) == 12


async def test_batch_tasks_never_take_the_queue_of_requests(make_pool: PoolFactory) -> None:
    """One worker, a queue of one: batch tasks waiting leave the queue's place to a request,
    and are never refused."""
    pool = await make_pool(size=1, queue_limit=1)
    batch = [
        asyncio.create_task(pool.run(tasks.sleep_then, 0.3, f"b{n}", timeout=10, lane="batch"))
        for n in range(3)
    ]
    await asyncio.sleep(0.1)
    request = asyncio.create_task(pool.run(tasks.sleep_then, 0.0, "r", timeout=10))
    await asyncio.sleep(0.05)
    assert pool.stats().queued == 1
    with pytest.raises(Overloaded):
        await pool.run(tasks.echo, b"", timeout=10)
    assert await request == "r"
    assert await asyncio.gather(*batch) == ["b0", "b1", "b2"]


async def test_with_one_worker_a_request_goes_before_the_waiting_batch_tasks(
    make_pool: PoolFactory,
) -> None:
    """One worker: a request waits for the batch task running, not for the ones behind it."""
    pool = await make_pool(size=1)
    done: list[str] = []

    async def run(value: str, lane: Any) -> None:
        done.append(await pool.run(tasks.sleep_then, 0.5, value, timeout=10, lane=lane))

    batch = [asyncio.create_task(run(f"b{n}", "batch")) for n in range(3)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await run("r", "request")
    assert time.monotonic() - started < 1.0  # the running batch task, then this request
    assert not pool.stats().lane_lent  # one worker has no lane to lend
    await asyncio.gather(*batch)
    assert done == ["b0", "r", "b1", "b2"]
