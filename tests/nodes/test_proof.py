"""The several-nodes proof: three ``pilu serve`` nodes (one render worker each) on a private
PostgreSQL cluster, one batch of 24 payloads plus one that kills its worker, and on the way:
``kill -9`` of a node rendering an item, ``pg_ctl restart -m fast``, and an immediate stop and
start of another node. Then the same batch on embedded SQLite, one node, killed and restarted.

Checked: every good item done exactly once (documents, versions, item keys, counters), the
poison item failed as ``worker_lost`` after three attempts, every hash matching, the archive
identical from every node, one webhook delivery, and a sync request made during the batch
answered within 1.5 s of what the render running before it still needed (one worker: it waits
for at most that render, never for the batch behind it). The timings are printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.jobs.webhook import DELIVERY_HEADER
from tests.conftest import EXAMPLES
from tests.hardening.backends import PrivatePostgres
from tests.nodes.nodes import Node, check_archive, running, sha
from tests.nodes.poison_server import POISON_ENV

pytestmark = pytest.mark.slow

SIX_YEARS = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"
NDJSON = {"Content-Type": "application/x-ndjson"}
GOOD = 24


def batch_body() -> tuple[bytes, bytes]:
    """24 good lines (the six years, four times over) and a poison line after the twelfth: the
    2023 payload with a space after its opening brace, which changes its hash, not its meaning.
    ``(body, poison)``."""
    years = SIX_YEARS.read_bytes().splitlines()
    good = [years[n % len(years)] for n in range(GOOD)]
    poison = b"{ " + years[-1][1:]
    return b"\n".join([*good[:12], poison, *good[12:]]) + b"\n", poison


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the handler's protocol
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(self.headers.get(DELIVERY_HEADER, ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[str]:
    Hooks.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def query(url: str, sql: str) -> list[Any]:
    async def fetch() -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def holder(url: str, nodes: list[Node], exclude: Node) -> tuple[Node, int] | None:
    """A node other than ``exclude`` rendering an item now, and the item's index."""
    by_pid = {node.pid: node for node in nodes}
    for row in query(url, "SELECT idx, lease_owner FROM batch_items WHERE state = 'running'"):
        owner = by_pid.get(int(row["lease_owner"].split(":")[1]))
        if owner is not None and owner is not exclude:
            return owner, int(row["idx"])
    return None


