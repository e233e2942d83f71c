"""One ``pilu serve`` on embedded SQLite, killed with SIGKILL in the middle of a batch and started
again on the same data dir: every item completes exactly once and every output is intact.

Exactly once, as evidence: the batch counts 6 done (its counter moves once per completion), the
store holds 6 documents with one version each under 6 distinct item keys, the item that was
being rendered when the server died was leased twice (attempts 2) and still has one document,
and every file of the archive and every download matches its manifest hash.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.nodes.nodes import Node, check_archive, running, sha
from tests.render.pdf_reading import text

pytestmark = pytest.mark.slow

SIX_YEARS = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"
NDJSON = {"Content-Type": "application/x-ndjson"}


def test_sigkill_mid_batch_then_restart_completes_every_item_once(tmp_path: Path) -> None:
    started = time.monotonic()
    node = Node("sqlite-node", tmp_path / "data", tmp_path, lease_s=3.0)
    with running([node]):
        response = node.request("POST", "/v1/batches", SIX_YEARS.read_bytes(), NDJSON)
        assert response.status == 202, response.body
        batch_id = response.json()["id"]

        # mid-batch: some items done, one being rendered
        deadline = time.monotonic() + 90
        while True:
            status = node.batch(batch_id)
            if status["done"] >= 2 and status["running"] >= 1:
                break
            assert status["state"] != "finished" and time.monotonic() < deadline, status
            time.sleep(0.05)
        node.kill()
        in_flight = {i["index"] for i in status["items"] if i["state"] == "running"}
        done_before = status["done"]
        assert 0 < done_before < 6 and in_flight

        node.start()
        node.wait_ready()
        status = node.wait_finished(batch_id, timeout_s=90)

        # every item once, the interrupted one leased twice
        assert (status["total"], status["done"], status["failed"]) == (6, 6, 0)
        attempts = {i["index"]: i["attempts"] for i in status["items"]}
        assert all(attempts[i] == 2 for i in in_flight), attempts
        assert all(attempts[i] == 1 for i in attempts if i not in in_flight), attempts
        item_documents = [i["document_id"] for i in status["items"]]
        assert len(set(item_documents)) == 6 and None not in item_documents
        listing = node.get_json("/v1/documents?company=xiaokang-life&limit=200")
        assert sorted(d["id"] for d in listing["items"]) == sorted(item_documents)
        assert {d["latest_version"] for d in listing["items"]} == {1}

        # outputs intact: archive and downloads match the manifests
        archive_bytes = node.request("GET", f"/v1/batches/{batch_id}/archive").body
        archive, manifest = check_archive(archive_bytes)
        for year, item in zip(range(2019, 2025), manifest["items"], strict=True):
            pdf_name = f"小康人寿-{year}-消费者权益保护工作重大信息披露.pdf"
            assert item["files"]["pdf"]["name"] == pdf_name
            words = text(archive.read(pdf_name))
            regulator = "中国银保监会" if year <= 2022 else "国家金融监督管理总局"
            assert regulator in words, year
            for fmt in ("pdf", "docx"):
                download = node.request("GET", f"/v1/documents/{item['document_id']}/{fmt}")
                assert sha(download.body) == item["files"][fmt]["sha256"]
                assert download.headers["ETag"] == f'"{item["files"][fmt]["sha256"]}"'
    assert node.proc is not None and node.proc.returncode == 0, node.log()

    # the store itself, read after the server stopped
    with sqlite3.connect(tmp_path / "data" / "pilu.sqlite3") as db:

        def count(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        assert count("SELECT count(*) FROM documents") == 6
        assert count("SELECT count(*) FROM document_versions") == 6
        assert count("SELECT count(*) FROM idempotency_keys WHERE scope = 'jobs'") == 6
        assert count("SELECT count(DISTINCT idempotency_key) FROM batch_items") == 6
        assert count("SELECT done_count FROM batches") == 6
    print(
        f"\nsingle node: done before kill {done_before}, in flight {sorted(in_flight)}, "
        f"attempts {attempts}, {time.monotonic() - started:.1f} s"
    )
