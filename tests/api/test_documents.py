"""Stored documents over HTTP: create, idempotency, versions, listing, downloads, access.

Most tests use the fake pipeline (instant "documents", see ``tests/api/fakes.py``) in process;
the last ones store the reference example with the real pipeline in a real worker process.
"""

from __future__ import annotations

import hashlib
import json
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.api.archive.documents import error_of
from service.errors import FieldError, PayloadInvalid, RenderFailed, UnknownTemplate
from service.settings import parse_api_keys
from tests.api import fakes
from tests.api.conftest import (
    AUTH,
    KEY_ALL,
    KEY_OTHER,
    KEY_XIAOKANG,
    ClientFactory,
)
from tests.conftest import EXAMPLES

ALL = {"Authorization": f"Bearer {KEY_ALL}"}
OTHER = {"Authorization": f"Bearer {KEY_OTHER}"}
KEY_NAME = parse_api_keys(f"{KEY_XIAOKANG}:x")[0].name
"""The name manifests record for the test key configured without one: ``key-`` + fingerprint."""
STEM = "小康人寿-2023-消费者权益保护工作重大信息披露"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def filename_of(disposition: str) -> str:
    message = Message()
    message["Content-Disposition"] = disposition
    values = [
        v for _, v in message.get_params(header="content-disposition") or [] if isinstance(v, tuple)
    ]
    return collapse_rfc2231_value(values[0])


async def create(
    client: TestClient[Any, Any],
    body: bytes,
    headers: dict[str, str] = AUTH,
    key: str | None = None,
) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post("/v1/documents", data=body, headers={**headers, **extra})


async def renders_counted(client: TestClient[Any, Any]) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith('pilu_renders_total{format="pdf+docx",outcome="ok"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- create and read --------------------------------------------------------------------------


async def test_create_stores_both_outputs_and_answers_201_with_links(
    client: TestClient[Any, Any],
) -> None:
    payload = fakes.payload_bytes()
    response = await create(client, payload)
    assert response.status == 201, await response.text()
    doc = await response.json()
    assert doc["id"].startswith("doc_") and doc["version"] == 1 and doc["latest_version"] == 1
    assert (doc["company_id"], doc["report_year"]) == ("xiaokang-life", 2023)
    base = f"/v1/documents/{doc['id']}"
    assert doc["links"] == {
        "self": base,
        "versions": f"{base}/versions",
        "pdf": f"{base}/pdf?version=1",
        "docx": f"{base}/docx?version=1",
    }
    assert response.headers["Location"] == f"{base}?version=1"
    assert "Idempotent-Replayed" not in response.headers
    manifest = doc["manifest"]
    assert manifest["payload_sha256"] == sha(payload)
    assert manifest["outputs"]["pdf"]["filename"] == f"{STEM}.pdf"

    described = await (await client.get(base, headers=AUTH)).json()
    assert described["manifest"] == manifest
    assert [v["version"] for v in described["versions"]] == [1]
    for fmt in ("pdf", "docx"):
        download = await client.get(doc["links"][fmt], headers=AUTH)
        assert download.status == 200
        body = await download.read()
        assert body == f"{fmt}|xiaokang-life|2023|消费者权益保护工作重大信息披露".encode()
        assert (
            download.headers["ETag"]
            == f'"{sha(body)}"'
            == f'"{manifest["outputs"][fmt]["sha256"]}"'
        )
        assert filename_of(download.headers["Content-Disposition"]) == f"{STEM}.{fmt}"
        assert (
            f'filename="xiaokang-life-2023-disclosure.{fmt}"'
            in download.headers["Content-Disposition"]
        )
        assert download.headers["X-Pilu-Document-Version"] == "1"


async def test_download_answers_304_to_a_matching_etag(client: TestClient[Any, Any]) -> None:
    doc = await (await create(client, fakes.payload_bytes())).json()
    url = f"/v1/documents/{doc['id']}/pdf"
    etag = (await client.get(url, headers=AUTH)).headers["ETag"]
    again = await client.get(url, headers={**AUTH, "If-None-Match": f'"other", W/{etag}'})
    assert again.status == 304 and again.headers["ETag"] == etag
    assert await again.read() == b""
    changed = await client.get(url, headers={**AUTH, "If-None-Match": '"other"'})
    assert changed.status == 200


async def test_invalid_payload_is_422_and_stores_nothing(client: TestClient[Any, Any]) -> None:
    bad = json.dumps(
        {"company": {"id": "xiaokang-life", "short_name": "小康"}, "report_year": 1}
    ).encode()
    response = await create(client, bad)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "payload_invalid"
    assert {d["path"] for d in error["details"]} >= {"$.title", "$.report_year"}
    assert (await create(client, b"{")).status == 400
    listing = await (await client.get("/v1/documents", headers=AUTH)).json()
    assert listing["items"] == []


def test_render_errors_keep_their_own_code() -> None:
    assert isinstance(error_of((FieldError("$", "unknown_template", "没有模板"),)), UnknownTemplate)
    assert isinstance(error_of((FieldError("$", "render_failed", "坏了"),)), RenderFailed)
    several = error_of((FieldError("$.a", "missing", "缺"), FieldError("$.b", "missing", "缺")))
    assert isinstance(several, PayloadInvalid) and len(several.errors) == 2


# --- idempotency ------------------------------------------------------------------------------


async def test_idempotency_key_replays_without_rendering_again(
    client: TestClient[Any, Any],
) -> None:
    payload = fakes.payload_bytes()
    first = await create(client, payload, key="order-7781")
    assert first.status == 201
    replay = await create(client, payload, key="order-7781")
    assert replay.status == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert (await replay.json())["id"] == (await first.json())["id"]
    assert await renders_counted(client) == 1

    conflict = await create(client, fakes.payload_bytes(title="另一份"), key="order-7781")
    assert conflict.status == 409
    assert (await conflict.json())["error"]["code"] == "idempotency_conflict"

    # keys live in the API key's own scope: another key's same Idempotency-Key is a new request
    # (rendered again; the same report, so a second version of the same document)
    other = await create(client, payload, headers=ALL, key="order-7781")
    assert other.status == 201 and "Idempotent-Replayed" not in other.headers
    body = await other.json()
    assert (body["id"], body["version"]) == ((await first.json())["id"], 2)
    assert await renders_counted(client) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "含中文", "with space"])