def test_three_nodes_24_payloads_a_poison_a_kill_a_database_restart_and_a_restart(
    tmp_path: Path, hooks: str
) -> None:
    body, poison = batch_body()
    timings: dict[str, float] = {}
    started = time.monotonic()
    with PrivatePostgres() as pg:
        url = pg.create_database("pilu_proof")
        env = {POISON_ENV: hashlib.sha256(poison).hexdigest(), "PILU_WEBHOOK_ALLOW_PRIVATE": "1"}
        nodes = [
            Node(f"proof-{n}", tmp_path / f"data-{n}", tmp_path, database_url=url, lease_s=3.0,
                 argv=[sys.executable, "-m", "tests.nodes.poison_server"], env=env)
            for n in (1, 2, 3)
        ]  # fmt: skip
        with running(nodes):
            timings["ready"] = time.monotonic() - started
            first, second, third = nodes
            hook_headers = {"X-Pilu-Webhook-Url": hooks,
                            "X-Pilu-Webhook-Secret": "proof-webhook-secret-0123456789"}  # fmt: skip
            response = first.request("POST", "/v1/batches", body, {**NDJSON, **hook_headers})
            assert response.status == 202, response.body
            batch_id = response.json()["id"]
            submitted = time.monotonic()

            # kill -9 of a node (not the first) while it renders an item
            deadline = time.monotonic() + 120
            while (found := holder(url, nodes, exclude=first)) is None:
                assert time.monotonic() < deadline, first.batch(batch_id)
                time.sleep(0.05)
            victim, held = found
            victim.kill()
            timings["kill_at"] = time.monotonic() - submitted

            # a sync request during the batch, to the first node (one worker, busy with items)
            sync_started = time.monotonic()
            sync = first.request("POST", "/v1/validate", SIX_YEARS.read_bytes().splitlines()[0],
                                 {"Content-Type": "application/json"})  # fmt: skip
            timings["sync"] = time.monotonic() - sync_started
            assert sync.status == 200, sync.body

            pg.restart("fast")
            timings["pg_restart_at"] = time.monotonic() - submitted

            other = third if victim is second else second
            assert other.stop() == 0, other.log()
            other.start()
            victim.start()
            other.wait_ready()
            victim.wait_ready()
            timings["restarts_at"] = time.monotonic() - submitted

            status = first.wait_finished(batch_id, timeout_s=600)
            timings["finished"] = time.monotonic() - submitted
            deadline = time.monotonic() + 60
            while first.batch(batch_id)["webhook"] != "delivered":
                assert time.monotonic() < deadline, first.batch(batch_id)
                time.sleep(0.2)

            # every good item once; the poison one worker_lost after three attempts
            assert (status["total"], status["done"], status["failed"]) == (GOOD + 1, GOOD, 1)
            items = {i["index"]: i for i in status["items"]}
            assert items[12]["state"] == "failed" and items[12]["attempts"] == 3, items[12]
            assert [e["code"] for e in items[12]["errors"]] == ["worker_lost"]
            assert items[held]["state"] == "done" or held == 12
            documents = [i["document_id"] for i in status["items"] if i["index"] != 12]
            assert len(set(documents)) == GOOD and None not in documents
            [counts] = query(
                url,
                """SELECT
                (SELECT count(*) FROM documents) AS documents,
                (SELECT count(*) FROM document_versions) AS versions,
                (SELECT count(*) FROM idempotency_keys WHERE kind = 'document') AS keys,
                (SELECT done_count FROM batches) AS done,
                (SELECT failed_count FROM batches) AS failed""",
            )
            assert dict(counts) == {
                "documents": GOOD, "versions": GOOD, "keys": GOOD, "done": GOOD, "failed": 1,
            }  # fmt: skip
            assert Hooks.received == [batch_id], Hooks.received  # one delivery

            # the archive, byte for byte the same from every node, every hash matching
            archives = [n.request("GET", f"/v1/batches/{batch_id}/archive").body for n in nodes]
            assert archives[0] == archives[1] == archives[2]
            _, manifest = check_archive(archives[0])
            for item in manifest["items"]:
                for fmt, file in item.get("files", {}).items():
                    download = third.request("GET", f"/v1/documents/{item['document_id']}/{fmt}")
                    assert sha(download.body) == file["sha256"]
            longest = max(
                _seconds(i["finished_at"]) - _seconds(i["started_at"])
                for i in status["items"]
                if i["state"] == "done" and i["attempts"] == 1
            )
            timings["longest_item"] = longest
            assert timings["sync"] < 1.5 + longest, timings
        assert [n.proc.returncode for n in nodes if n.proc] == [0, 0, 0]
    timings["total"] = time.monotonic() - started
    print(
        "\nproof (PostgreSQL, 3 nodes): " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    )


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_one_sqlite_node_24_payloads_a_poison_a_kill_and_a_restart(
    tmp_path: Path, hooks: str
) -> None:
    """The same batch on embedded SQLite, one node owning its data folder: ``kill -9`` while it
    renders, then a start on the same folder, which takes the interrupted item up at once."""
    body, poison = batch_body()
    timings: dict[str, float] = {}
    started = time.monotonic()
    env = {POISON_ENV: hashlib.sha256(poison).hexdigest(), "PILU_WEBHOOK_ALLOW_PRIVATE": "1"}
    node = Node("proof-sqlite", tmp_path / "data", tmp_path, lease_s=30.0,
                argv=[sys.executable, "-m", "tests.nodes.poison_server"], env=env)  # fmt: skip
    with running([node]):
        timings["ready"] = time.monotonic() - started
        hook_headers = {"X-Pilu-Webhook-Url": hooks,
                        "X-Pilu-Webhook-Secret": "proof-webhook-secret-0123456789"}  # fmt: skip
        response = node.request("POST", "/v1/batches", body, {**NDJSON, **hook_headers})
        assert response.status == 202, response.body
        batch_id = response.json()["id"]
        submitted = time.monotonic()
        deadline = time.monotonic() + 120
        while True:
            status = node.batch(batch_id)
            if status["done"] >= 2 and status["running"] >= 1:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        sync_started = time.monotonic()
        sync = node.request("POST", "/v1/validate", SIX_YEARS.read_bytes().splitlines()[0],
                            {"Content-Type": "application/json"})  # fmt: skip
        timings["sync"] = time.monotonic() - sync_started
        assert sync.status == 200, sync.body
        node.kill()
        timings["kill_at"] = time.monotonic() - submitted
        # What the killed node was rendering, as its store says (an item reported running
        # just before the kill may have finished in between).
        with sqlite3.connect(tmp_path / "data" / "pilu.sqlite3") as db:
            held = [
                idx
                for (idx,) in db.execute(
                    "SELECT idx FROM batch_items WHERE batch_id = ? AND state = 'running'",
                    (batch_id,),
                )
            ]
        node.start()
        node.wait_ready()
        status = node.wait_finished(batch_id, timeout_s=600)  # lease 30 s: no waiting for it
        timings["finished"] = time.monotonic() - submitted
        deadline = time.monotonic() + 60
        while node.batch(batch_id)["webhook"] != "delivered":
            assert time.monotonic() < deadline, node.batch(batch_id)
            time.sleep(0.2)
        assert (status["total"], status["done"], status["failed"]) == (GOOD + 1, GOOD, 1)
        items = {i["index"]: i for i in status["items"]}
        assert items[12]["attempts"] == 3 and items[12]["errors"][0]["code"] == "worker_lost"
        assert all(items[i]["attempts"] == 2 for i in held if i != 12), (held, items)
        documents = {i["document_id"] for i in status["items"] if i["index"] != 12}
        assert len(documents) == GOOD and None not in documents
        assert Hooks.received == [batch_id], Hooks.received
        _, manifest = check_archive(node.request("GET", f"/v1/batches/{batch_id}/archive").body)
        for item in manifest["items"]:
            for fmt, file in item.get("files", {}).items():
                download = node.request("GET", f"/v1/documents/{item['document_id']}/{fmt}")
                assert sha(download.body) == file["sha256"]
        longest = max(
            _seconds(i["finished_at"]) - _seconds(i["started_at"])
            for i in status["items"]
            if i["state"] == "done" and i["attempts"] == 1
        )
        timings["longest_item"] = longest
        assert timings["sync"] < 1.5 + longest, timings
    assert node.proc is not None and node.proc.returncode == 0
    with sqlite3.connect(tmp_path / "data" / "pilu.sqlite3") as db:
        row = db.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM document_versions),"
            " (SELECT count(*) FROM idempotency_keys WHERE kind = 'document'),"
            " (SELECT done_count FROM batches), (SELECT failed_count FROM batches)"
        ).fetchone()
    assert row == (GOOD, GOOD, GOOD, GOOD, 1)
    timings["total"] = time.monotonic() - started
    print("\nproof (SQLite, 1 node): " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
