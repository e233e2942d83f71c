"""Faults: a render worker SIGKILLed mid-request, SIGTERM during renders, and the pool's
promise that closing it leaves no process behind (the cause of a flaky shutdown test).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bench.procs import descendants
from service.errors import RenderTimeout
from service.workers import ProcessPool
from tests.hardening import backends
from tests.hardening.support import (
    Server,
    auth,
    children_of,
    command_line,
    dumps,
    example,
    exists,
    http,
    worker_pids,
)

pytestmark = pytest.mark.slow


def slow_render_payload(rows: int = 150) -> bytes:
    """The reference example with a 150-row table: a PDF that takes seconds to lay out."""
    document = example()
    document["figures"]["complaints"]["direct"] = {
        "total": rows,
        "closed": rows,
        "breakdowns": [
            {
                "dimension": "region",
                "rows": [{"label": f"地区{i}", "count": 1} for i in range(rows)],
            }
        ],
    }
    document["sections"][-1]["content"].append({"insert": "complaints.direct.tables"})
    return dumps(document)


def busy_workers(server: Server) -> int:
    status, _, body = http("GET", f"{server.url}/readyz", timeout=5)
    return int(json.loads(body)["workers"]["busy"]) if status == 200 else -1


def test_sigkill_of_a_busy_worker_fails_only_its_request(real_server: Server) -> None:
    """Two long renders occupy both workers and three validations wait; one worker is killed.
    Its request gets a JSON 500 ``worker_crashed``; the other render and the validations are
    answered normally; the pool is whole again and renders."""
    real_server.wait_warm(2)
    slow = slow_render_payload()
    reference = dumps(example())
    with ThreadPoolExecutor(max_workers=5) as pool:
        renders = [
            pool.submit(http, "POST", f"{real_server.url}/v1/render?format=pdf", slow, auth())
            for _ in range(2)
        ]
        deadline = time.monotonic() + 20
        while busy_workers(real_server) < 2:
            assert time.monotonic() < deadline, "the workers never got busy"
            time.sleep(0.02)
        validations = [
            pool.submit(http, "POST", f"{real_server.url}/v1/validate", reference, auth())
            for _ in range(3)
        ]
        time.sleep(0.3)
        victim = worker_pids(real_server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        answers = [future.result(timeout=120) for future in renders]
        checked = [future.result(timeout=120) for future in validations]
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 500], [(s, b[:200]) for s, _, b in answers]
    for status, headers, body in answers:
        if status == 500:
            assert headers["Content-Type"].startswith("application/json")
            assert json.loads(body)["error"]["code"] == "worker_crashed"
            assert headers.get("X-Request-ID")
        else:
            assert body.startswith(b"%PDF-")
    assert [status for status, _, _ in checked] == [200, 200, 200]
    real_server.wait_warm(2)
    assert victim not in worker_pids(real_server.pid)
    status, _, body = http("POST", f"{real_server.url}/v1/render?format=docx", reference, auth())
    assert status == 200 and body.startswith(b"PK")
    _, _, metrics = http("GET", f"{real_server.url}/metrics")
    assert b'pilu_worker_restarts_total{reason="crash"}' in metrics


def test_sigterm_finishes_running_and_queued_renders_then_exits_clean(tmp_path: Path) -> None:
    """SIGTERM with two renders running and two queued: all four are answered 200, a request
    after the signal is refused (connection refused or 503), the server exits 0 within the
    grace period, and no child of the server is left, not even a zombie."""
    server = Server(
        tmp_path / "graceful",
        env={"PILU_WORKERS": "2", "PILU_QUEUE_LIMIT": "4", "PILU_SHUTDOWN_GRACE_S": "15"},
        backend="tests.hardening.backends:SLOW_BACKEND",
    ).start(ready_timeout_s=60)
    process = server.process
    assert process is not None
    try:
        children = descendants(server.pid)
        assert len(worker_pids(server.pid)) == 2
        body = {"company": {"id": "xiaokang-life"}, "sleep_s": 1.5}
        with ThreadPoolExecutor(max_workers=5) as pool:
            inflight = [
                pool.submit(
                    http, "POST", f"{server.url}/v1/render", dumps({**body, "tag": f"r{i}"}), auth()
                )
                for i in range(4)
            ]
            time.sleep(0.5)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            try:
                late_status, _, _ = http(
                    "POST", f"{server.url}/v1/render", dumps(body), auth(), timeout=5
                )
            except OSError:
                late_status = None  # no longer listening
            answers = [future.result(timeout=60) for future in inflight]
        assert [status for status, _, _ in answers] == [200] * 4, answers
        assert sorted(b.split(b"|")[1] for _, _, b in answers) == [b"r0", b"r1", b"r2", b"r3"]
        assert late_status in (None, 503)
        assert process.wait(30) == 0
        assert time.monotonic() - started < 15
        assert not [pid for pid in children if exists(pid)], "a child outlived the server"
    finally:
        server.stop()


# --- the pool on its own: close() reaps every process it started --------------------------------


def pool_children() -> list[int]:
    return [pid for pid in children_of(os.getpid()) if "spawn_main" in command_line(pid)]


async def test_close_during_a_task_reaps_the_worker_before_returning() -> None:
    before = set(pool_children())
    pool = ProcessPool(size=1, initializer=None)
    await pool.start()
    (pid,) = set(pool_children()) - before
    task = asyncio.create_task(pool.run(backends.sleep, 30, timeout=60))
    await asyncio.sleep(0.3)
    await pool.close()
    assert not exists(pid), f"worker {pid} left behind ({command_line(pid) or 'zombie'})"
    with pytest.raises((asyncio.CancelledError, Exception)):
        await task


async def test_close_during_a_replacement_reaps_the_replacement_too() -> None:
    """A timeout kills a worker and starts a replacement (warm-up 1 s); close at once."""
    before = set(pool_children())
    pool = ProcessPool(size=1, initializer=backends.slow_warm_up, start_timeout_s=30)
    await pool.start()
    with pytest.raises(RenderTimeout):
        await pool.run(backends.sleep, 30, timeout=0.2)
    await asyncio.sleep(0.2)  # the replacement is being started or warming up
    started = set(pool_children()) - before
    await pool.close()
    started |= set(pool_children()) - before
    left = [pid for pid in started if exists(pid)]
    assert not left, f"left behind: {[(p, command_line(p) or 'zombie') for p in left]}"
    assert not (set(pool_children()) - before)


async def test_close_during_a_spawn_reaps_the_process_being_started() -> None:
    """Cancelled while a worker is starting (warm-up 1 s): the start is waited for and reaped."""
    before = set(pool_children())
    pool = ProcessPool(size=2, initializer=backends.slow_warm_up, start_timeout_s=30)
    starting: Any = asyncio.create_task(pool.start())
    await asyncio.sleep(0.3)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    await pool.close()
    assert not (set(pool_children()) - before)
