"""Three ``pilu serve`` nodes sharing one PostgreSQL database (a throwaway ``pilu_nodes_<hex>``).

A batch is posted to node 1; every node renders its items. The node holding an item is killed
with SIGKILL mid-render; after its lease (3 s here) the others take the item over and finish the
batch, each item exactly once. The killed node is started again, and every document and the
archive are downloaded from every node: the same bytes everywhere, matching the manifests.

PostgreSQL must run at 127.0.0.1:5432 (trust, user ``postgres``); it is started with
``pg_ctlcluster`` if it is down, and the test fails rather than skips when it cannot be.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import EXAMPLES
from tests.nodes.nodes import Node, check_archive, running, sha
from tests.store.backends import PG_ADMIN_URL, PG_HOST, PG_PORT, PG_USER, ensure_postgres

pytestmark = pytest.mark.slow

SIX_YEARS = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"
NDJSON = {"Content-Type": "application/x-ndjson"}
LEASE_S = 3.0


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def query(url: str, sql: str) -> list[Any]:
    return asyncio.run(_fetch(url, sql))


@pytest.fixture
def database() -> Iterator[str]:
    ensure_postgres()
    name = f"pilu_nodes_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_three_nodes_share_a_batch_and_survive_one_being_killed(
    database: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    nodes = [
        Node(
            f"pg-node-{n}", tmp_path / f"data-{n}", tmp_path, database_url=database, lease_s=LEASE_S
        )
        for n in (1, 2, 3)
    ]
    with running(nodes):
        ready_s = time.monotonic() - started
        first = nodes[0]
        response = first.request("POST", "/v1/batches", SIX_YEARS.read_bytes(), NDJSON)
        assert response.status == 202, response.body
        batch_id = response.json()["id"]

        # wait until another node than the one posted to holds an item, and kill it mid-render
        by_pid = {node.pid: node for node in nodes}
        deadline = time.monotonic() + 90
        victim: Node | None = None
        while victim is None:
            assert time.monotonic() < deadline, first.batch(batch_id)
            leases = query(
                database, "SELECT idx, lease_owner FROM batch_items WHERE state = 'running'"
            )
            for row in leases:
                owner = by_pid.get(int(row["lease_owner"].split(":")[1]))
                if owner is not None and owner is not first:
                    victim, held = owner, row["idx"]
                    break
            else:
                time.sleep(0.05)
        assert victim is not None
        victim.kill()
        killed_at = time.monotonic()

        status = first.wait_finished(batch_id, timeout_s=90)
        finished_s = time.monotonic() - killed_at
        assert (status["total"], status["done"], status["failed"]) == (6, 6, 0), status
        attempts = {i["index"]: i["attempts"] for i in status["items"]}
        assert attempts[held] == 2, attempts  # leased again after the dead node's lease expired
        documents = {i["index"]: i["document_id"] for i in status["items"]}
        assert len(set(documents.values())) == 6

        counts = query(
            database,
            """SELECT
            (SELECT count(*) FROM documents) AS documents,
            (SELECT count(*) FROM document_versions) AS versions,
            (SELECT count(*) FROM idempotency_keys WHERE scope = 'jobs') AS keys,
            (SELECT done_count FROM batches) AS done""",
        )[0]
        assert dict(counts) == {"documents": 6, "versions": 6, "keys": 6, "done": 6}

        # the killed node comes back; every node serves every document, byte for byte
        victim.start()
        victim.wait_ready()
        archives = [node.request("GET", f"/v1/batches/{batch_id}/archive").body for node in nodes]
        assert archives[0] == archives[1] == archives[2]
        _, manifest = check_archive(archives[0])
        for item in manifest["items"]:
            for fmt, file in item["files"].items():
                bodies = {
                    node.name: node.request(
                        "GET", f"/v1/documents/{item['document_id']}/{fmt}"
                    ).body
                    for node in nodes
                }
                assert {sha(b) for b in bodies.values()} == {file["sha256"]}, (item["index"], fmt)
    assert [node.proc.returncode for node in nodes if node.proc] == [0, 0, 0]  # graceful stops
    print(
        f"\ncluster: ready {ready_s:.1f} s; killed {victim.name} holding item {held}; "
        f"finished {finished_s:.1f} s after the kill; attempts {attempts}; "
        f"total {time.monotonic() - started:.1f} s"
    )
