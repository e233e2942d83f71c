"""Crash tests with real renders in real processes, killed with SIGKILL mid-batch.

1. One node on SQLite is killed and restarted: every item completes exactly once, every output
   matches its manifest hash, and no partial file is visible in the artifact folder.
2. Three nodes share PostgreSQL (the job engine); one is killed while it renders an item; the
   other two take its job over once its worker has been silent for 2 s, and every document
   reads back through each node.

The nodes are processes forked by ``tests/jobs/runner_main.py`` after one warm-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.jobs.parse import item_from_bytes
from service.store import FileArtifacts, Store, open_store
from service.store.models import sha256_hex
from service.store.schema import batch_items
from tests.conftest import QUICK_EXAMPLES, ROOT
from tests.jobs.batch_checks import assert_done_exactly_once

pytestmark = pytest.mark.slow

LEASE_S = 2.0


def example_payloads(n: int) -> list[bytes]:
    """Real payloads, the two quickest examples (about 0.3 s a render) in turn."""
    quick = [p.read_bytes() for p in QUICK_EXAMPLES]
    return [quick[i % len(quick)] for i in range(n)]


class Nodes:
    """``runner_main`` as a subprocess, its ``NODE``/``EXIT`` lines read in the background."""

    def __init__(self, data_dir: Path, batch_id: str, *extra: str, database_url: str = "") -> None:
        cmd = [sys.executable, "-m", "tests.jobs.runner_main", "--data-dir", str(data_dir),
               "--batch", batch_id, "--lease", str(LEASE_S), "--database-url", database_url, *extra]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.pids: dict[str, int] = {}
        self.exits: dict[str, int] = {}
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.strip())

    def poll(self) -> None:
        while not self._lines.empty():
            kind, name, value = self._lines.get().split()
            (self.pids if kind == "NODE" else self.exits)[name] = int(value)

    def kill(self, name: str) -> None:
        self.poll()
        os.kill(self.pids[name], signal.SIGKILL)

    def finish(self, timeout_s: float = 90) -> None:
        try:
            self.proc.wait(timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        time.sleep(0.05)
        self.poll()
        assert self.proc.stderr is not None
        assert self.proc.returncode == 0, (
            f"runner exited {self.proc.returncode}\n{self.proc.stderr.read()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.poll()
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def held_by(store: Store, batch_id: str, worker: str) -> int:
    """How many items of the batch ``worker`` is running right now."""
    async with store.db.read() as conn:
        return (
            await conn.execute(
                select(func.count()).where(
                    batch_items.c.batch_id == batch_id,
                    batch_items.c.state == "running",
                    batch_items.c.lease_owner == worker,
                )
            )
        ).scalar_one()


async def assert_exactly_once(store: Store, batch_id: str, n: int) -> None:
    await assert_done_exactly_once(store, batch_id, n)
    items = await store.batches.items(batch_id)
    assert any(i.attempts == 2 for i in items), "the killed node's item was taken over"


async def create_batch(store: Store, n: int) -> str:
    raws = example_payloads(n)
    batch = await store.batches.create(
        [item_from_bytes(r, f"item {i}") for i, r in enumerate(raws)]
    )
    return batch.batch.id


async def test_sqlite_node_killed_and_restarted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    n = 5
    async with await open_store(None, data_dir) as store:
        batch_id = await create_batch(store, n)
        nodes = Nodes(data_dir, batch_id, "--restart")
        try:

            async def mid_batch() -> bool:
                status = await store.batches.get(batch_id)
                return status.done >= 1 and await held_by(store, batch_id, "node-0") > 0

            await wait_until(mid_batch, "an item done and another in flight")
            nodes.kill("node-0")
            nodes.finish()
        finally:
            nodes.stop()
        assert nodes.exits == {"node-0": -signal.SIGKILL, "node-0-restarted": 0}
        await assert_exactly_once(store, batch_id, n)
        assert isinstance(store.artifacts, FileArtifacts)
        for path in store.artifacts.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                assert sha256_hex(path.read_bytes()) == path.name, f"partial or damaged: {path}"


async def test_three_postgres_nodes_one_killed(pg_url: str, tmp_path: Path) -> None:
    n = 6
    async with await open_store(pg_url, tmp_path) as store:
        batch_id = await create_batch(store, n)
        nodes = Nodes(
            tmp_path, batch_id, "--nodes", "3", "--report-dir", str(tmp_path), database_url=pg_url
        )
        try:

            async def victim_mid_render() -> bool:
                status = await store.batches.get(batch_id)
                return status.done >= 1 and await held_by(store, batch_id, "node-2") > 0

            await wait_until(victim_mid_render, "node-2 holding an item")
            nodes.kill("node-2")
            killed_at = time.monotonic()
            nodes.finish()
            assert time.monotonic() - killed_at >= LEASE_S - 0.5, "its job waited for the silence"
        finally:
            nodes.stop()
        assert nodes.exits == {"node-0": 0, "node-1": 0, "node-2": -signal.SIGKILL}
        await assert_exactly_once(store, batch_id, n)
        expected = {i.index: i.document_id for i in await store.batches.items(batch_id)}
        for name in ("node-0", "node-1"):
            seen = json.loads((tmp_path / f"{name}.json").read_text())["documents"]
            assert {int(k): v for k, v in seen.items()} == expected, f"{name} read every document"
    for node in range(3):  # a fresh store (engine, connections) per node reads everything back
        async with await open_store(pg_url, tmp_path / f"reader-{node}") as reader:
            for document_id in expected.values():
                assert document_id is not None
                data, info = await reader.documents.read_output(document_id, "pdf")
                assert sha256_hex(data) == info.sha256