async def test_malformed_idempotency_key_is_400(client: TestClient[Any, Any], key: str) -> None:
    response = await client.post(
        "/v1/documents", data=fakes.payload_bytes(), headers={**AUTH, "Idempotency-Key": key}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_parameter"


# --- versions ---------------------------------------------------------------------------------


async def test_versions_are_added_and_earlier_ones_kept(client: TestClient[Any, Any]) -> None:
    doc = await (await create(client, fakes.payload_bytes())).json()
    base = f"/v1/documents/{doc['id']}"
    v1_pdf = await (await client.get(f"{base}/pdf", headers=AUTH)).read()

    again = await client.post(f"{base}/versions", headers=AUTH)  # no body: the stored payload
    assert again.status == 201, await again.text()
    v2 = await again.json()
    assert (v2["id"], v2["version"], v2["latest_version"]) == (doc["id"], 2, 2)
    assert again.headers["Location"] == f"{base}?version=2"
    assert v2["manifest"]["payload_sha256"] == doc["manifest"]["payload_sha256"]

    corrected = fakes.payload_bytes(title="更正后的披露")
    v3 = await (await client.post(f"{base}/versions", data=corrected, headers=AUTH)).json()
    assert v3["version"] == 3 and v3["manifest"]["payload_sha256"] == sha(corrected)

    versions = await (await client.get(f"{base}/versions", headers=AUTH)).json()
    assert [v["version"] for v in versions["versions"]] == [1, 2, 3]
    by = [v["manifest"]["created_by"] for v in versions["versions"]]
    assert by == [KEY_NAME] * 3 and KEY_XIAOKANG not in json.dumps(versions)
    assert versions["versions"][0]["links"]["pdf"] == f"{base}/pdf?version=1"
    assert await (await client.get(f"{base}/pdf?version=1", headers=AUTH)).read() == v1_pdf
    latest = await (await client.get(f"{base}/pdf", headers=AUTH)).read()
    assert latest == "pdf|xiaokang-life|2023|更正后的披露".encode()
    old = await (await client.get(f"{base}?version=1", headers=AUTH)).json()
    assert old["version"] == 1 and old["latest_version"] == 3 and len(old["versions"]) == 3
    missing = await client.get(f"{base}/docx?version=9", headers=AUTH)
    assert missing.status == 404
    assert (await client.get(f"{base}/pdf?version=0", headers=AUTH)).status == 400


async def test_a_version_for_another_company_or_year_is_409(client: TestClient[Any, Any]) -> None:
    doc = await (await create(client, fakes.payload_bytes(), headers=ALL)).json()
    url = f"/v1/documents/{doc['id']}/versions"
    other = await client.post(url, data=fakes.payload_bytes("other-co"), headers=ALL)
    assert other.status == 409
    assert (await other.json())["error"]["code"] == "document_mismatch"
    year = json.loads(fakes.payload_bytes())
    year["report_year"] = 2024
    response = await client.post(url, data=json.dumps(year).encode(), headers=ALL)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "document_mismatch"


async def test_regenerate_with_idempotency_key(client: TestClient[Any, Any]) -> None:
    doc = await (await create(client, fakes.payload_bytes())).json()
    url = f"/v1/documents/{doc['id']}/versions"
    headers = {**AUTH, "Idempotency-Key": "regen-1"}
    first = await client.post(url, headers=headers)
    second = await client.post(url, headers=headers)
    assert (first.status, second.status) == (201, 200)
    assert (await second.json())["version"] == (await first.json())["version"] == 2
    assert await renders_counted(client) == 2  # the create and one regenerate


# --- listing ----------------------------------------------------------------------------------


async def test_listing_pages_newest_first_with_filters(client: TestClient[Any, Any]) -> None:
    ids = []
    for year in (2019, 2020, 2021, 2022, 2023):
        body = json.loads(fakes.payload_bytes())
        body["report_year"] = year
        ids.append((await (await create(client, json.dumps(body).encode())).json())["id"])
    await create(client, fakes.payload_bytes("other-co"), headers=ALL)

    seen, url = [], "/v1/documents?company=xiaokang-life&limit=2"
    while url:
        page = await (await client.get(url, headers=AUTH)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        url = page["links"]["next"]
        assert (url is None) == (page["next_cursor"] is None)
    assert seen == ids[::-1]

    by_year = await (await client.get("/v1/documents?year=2021", headers=AUTH)).json()
    assert [d["id"] for d in by_year["items"]] == [ids[2]]
    assert by_year["items"][0]["links"]["self"] == f"/v1/documents/{ids[2]}"
    by_kind = await (await client.get("/v1/documents?kind=nothing", headers=AUTH)).json()
    assert by_kind["items"] == []
    everything = await (await client.get("/v1/documents", headers=ALL)).json()
    assert len(everything["items"]) == 6


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "invalid_parameter"),
        ("limit=201", "invalid_parameter"),
        ("year=abc", "invalid_parameter"),
        ("cursor=bm9wZQ", "invalid_cursor"),
    ],
)
async def test_bad_listing_parameters_are_400(
    client: TestClient[Any, Any], query: str, code: str
) -> None:
    response = await client.get(f"/v1/documents?{query}", headers=AUTH)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code


