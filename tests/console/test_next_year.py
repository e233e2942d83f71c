"""Starting from last year through the console: the draft of a stored document as JSON, and a
payload made from it checked against its stored figures."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from service import PROJECT_ROOT
from tests.console.conftest import KEY_OTHER, KEY_XIAOKANG, sign_in, store_of
from tests.store.fakes import rendered_for

EXAMPLE = PROJECT_ROOT / "examples" / "xiaokang-life-2023.json"


async def stored(client: TestClient[Any, Any], raw: bytes | None = None) -> str:
    raw = raw if raw is not None else EXAMPLE.read_bytes()
    return (await store_of(client).documents.create(raw, rendered_for(raw))).document.id


async def test_draft_of_a_stored_document(client: TestClient[Any, Any]) -> None:
    doc = await stored(client)
    await sign_in(client, KEY_XIAOKANG)
    response = await client.get(f"/console/documents/{doc}/next-year.json")
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    last = json.loads(EXAMPLE.read_bytes())
    assert body["base"] == {"document_id": doc, "version": 1, "report_year": 2023}
    assert body["payload"]["report_year"] == 2024 and "publish_date" not in body["payload"]
    assert body["payload"]["sections"] == last["sections"]
    assert body["payload"]["figures"]["training"] == {}
    assert body["previous"]["$.figures.training.participants"] == 1486
    assert body["previous"]["$.figures.training.yoy"] == 11.56


async def test_draft_of_the_latest_version(client: TestClient[Any, Any]) -> None:
    doc = await stored(client)
    newer = json.loads(EXAMPLE.read_bytes())
    newer["figures"]["training"]["participants"] = 1500
    raw = json.dumps(newer, ensure_ascii=False).encode()
    await store_of(client).documents.regenerate(doc, raw, rendered_for(raw))
    await sign_in(client, KEY_XIAOKANG)
    body = await (await client.get(f"/console/documents/{doc}/next-year.json")).json()
    assert body["base"]["version"] == 2
    assert body["previous"]["$.figures.training.participants"] == 1500


async def test_another_companys_document_is_not_found(client: TestClient[Any, Any]) -> None:
    doc = await stored(client)
    await sign_in(client, KEY_OTHER)
    response = await client.get(f"/console/documents/{doc}/next-year.json")
    assert response.status == 404
    assert response.content_type == "application/json"
    assert "xiaokang" not in await response.text()
    odd = await client.get("/console/documents/..%2f..%2fetc/next-year.json")
    assert odd.status == 404


async def test_signed_out_is_refused_as_json(client: TestClient[Any, Any]) -> None:
    doc = await stored(client)
    response = await client.get(f"/console/documents/{doc}/next-year.json", allow_redirects=False)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "sign_in_required"


async def test_check_computes_and_checks_yoy(client: TestClient[Any, Any]) -> None:
    doc = await stored(client)
    csrf = await sign_in(client, KEY_XIAOKANG)
    draft = (await (await client.get(f"/console/documents/{doc}/next-year.json")).json())["payload"]
    draft["figures"]["training"] = {"participants": 1600, "coverage": 100}
    draft["figures"]["outreach"] = {"reach": 600000, "yoy": 5}
    url = f"/console/documents/{doc}/next-year/check"
    response = await client.post(url, data={"csrf": csrf, "payload": json.dumps(draft)})
    assert response.status == 200, await response.text()
    body = json.loads(await response.text(), parse_float=Decimal)
    assert body["payload"]["figures"]["training"]["yoy"] == Decimal("7.67")
    assert body["errors"] == [
        {
            "path": "$.figures.outreach.yoy",
            "code": "yoy_mismatch",
            "message": "触达人次同比增长为5%，与上年存档数据不符：上年宣教活动触达人次595500、"
            "本年600000，同比应为0.76%",
        }
    ]
    forged = await client.post(url, data={"csrf": "x", "payload": json.dumps(draft)})
    assert forged.status == 403 and (await forged.json())["error"]["code"] == "csrf_failed"
    broken = await client.post(url, data={"csrf": csrf, "payload": "{"})
    assert broken.status == 422
    assert "JSON格式错误" in (await broken.json())["error"]["details"][0]["message"]


async def test_a_letter_has_no_draft(client: TestClient[Any, Any]) -> None:
    letter = json.loads(
        sorted((PROJECT_ROOT / "examples" / "letter").glob("*.json"))[0].read_bytes()
    )
    letter["company"]["id"] = "xiaokang-life"
    letter["report_year"] = 2023  # what the fake renderer files it under
    doc = await stored(client, json.dumps(letter, ensure_ascii=False).encode())
    await sign_in(client, KEY_XIAOKANG)
    response = await client.get(f"/console/documents/{doc}/next-year.json")
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "no_next_year" and "报送函" in error["message"]
