"""Batches over HTTP: submit (JSON array, NDJSON), durability before 202, status and items,
the streamed archive, webhooks with their HMAC signature, idempotency, access, graceful stop.

Most tests use the fake pipeline in process (the background runner renders on the same pool);
the six-year example batch runs through the real pipeline in a real worker process.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.jobs.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from service.store import open_store
from tests.api import fakes
from tests.api.conftest import AUTH, KEY_ALL, KEY_OTHER, ClientFactory
from tests.conftest import EXAMPLES

ALL = {"Authorization": f"Bearer {KEY_ALL}"}
OTHER = {"Authorization": f"Bearer {KEY_OTHER}"}
NDJSON = {"Content-Type": "application/x-ndjson"}
JSON = {"Content-Type": "application/json"}
SIX_YEARS = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"
SECRET = "webhook-secret-0123456789abcdef"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ndjson(*payloads: bytes) -> bytes:
    return b"\n".join(payloads) + b"\n"


def year_payload(year: int, company: str = "xiaokang-life", **extra: Any) -> bytes:
    body = fakes.payload(company, **extra)
    body["report_year"] = year
    return json.dumps(body, ensure_ascii=False).encode()


async def submit(
    client: TestClient[Any, Any],
    body: bytes,
    headers: dict[str, str] = AUTH,
    media: dict[str, str] = NDJSON,
    extra: dict[str, str] | None = None,
) -> Any:
    """POST ``body`` to ``/v1/batches`` with ``headers``, ``media`` and the ``extra`` headers."""
    return await client.post(
        "/v1/batches", data=body, headers={**headers, **media, **(extra or {})}
    )


async def wait_finished(
    client: TestClient[Any, Any],
    batch_id: str,
    headers: dict[str, str] = AUTH,
    timeout_s: float = 30,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status = await (await client.get(f"/v1/batches/{batch_id}", headers=headers)).json()
        if status["state"] == "finished" or time.monotonic() > deadline:
            assert status["state"] == "finished", status
            finished: dict[str, Any] = status
            return finished
        await asyncio.sleep(0.1)


async def wait_running(client: TestClient[Any, Any], batch_id: str, timeout_s: float = 20) -> None:
    """Until an item of the batch is being rendered."""
    deadline = time.monotonic() + timeout_s
    while (await (await client.get(f"/v1/batches/{batch_id}", headers=AUTH)).json())[
        "running"
    ] == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def archive_of(
    client: TestClient[Any, Any], batch_id: str, headers: dict[str, str] = AUTH
) -> zipfile.ZipFile:
    response = await client.get(f"/v1/batches/{batch_id}/archive", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "application/zip"
    assert (
        "filename*=UTF-8''%E6%89%B9%E9%87%8F%E6%8A%AB%E9%9C%B2-"
        in response.headers["Content-Disposition"]
    )
    return zipfile.ZipFile(io.BytesIO(await response.read()))


def check_manifests(archive: zipfile.ZipFile) -> dict[str, Any]:
    """Every file the manifests name is in the ZIP with the SHA-256 they give; both agree."""
    manifest = json.loads(archive.read("manifest.json"))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert len(rows) == len(manifest["items"])
    for row, item in zip(rows, manifest["items"], strict=True):
        assert int(row["index"]) == item["index"] and row["state"] == item["state"]
        for fmt, file in item["files"].items():
            assert sha(archive.read(file["name"])) == file["sha256"] == row[f"{fmt}_sha256"]
            assert row[f"{fmt}_file"] == file["name"]
    checked: dict[str, Any] = manifest
    return checked


# --- submit, progress, archive ----------------------------------------------------------------


async def test_ndjson_batch_is_recorded_rendered_and_archived(client: TestClient[Any, Any]) -> None:
    body = ndjson(*(year_payload(y) for y in (2021, 2022, 2023)))
    response = await submit(client, body)
    assert response.status == 202, await response.text()
    batch = await response.json()
    assert batch["id"].startswith("bat_") and batch["total"] == 3
    assert batch["links"] == {
        "self": f"/v1/batches/{batch['id']}",
        "archive": f"/v1/batches/{batch['id']}/archive",
    }
    assert response.headers["Location"] == batch["links"]["self"]

    status = await wait_finished(client, batch["id"])
    assert (status["done"], status["failed"], status["progress"]) == (3, 0, 1.0)
    assert [i["source"] for i in status["items"]] == ["line 1", "line 2", "line 3"]
    for item in status["items"]:
        assert item["state"] == "done" and item["attempts"] == 1
        pdf = await client.get(item["links"]["pdf"], headers=AUTH)
        assert pdf.status == 200

    head = await client.head(f"/v1/batches/{batch['id']}/archive", headers=AUTH)
    assert head.status == 200 and head.headers["X-Pilu-Batch-State"] == "finished"
    archive = await archive_of(client, batch["id"])
    names = archive.namelist()
    assert names[-2:] == ["manifest.csv", "manifest.json"]
    assert names[:2] == [
        "小康人寿-2021-消费者权益保护工作重大信息披露.pdf",
        "小康人寿-2021-消费者权益保护工作重大信息披露.docx",
    ]
    manifest = check_manifests(archive)
    assert manifest["batch"]["id"] == batch["id"] and manifest["batch"]["done"] == 3
    # the batch's documents are stored documents like any other
    listing = await (await client.get("/v1/documents?year=2022", headers=AUTH)).json()
    assert [d["id"] for d in listing["items"]] == [status["items"][1]["document_id"]]


async def test_json_array_batch_and_repeated_names(client: TestClient[Any, Any]) -> None:
    body = (
        b"["
        + b",\n".join(
            [year_payload(2023), year_payload(2023, title="消费者权益保护工作重大信息披露")]
        )
        + b"]"
    )
    batch = await (await submit(client, body, media=JSON)).json()
    status = await wait_finished(client, batch["id"])
    assert [i["source"] for i in status["items"]] == ["[0]", "[1]"]
    archive = await archive_of(client, batch["id"])
    assert archive.namelist()[:4] == [
        "小康人寿-2023-消费者权益保护工作重大信息披露.pdf",
        "小康人寿-2023-消费者权益保护工作重大信息披露.docx",
        "小康人寿-2023-消费者权益保护工作重大信息披露-2.pdf",
        "小康人寿-2023-消费者权益保护工作重大信息披露-2.docx",
    ]
    check_manifests(archive)


async def test_an_invalid_item_fails_alone(client: TestClient[Any, Any]) -> None:
    bad = json.dumps({"company": {"id": "xiaokang-life", "short_name": "小康"}}).encode()
    batch = await (await submit(client, ndjson(year_payload(2023), bad))).json()
    status = await wait_finished(client, batch["id"])
    assert (status["done"], status["failed"]) == (1, 1)
    failed = await (
        await client.get(f"/v1/batches/{batch['id']}?state=failed", headers=AUTH)
    ).json()
    [item] = failed["items"]
    assert item["index"] == 1 and item["document_id"] is None
    assert {e["path"] for e in item["errors"]} >= {"$.report_year", "$.title"}
    manifest = check_manifests(await archive_of(client, batch["id"]))
    assert manifest["items"][1]["state"] == "failed" and manifest["items"][1]["errors"]


async def test_items_are_paged(client: TestClient[Any, Any]) -> None:
    batch = await (await submit(client, ndjson(*(year_payload(2015 + i) for i in range(5))))).json()
    await wait_finished(client, batch["id"])
    seen, url = [], f"/v1/batches/{batch['id']}?limit=2"
    while url:
        page = await (await client.get(url, headers=AUTH)).json()
        assert len(page["items"]) <= 2 and page["total"] == 5
        seen += [i["index"] for i in page["items"]]
        url = page["links"]["next"]
    assert seen == [0, 1, 2, 3, 4]
    for query in ("limit=0", "offset=-1", "state=lost"):
        response = await client.get(f"/v1/batches/{batch['id']}?{query}", headers=AUTH)
        assert response.status == 400, query


async def test_batches_are_listed_newest_first(client: TestClient[Any, Any]) -> None:
    first = await (await submit(client, ndjson(year_payload(2022)))).json()
    second = await (await submit(client, ndjson(year_payload(2023)))).json()
    page = await (await client.get("/v1/batches?limit=1", headers=AUTH)).json()
    assert [b["id"] for b in page["items"]] == [second["id"]]
    rest = await (await client.get(page["links"]["next"], headers=AUTH)).json()
    assert [b["id"] for b in rest["items"]] == [first["id"]] and rest["next_cursor"] is None


# --- what is refused at submit ----------------------------------------------------------------


async def test_a_bad_line_refuses_the_whole_batch_with_every_problem(
    client: TestClient[Any, Any],
) -> None:
    body = ndjson(year_payload(2023), b'{"company": ', b"[1]", b'{"title": "x"}')
    response = await submit(client, body)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "batch_invalid"
    assert [(d["index"], d["line"]) for d in error["details"]] == [(1, 2), (2, 3), (3, 4)]
    listing = await (await client.get("/v1/batches", headers=AUTH)).json()
    assert listing["items"] == []


@pytest.mark.parametrize(
    ("body", "media", "status", "code"),
    [
        (b"", NDJSON, 422, "batch_invalid"),
        (b"[]", JSON, 422, "batch_invalid"),
        (b'{"company": {"id": "xiaokang-life"}}', JSON, 422, "batch_invalid"),
        (b'[{"company": {"id": "xiaokang-life"}}]', NDJSON, 422, "batch_invalid"),
        (b"[1", JSON, 422, "batch_invalid"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{}", {}, 415, "unsupported_media_type"),
    ],
)
async def test_unusable_batches_are_refused(
    client: TestClient[Any, Any], body: bytes, media: dict[str, str], status: int, code: str
) -> None:
    response = await submit(client, body, media=media)
    assert response.status == status, await response.text()
    assert (await response.json())["error"]["code"] == code


async def test_a_company_the_key_may_not_use_refuses_the_whole_batch(
    client: TestClient[Any, Any],
) -> None:
    body = ndjson(
        year_payload(2023), year_payload(2023, "other-co"), year_payload(2022, "third-co")
    )
    response = await submit(client, body)
    assert response.status == 403
    error = (await response.json())["error"]
    assert error["code"] == "forbidden"
    assert error["details"]["companies"] == ["other-co", "third-co"]
    assert (await (await client.get("/v1/batches", headers=ALL)).json())["items"] == []


async def test_a_batch_priority_is_named_or_refused(client: TestClient[Any, Any]) -> None:
    body = ndjson(year_payload(2021))
    for query in ("?priority=urgent", "?priority=regeneration&priority=interactive"):
        response = await client.post(f"/v1/batches{query}", data=body, headers={**AUTH, **NDJSON})
        assert response.status == 400, await response.text()
        error = (await response.json())["error"]
        assert error["code"] == "invalid_parameter"
        assert error["details"]["parameter"] == "priority" and "priority" in error["message"]
    response = await client.post(
        "/v1/batches?priority=regeneration", data=body, headers={**AUTH, **NDJSON}
    )
    assert response.status == 202, await response.text()
    status = await wait_finished(client, (await response.json())["id"])
    assert status["done"] == 1


async def test_size_limits(make_client: ClientFactory) -> None:
    client = await make_client(max_batch_bytes=2000, max_body_bytes=300)
    big = ndjson(*(year_payload(2023) for _ in range(30)))
    response = await submit(client, big)
    assert response.status == 413
    one_too_big = ndjson(year_payload(2023), year_payload(2023, title="很长" * 200))
    response = await submit(client, one_too_big)
    assert response.status == 422
    details = (await response.json())["error"]["details"]
    assert details[0]["index"] == 1 and details[0]["errors"][0]["code"] == "payload_too_large"


# --- idempotency and access -------------------------------------------------------------------


async def test_idempotency_key_on_batches(client: TestClient[Any, Any]) -> None:
    body = ndjson(year_payload(2022), year_payload(2023))
    first = await submit(client, body, extra={"Idempotency-Key": "nightly-2024-05-01"})
    again = await submit(client, body, extra={"Idempotency-Key": "nightly-2024-05-01"})
    assert (first.status, again.status) == (202, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await first.json())["id"] == (await again.json())["id"]
    other = await submit(
        client, ndjson(year_payload(2021)), extra={"Idempotency-Key": "nightly-2024-05-01"}
    )
    assert other.status == 409
    assert (await other.json())["error"]["code"] == "idempotency_conflict"
    listing = await (await client.get("/v1/batches", headers=AUTH)).json()
    assert len(listing["items"]) == 1


async def test_another_company_cannot_see_status_items_or_archive(
    client: TestClient[Any, Any],
) -> None:
    batch = await (await submit(client, ndjson(year_payload(2023)))).json()
    status = await wait_finished(client, batch["id"])
    for path in (f"/v1/batches/{batch['id']}", f"/v1/batches/{batch['id']}/archive"):
        response = await client.get(path, headers=OTHER)
        assert response.status == 404, path
        assert response.headers["Content-Type"].startswith("application/json")
    assert (await (await client.get("/v1/batches", headers=OTHER)).json())["items"] == []
    document = status["items"][0]["links"]["pdf"]
    assert (await client.get(document, headers=OTHER)).status == 404
    assert (await client.get(f"/v1/batches/{batch['id']}/archive", headers=ALL)).status == 200
    assert (await client.get("/v1/batches/bat_00000000/archive", headers=ALL)).status == 404


async def test_a_mixed_batch_is_hidden_from_a_key_of_one_of_its_companies(
    client: TestClient[Any, Any],
) -> None:
    body = ndjson(year_payload(2023), year_payload(2023, "other-co"))
    batch = await (await submit(client, body, headers=ALL)).json()
    status = await wait_finished(client, batch["id"], headers=ALL)
    assert (await client.get(f"/v1/batches/{batch['id']}", headers=AUTH)).status == 404
    assert (await client.get(f"/v1/batches/{batch['id']}/archive", headers=OTHER)).status == 404
    # each company still reaches its own document of that batch
    own = status["items"][0]["links"]["pdf"]
    assert (await client.get(own, headers=AUTH)).status == 200
    assert (await client.get(own, headers=OTHER)).status == 404


# --- the archive cut short --------------------------------------------------------------------


async def test_a_corrupt_stored_file_cuts_the_archive_instead_of_completing_it(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(data_dir=tmp_path)
    batch = await (await submit(client, ndjson(year_payload(2022), year_payload(2023)))).json()
    status = await wait_finished(client, batch["id"])
    doc = await (await client.get(status["items"][1]["links"]["self"], headers=AUTH)).json()
    digest = doc["manifest"]["outputs"]["docx"]["sha256"]
    [stored] = [p for p in (tmp_path / "artifacts").rglob(f"{digest}*") if p.is_file()]
    stored.chmod(0o644)
    stored.write_bytes(b"not what was stored")
    response = await client.get(f"/v1/batches/{batch['id']}/archive", headers=AUTH)
    assert response.status == 200  # the stream had started with the first item's files
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()


# --- webhooks ---------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[TestServer, list[tuple[dict[str, str], bytes]]]]:
    """An HTTP server on 127.0.0.1 that records every POST to /hook."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, received
    await server.close()