# --- access -----------------------------------------------------------------------------------


async def test_another_company_cannot_list_read_download_or_regenerate(
    client: TestClient[Any, Any],
) -> None:
    doc = await (await create(client, fakes.payload_bytes())).json()
    base = f"/v1/documents/{doc['id']}"
    listing = await (await client.get("/v1/documents", headers=OTHER)).json()
    assert listing["items"] == []
    filtered = await client.get("/v1/documents?company=xiaokang-life", headers=OTHER)
    assert (await filtered.json())["items"] == []
    for path in (base, f"{base}/versions", f"{base}/pdf", f"{base}/docx", f"{base}/pdf?version=1"):
        response = await client.get(path, headers=OTHER)
        assert response.status == 404, path
        assert (await response.json())["error"]["code"] == "not_found"
        assert "pdf|" not in await response.text()
    regenerate = await client.post(f"{base}/versions", headers=OTHER)
    assert regenerate.status == 404
    assert (await client.get(base, headers=ALL)).status == 200  # the operator key sees it
    forbidden = await create(client, fakes.payload_bytes(), headers=OTHER)
    assert forbidden.status == 403
    nobody = await client.get(base)
    assert nobody.status == 401


async def test_unknown_document_is_404(client: TestClient[Any, Any]) -> None:
    for path in ("/v1/documents/doc_0000", "/v1/documents/doc_0000/pdf"):
        response = await client.get(path, headers=AUTH)
        assert response.status == 404
    assert (await client.post("/v1/documents/doc_0000/versions", headers=AUTH)).status == 404


