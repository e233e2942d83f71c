"""Crash tests with real renders in real processes, killed with SIGKILL mid-batch.

1. One node on SQLite is killed and restarted: every item completes exactly once, every output
   matches its manifest hash, and no partial file is visible in the artifact folder.
2. Three nodes share PostgreSQL; one is killed while it holds an item; the other two take its
   items over after the lease (2 s) expires, and every document reads back through each node.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.jobs.parse import item_from_bytes
from service.store import FileArtifacts, Store, open_store
from service.store.models import sha256_hex
from service.store.schema import batch_items, document_versions, documents, idempotency_keys
from tests.conftest import EXAMPLE_FILES, ROOT

pytestmark = pytest.mark.slow

LEASE_S = 2.0


def example_payloads(n: int) -> list[bytes]:
    """Real payloads, the two quickest examples (about 0.3 s a render) in turn."""
    quick = [p.read_bytes() for p in EXAMPLE_FILES if "xiaokang" not in p.name]
    return [quick[i % len(quick)] for i in range(n)]


def start_runner(data_dir: Path, batch_id: str, worker_id: str, database_url: str = "",
                 report: Path | None = None) -> subprocess.Popen[str]:  # fmt: skip
    cmd = [sys.executable, "-m", "tests.jobs.runner_main", "--data-dir", str(data_dir), "--batch", batch_id,
           "--worker-id", worker_id, "--lease", str(LEASE_S), "--database-url", database_url]  # fmt: skip
    if report is not None:
        cmd += ["--report", str(report)]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


async def wait_until(check: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    import asyncio

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():  # type: ignore[misc]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc: subprocess.Popen[str], timeout_s: float = 90) -> None:
    out, err = proc.communicate(timeout=timeout_s)
    assert proc.returncode == 0, f"runner exited {proc.returncode}\n{out}\n{err[-3000:]}"


async def assert_exactly_once(store: Store, batch_id: str, n: int, killed_worker: str) -> None:
    items = await store.batches.items(batch_id)
    assert [i.state for i in items] == ["done"] * n
    assert len({i.document_id for i in items}) == n
    async with store.db.read() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (documents, document_versions, idempotency_keys)
        ]
    assert counts == [n, n, n], "one document, one version, one key per item: nothing stored twice"
    assert any(i.attempts == 2 for i in items), "the killed node's item was taken over"
    status = await store.batches.get(batch_id)
    assert (status.done, status.failed, status.state) == (n, 0, "finished")
    for item in items:
        assert item.document_id is not None
        doc = await store.documents.get(item.document_id)
        assert doc.version.manifest.payload_sha256 == item.payload_sha256
        for fmt, info in doc.version.manifest.outputs.items():
            data, _ = await store.documents.read_output(doc.id, fmt)
            assert sha256_hex(data) == info.sha256 and len(data) == info.size


async def held_by(store: Store, batch_id: str, worker: str) -> int:
    """How many items of the batch ``worker`` holds a lease on right now."""
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


async def test_sqlite_node_killed_and_restarted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    n = 5
    async with await open_store(None, data_dir) as store:
        batch = (
            await store.batches.create(
                [item_from_bytes(r, f"item {i}") for i, r in enumerate(example_payloads(n))]
            )
        ).batch
        victim = start_runner(data_dir, batch.id, "node-1")
        try:

            async def mid_batch() -> bool:
                status = await store.batches.get(batch.id)
                return status.done >= 1 and await held_by(store, batch.id, "node-1") > 0

            await wait_until(mid_batch, "an item done and another in flight")
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
        finally:
            if victim.poll() is None:
                victim.kill()
        before = await store.batches.get(batch.id)
        assert before.state != "finished" and before.running == 1
        finish(start_runner(data_dir, batch.id, "node-1-restarted"))
        await assert_exactly_once(store, batch.id, n, "node-1")
        assert isinstance(store.artifacts, FileArtifacts)
        for path in store.artifacts.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                assert sha256_hex(path.read_bytes()) == path.name, (
                    f"partial or damaged file visible: {path}"
                )


async def test_three_postgres_nodes_one_killed(pg_url: str, tmp_path: Path) -> None:
    n = 6
    async with await open_store(pg_url, tmp_path) as store:
        batch = (
            await store.batches.create(
                [item_from_bytes(r, f"item {i}") for i, r in enumerate(example_payloads(n))]
            )
        ).batch
        reports = {name: tmp_path / f"{name}.json" for name in ("node-a", "node-b")}
        nodes = {name: start_runner(tmp_path / name, batch.id, name, pg_url, reports.get(name))
                 for name in ("node-a", "node-b", "node-c")}  # fmt: skip
        try:

            async def victim_mid_render() -> bool:
                status = await store.batches.get(batch.id)
                return status.done >= 1 and await held_by(store, batch.id, "node-c") > 0

            await wait_until(victim_mid_render, "node-c holding an item")
            nodes["node-c"].send_signal(signal.SIGKILL)
            nodes["node-c"].wait(10)
            killed_at = time.monotonic()
            finish(nodes["node-a"])
            finish(nodes["node-b"])
            assert time.monotonic() - killed_at >= LEASE_S - 0.5, (
                "the dead node's item waited for its lease"
            )
        finally:
            for proc in nodes.values():
                if proc.poll() is None:
                    proc.kill()
        await assert_exactly_once(store, batch.id, n, "node-c")
        expected = {i.index: i.document_id for i in await store.batches.items(batch.id)}
        for name, report in reports.items():
            seen = json.loads(report.read_text())["documents"]
            assert {int(k): v for k, v in seen.items()} == expected, (
                f"{name} read back every document"
            )
    for node in range(3):  # each node's own store (fresh engine) reads everything back
        async with await open_store(pg_url, tmp_path / f"reader-{node}") as reader:
            for document_id in expected.values():
                assert document_id is not None
                doc = await reader.documents.get(document_id)
                data, info = await reader.documents.read_output(doc.id, "pdf")
                assert sha256_hex(data) == info.sha256
