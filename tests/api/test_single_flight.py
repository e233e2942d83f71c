"""One render per retried request (a new document or a new version), and one document per report.

Ten concurrent ``POST /v1/documents`` carrying one ``Idempotency-Key`` render once and all
answer the same document, on one node (SQLite) and spread over two nodes sharing PostgreSQL.
POSTs of one report (company, kind, year, period) without a key add versions to one document.
The renders sleep 0.5 s in real worker processes, so the requests overlap for certain.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api import fakes
from tests.api.conftest import AUTH, ClientFactory
from tests.api.test_documents import create, renders_counted

SLOW = fakes.payload_bytes(sleep_s=0.5)


async def ten_at_once(clients: list[TestClient[Any, Any]], key: str | None) -> list[Any]:
    responses = await asyncio.gather(
        *(create(clients[i % len(clients)], SLOW, key=key) for i in range(10))
    )
    return [(r.status, r.headers.get("Idempotent-Replayed"), await r.json()) for r in responses]


async def test_ten_requests_with_one_key_render_once_on_one_node(
    make_client: ClientFactory,
) -> None:
    client = await make_client(workers=2)
    answers = await ten_at_once([client], key="retry-me-1")
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * 9 + [201], answers
    assert {body["id"] for _, _, body in answers} == {answers[0][2]["id"]}
    assert sum(replayed == "true" for _, replayed, _ in answers) == 9
    assert await renders_counted(client) == 1


async def test_ten_requests_with_one_key_render_once_across_two_nodes(
    make_client: ClientFactory, pg_url: str
) -> None:
    nodes = [await make_client(workers=2, database_url=pg_url) for _ in range(2)]
    answers = await ten_at_once(nodes, key="retry-me-2")
    assert sorted(status for status, _, _ in answers) == [200] * 9 + [201], answers
    assert len({body["id"] for _, _, body in answers}) == 1
    assert sum([await renders_counted(node) for node in nodes]) == 1


async def test_a_key_in_flight_for_another_payload_is_a_conflict(
    make_client: ClientFactory,
) -> None:
    client = await make_client(workers=2)
    first = asyncio.ensure_future(create(client, SLOW, key="busy-key"))
    await asyncio.sleep(0.2)
    other = await create(client, fakes.payload_bytes(title="另一份"), key="busy-key")
    assert other.status == 409
    error = (await other.json())["error"]
    assert error["code"] == "idempotency_conflict" and error["details"]["in_progress"] is True
    assert (await first).status == 201


async def test_posts_of_one_report_without_a_key_add_versions_to_one_document(
    make_client: ClientFactory, pg_url: str
) -> None:
    nodes = [await make_client(workers=2, database_url=pg_url) for _ in range(2)]
    answers = await ten_at_once(nodes, key=None)
    assert {status for status, _, _ in answers} == {201}
    assert len({body["id"] for _, _, body in answers}) == 1, "no twin"
    assert sorted(body["version"] for _, _, body in answers) == list(range(1, 11))
    listed = await (await nodes[0].get("/v1/documents", headers=AUTH)).json()
    assert len(listed["items"]) == 1 and listed["items"][0]["latest_version"] == 10
    # another year is another report
    other_year = await create(nodes[1], fakes.payload_bytes(report_year=2022))
    assert (await other_year.json())["id"] != answers[0][2]["id"]


async def test_ten_new_versions_with_one_key_render_once(make_client: ClientFactory) -> None:
    client = await make_client(workers=2)
    doc = await (await create(client, fakes.payload_bytes())).json()
    url, headers = f"/v1/documents/{doc['id']}/versions", {**AUTH, "Idempotency-Key": "v2-once"}
    responses = await asyncio.gather(
        *(client.post(url, data=SLOW, headers=headers) for _ in range(10))
    )
    bodies = [await r.json() for r in responses]
    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    assert {b["version"] for b in bodies} == {2}
    assert await renders_counted(client) == 2  # the create, then one new version