async def test_webhook_is_signed_and_received(
    make_client: ClientFactory, receiver: tuple[TestServer, list[tuple[dict[str, str], bytes]]]
) -> None:
    server, received = receiver
    client = await make_client(webhook_allow_private=True)
    url = str(server.make_url("/hook"))
    response = await submit(
        client,
        ndjson(year_payload(2022), year_payload(2023)),
        extra={"X-Pilu-Webhook-Url": url, "X-Pilu-Webhook-Secret": SECRET},
    )
    assert response.status == 202, await response.text()
    batch = await response.json()
    assert batch["webhook"] == "waiting"
    deadline = time.monotonic() + 20
    while not received and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    [(headers, body)] = received
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(
        "another-secret-0123456789", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
    )
    assert headers[DELIVERY_HEADER] == batch["id"]
    event = json.loads(body)
    assert event["event"] == "batch.finished"
    assert (event["batch"]["id"], event["batch"]["done"], event["batch"]["state"]) == (
        batch["id"],
        2,
        "finished",
    )
    while (await wait_finished(client, batch["id"]))["webhook"] != "delivered":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("headers", "allow_private"),
    [
        ({"X-Pilu-Webhook-Url": "http://127.0.0.1:9/hook", "X-Pilu-Webhook-Secret": SECRET}, False),
        ({"X-Pilu-Webhook-Url": "http://localhost/hook", "X-Pilu-Webhook-Secret": SECRET}, False),
        ({"X-Pilu-Webhook-Url": "http://10.1.2.3/hook", "X-Pilu-Webhook-Secret": SECRET}, False),
        ({"X-Pilu-Webhook-Url": "http://[::1]/hook", "X-Pilu-Webhook-Secret": SECRET}, False),
        ({"X-Pilu-Webhook-Url": "ftp://example.com/x", "X-Pilu-Webhook-Secret": SECRET}, True),
        ({"X-Pilu-Webhook-Url": "http://u:p@127.0.0.1/x", "X-Pilu-Webhook-Secret": SECRET}, True),
        ({"X-Pilu-Webhook-Url": "/relative", "X-Pilu-Webhook-Secret": SECRET}, True),
        ({"X-Pilu-Webhook-Url": "http://127.0.0.1/hook"}, True),
        ({"X-Pilu-Webhook-Url": "http://127.0.0.1/hook", "X-Pilu-Webhook-Secret": "short"}, True),
        ({"X-Pilu-Webhook-Secret": SECRET}, True),
    ],
)
async def test_unusable_webhooks_are_refused(
    make_client: ClientFactory, headers: dict[str, str], allow_private: bool
) -> None:
    client = await make_client(webhook_allow_private=allow_private)
    response = await submit(client, ndjson(year_payload(2023)), extra=headers)
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "webhook_invalid"
    assert (await (await client.get("/v1/batches", headers=AUTH)).json())["items"] == []


