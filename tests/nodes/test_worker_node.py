"""``pilu worker``: a node with the worker pool, the store and the batch runner, and no HTTP. It
renders a batch recorded by another process and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from service.jobs.parse import item_from_bytes
from service.store import BatchStatus, open_store
from tests.conftest import EXAMPLES
from tests.nodes.nodes import Node, sha
from tests.nodes.test_cluster import database  # noqa: F401  (the PostgreSQL fixture)

pytestmark = pytest.mark.slow

SIX_YEARS = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"


async def submit(url: str, data_dir: Path, lines: list[bytes]) -> str:
    async with await open_store(url or None, data_dir) as store:
        items = [item_from_bytes(line, f"line {n + 1}") for n, line in enumerate(lines)]
        return (await store.batches.create(items)).batch.id


async def status(url: str, data_dir: Path, batch_id: str) -> BatchStatus:
    async with await open_store(url or None, data_dir) as store:
        return await store.batches.get(batch_id)


async def check_documents(url: str, data_dir: Path, batch_id: str) -> int:
    """Every item done with a document whose outputs read back as hashed; how many."""
    async with await open_store(url or None, data_dir) as store:
        items = await store.batches.items(batch_id)
        for item in items:
            assert item.state == "done" and item.document_id is not None, item
            doc = await store.documents.get(item.document_id)
            for fmt, info in doc.version.manifest.outputs.items():
                data, _ = await store.documents.read_output(doc.id, fmt)
                assert sha(data) == info.sha256
        return len(items)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pilu_worker_renders_a_batch_without_http_and_stops_on_sigterm(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("database")) if backend == "postgresql" else ""
    data_dir = tmp_path / "data"
    batch_id = asyncio.run(submit(url, data_dir, SIX_YEARS.read_bytes().splitlines()[:2]))
    started = time.monotonic()
    node = Node(f"worker-{backend}", data_dir, tmp_path, database_url=url, command="worker")
    node.start()
    try:
        deadline = time.monotonic() + 180
        while (current := asyncio.run(status(url, data_dir, batch_id))).state != "finished":
            assert node.proc is not None and node.proc.poll() is None, node.log()
            assert time.monotonic() < deadline, (current, node.log())
            time.sleep(0.3)
        finished_s = time.monotonic() - started
    finally:
        code = node.stop()
    assert code == 0, node.log()
    assert (current.done, current.failed) == (2, 0)
    assert asyncio.run(check_documents(url, data_dir, batch_id)) == 2
    assert "batch worker running (no HTTP" in node.log()
    assert "listening" not in node.log()
    print(f"\npilu worker ({backend}): 2 items from start to finished in {finished_s:.1f} s")