async def test_documents_survive_a_restart_on_the_same_data_dir(
    make_client: ClientFactory, tmp_path: Any
) -> None:
    first = await make_client(data_dir=tmp_path)
    doc = await (await create(first, fakes.payload_bytes())).json()
    await first.close()
    second = await make_client(data_dir=tmp_path)
    response = await second.get(f"/v1/documents/{doc['id']}/pdf", headers=AUTH)
    assert response.status == 200
    assert sha(await response.read()) == doc["manifest"]["outputs"]["pdf"]["sha256"]


# --- the real pipeline in a worker process ----------------------------------------------------

REFERENCE = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_real_document_stored_downloaded_and_regenerated(
    real_worker: TestClient[Any, Any],
) -> None:
    from tests.render.pdf_reading import text

    response = await create(real_worker, REFERENCE, key="reference-2023")
    assert response.status == 201, await response.text()
    doc = await response.json()
    manifest = doc["manifest"]
    assert manifest["payload_sha256"] == sha(REFERENCE)
    assert manifest["template_version"] == "consumer-protection-annual/2023"
    assert manifest["fonts"] and manifest["libraries"]["weasyprint"]
    outputs = {}
    for fmt, magic in (("pdf", b"%PDF-"), ("docx", b"PK\x03\x04")):
        download = await real_worker.get(doc["links"][fmt], headers=AUTH)
        body = await download.read()
        assert body.startswith(magic)
        assert sha(body) == manifest["outputs"][fmt]["sha256"]
        assert len(body) == manifest["outputs"][fmt]["size"]
        assert download.headers["ETag"] == f'"{sha(body)}"'
        assert filename_of(download.headers["Content-Disposition"]) == f"{STEM}.{fmt}"
        outputs[fmt] = body
    assert "小康人寿保险有限责任公司" in text(outputs["pdf"])

    replay = await create(real_worker, REFERENCE, key="reference-2023")
    assert replay.status == 200 and (await replay.json())["id"] == doc["id"]

    # today's templates on the stored payload: a new version, the same bytes (deterministic)
    v2 = await (await real_worker.post(f"/v1/documents/{doc['id']}/versions", headers=AUTH)).json()
    assert v2["version"] == 2
    assert v2["manifest"]["outputs"]["pdf"]["sha256"] == manifest["outputs"]["pdf"]["sha256"]
    first = await real_worker.get(f"/v1/documents/{doc['id']}/pdf?version=1", headers=AUTH)
    assert await first.read() == outputs["pdf"]


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_real_invalid_payload_is_422_from_the_worker(
    real_worker: TestClient[Any, Any],
) -> None:
    payload = json.loads(REFERENCE)
    payload["figures"]["complaints"]["direct"]["closed"] = 10**9
    response = await create(real_worker, json.dumps(payload, ensure_ascii=False).encode())
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "payload_invalid"