# --- graceful stop with a real worker process -------------------------------------------------


@pytest.mark.slow
async def test_stop_lets_renders_in_flight_finish_and_the_next_start_resumes(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(data_dir=tmp_path, workers=1, batch_lease_s=30, shutdown_grace_s=20)
    body = ndjson(year_payload(2022, sleep_s=1.0), year_payload(2023, sleep_s=1.0))
    batch = await (await submit(client, body)).json()
    await wait_running(client, batch["id"])
    await client.close()  # graceful: the runner stops claiming, the render in flight finishes

    async with await open_store(None, tmp_path) as store:  # as the stopped node left it
        left = await store.batches.get(batch["id"])
    assert left.running == 0  # nothing left leased: no lease to wait for
    assert left.done == 1 and left.pending == 1
    client = await make_client(data_dir=tmp_path, workers=0)
    status = await wait_finished(client, batch["id"], timeout_s=10)
    assert [(i["state"], i["attempts"]) for i in status["items"]] == [("done", 1), ("done", 1)]


@pytest.mark.slow
async def test_stop_past_the_grace_gives_leases_back(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(data_dir=tmp_path, workers=1, batch_lease_s=30, shutdown_grace_s=0.3)
    batch = await (await submit(client, ndjson(year_payload(2023, sleep_s=5.0)))).json()
    await wait_running(client, batch["id"])
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < 4  # did not wait for the 5 s render

    async with await open_store(None, tmp_path) as store:
        [item] = await store.batches.items(batch["id"])
    assert (item.state, item.attempts) == ("pending", 0)  # given back, not left to expire


# --- the six-year example through the real pipeline -------------------------------------------


REGULATOR_BEFORE_2023 = "中国银保监会"
REGULATOR_FROM_2023 = "国家金融监督管理总局"


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_six_year_batch_names_the_regulator_of_each_year(
    real_worker: TestClient[Any, Any],
) -> None:
    from tests.render.pdf_reading import text

    response = await submit(real_worker, SIX_YEARS.read_bytes())
    assert response.status == 202, await response.text()
    batch = await response.json()
    status = await wait_finished(real_worker, batch["id"], timeout_s=90)
    assert (status["done"], status["failed"]) == (6, 0), status
    archive = await archive_of(real_worker, batch["id"])
    manifest = check_manifests(archive)
    for year, item in zip(range(2019, 2025), manifest["items"], strict=True):
        stem = f"小康人寿-{year}-消费者权益保护工作重大信息披露"
        assert item["files"]["pdf"]["name"] == f"{stem}.pdf"
        assert item["files"]["docx"]["name"] == f"{stem}.docx"
        words = text(archive.read(f"{stem}.pdf"))
        if year <= 2022:
            assert REGULATOR_BEFORE_2023 in words and REGULATOR_FROM_2023 not in words, year
        else:
            assert REGULATOR_FROM_2023 in words and REGULATOR_BEFORE_2023 not in words, year
