"""A key for one company sees nothing of another through any console page or link."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.jobs.parse import item_from_bytes
from service.store import Store
from tests.console.conftest import KEY_ALL, KEY_OTHER, KEY_XIAOKANG, csrf_of, sign_in, store_of
from tests.store.fakes import payload, rendered_for


async def _document(store: Store, company: str, year: int = 2023) -> str:
    raw = payload(company, year)
    return (await store.documents.create(raw, rendered_for(raw))).document.id


async def _batch(store: Store, *companies: str) -> str:
    items = [item_from_bytes(payload(c, 2023, n), f"line {n + 1}") for n, c in enumerate(companies)]
    return (await store.batches.create(items)).batch.id


def secret_bytes(raw_company: str) -> list[bytes]:
    """What a leaked output or payload of ``raw_company`` would contain."""
    raw = payload(raw_company)
    fake = rendered_for(raw)
    return [fake.output_bytes(fmt) for fmt in fake.outputs] + [raw]


@pytest.fixture
async def world(client: TestClient[Any, Any]) -> dict[str, str]:
    store = store_of(client)
    ids = {
        "mine": await _document(store, "xiaokang-life"),
        "theirs": await _document(store, "other-co"),
        "their_batch": await _batch(store, "other-co", "other-co"),
        "mixed_batch": await _batch(store, "xiaokang-life", "other-co"),
        "my_batch": await _batch(store, "xiaokang-life"),
    }
    raw = payload("other-co")
    await store.documents.regenerate(ids["theirs"], raw, rendered_for(raw))
    return ids


def their_routes(ids: dict[str, str]) -> list[str]:
    doc = ids["theirs"]
    routes = [
        f"/console/documents/{doc}",
        f"/console/documents/{doc}?version=1",
        f"/console/documents/{doc}?version=2",
        f"/console/documents/{doc}/versions/1/pdf",
        f"/console/documents/{doc}/versions/1/docx",
        f"/console/documents/{doc}/versions/2/pdf",
        f"/console/documents/{doc}/versions/2/docx",
        f"/console/documents/{doc}/versions/1/pages/1.png",
    ]
    for batch in (ids["their_batch"], ids["mixed_batch"]):
        routes += [
            f"/console/batches/{batch}",
            f"/console/batches/{batch}/status",
            f"/console/batches/{batch}/events",
            f"/console/batches/{batch}/archive",
        ]
    return routes


async def test_no_page_or_file_of_another_company(
    client: TestClient[Any, Any], world: dict[str, str]
) -> None:
    await sign_in(client, KEY_XIAOKANG)
    leaks = secret_bytes("other-co")
    for path in their_routes(world):
        response = await client.get(path, allow_redirects=False)
        body = await response.read()
        assert response.status == 404, path
        assert response.content_type == "text/html", path
        assert "Content-Disposition" not in response.headers, path
        assert not any(leak in body for leak in leaks), path
        assert b"other-co" not in body, path


async def test_no_regenerating_of_another_companys_document(
    client: TestClient[Any, Any], world: dict[str, str]
) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await client.post(
        f"/console/documents/{world['theirs']}/regenerate",
        data={"csrf": csrf, "nonce": "abcdefgh1234"},
        allow_redirects=False,
    )
    assert response.status == 404
    versions = await store_of(client).documents.versions(world["theirs"])
    assert [v.version for v in versions] == [1, 2]


async def test_lists_show_only_the_users_companies(
    client: TestClient[Any, Any], world: dict[str, str]
) -> None:
    await sign_in(client, KEY_XIAOKANG)
    listing = await (await client.get("/console/")).text()
    assert world["mine"] in listing
    assert world["theirs"] not in listing and "other-co" not in listing
    filtered = await (await client.get("/console/?company=other-co")).text()
    assert world["theirs"] not in filtered
    assert "没有符合条件的文档" in filtered
    batches = await (await client.get("/console/batches")).text()
    assert world["my_batch"] in batches
    assert world["their_batch"] not in batches
    assert world["mixed_batch"] not in batches  # its archive would hold other-co's documents


async def test_my_own_routes_work(client: TestClient[Any, Any], world: dict[str, str]) -> None:
    await sign_in(client, KEY_XIAOKANG)
    doc = world["mine"]
    page = await client.get(f"/console/documents/{doc}")
    assert page.status == 200
    assert "小康人寿-2023-消费者权益保护工作重大信息披露" in await page.text()
    pdf = await client.get(f"/console/documents/{doc}/versions/1/pdf")
    assert pdf.status == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    assert "filename*=UTF-8''%E5%B0%8F%E5%BA%B7" in pdf.headers["Content-Disposition"]
    assert (await client.get(f"/console/batches/{world['my_batch']}")).status == 200
    status = await client.get(f"/console/batches/{world['my_batch']}/status")
    data = await status.json()
    assert data["batch"]["total"] == 1 and data["items"][0]["index"] == 0


async def test_another_key_sees_only_its_own(
    client: TestClient[Any, Any], world: dict[str, str]
) -> None:
    await sign_in(client, KEY_OTHER)
    assert (await client.get(f"/console/documents/{world['theirs']}")).status == 200
    assert (await client.get(f"/console/documents/{world['mine']}")).status == 404
    assert (await client.get(f"/console/batches/{world['mixed_batch']}")).status == 404
    assert (await client.get(f"/console/batches/{world['their_batch']}")).status == 200


async def test_a_key_for_every_company_sees_everything(
    client: TestClient[Any, Any], world: dict[str, str]
) -> None:
    await sign_in(client, KEY_ALL)
    listing = await (await client.get("/console/")).text()
    assert world["mine"] in listing and world["theirs"] in listing
    assert (await client.get(f"/console/batches/{world['mixed_batch']}")).status == 200
    assert "全部公司" in listing


async def test_uploads_for_another_company_are_refused(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    from aiohttp import FormData

    lines = [
        json.dumps({"company": {"id": "xiaokang-life", "short_name": "小康人寿"},
                    "report_year": 2023, "title": "t"}),
        json.dumps({"company": {"id": "other-co", "short_name": "别家"}, "report_year": 2023,
                    "title": "t"}),
    ]  # fmt: skip
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", ("\n".join(lines) + "\n").encode(), filename="two.ndjson")
    response = await client.post("/console/batches", data=form)
    assert response.status == 422
    text = await response.text()
    assert "第2行" in text and "无权处理公司“other-co”" in text
    assert "批次未创建" in text
    assert (await store_of(client).batches.list()).items == []

    other = json.dumps({"company": {"id": "other-co", "short_name": "别家"},
                        "report_year": 2023, "title": "t"})  # fmt: skip
    check = await client.post("/console/new", data={"csrf": csrf, "payload": other})
    assert check.status == 403
    text = await check.text()
    assert 'data-path="$.company.id"' in text and "无权处理公司“other-co”" in text
    import base64

    generate = await client.post(
        "/console/new/generate",
        data={"csrf": csrf, "payload_b64": base64.b64encode(other.encode()).decode()},
    )
    assert generate.status == 403
    assert (await store_of(client).documents.list()).items == []
    assert csrf_of(await generate.text()) == csrf
