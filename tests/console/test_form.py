"""The new-document form's JSON endpoints (schema, live check) and drafts, with the real
pipeline in-process: numbers, printed tables and errors as the document will have them."""

from __future__ import annotations

import base64
import copy
import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from service.api.state import STORE
from service.kinds import payload_json_schema
from service.model.numbering import heading_label
from tests.api.conftest import FAKE_BACKEND
from tests.conftest import EXAMPLES
from tests.console.conftest import (
    KEY_ALL,
    KEY_OTHER,
    KEY_XIAOKANG,
    ClientFactory,
    console_app,
    sign_in,
)
from tests.console.test_compose import fake_payload

EXAMPLE = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text(encoding="utf-8"))


async def _live(client: TestClient[Any, Any], csrf: str, payload: Any) -> dict[str, Any]:
    response = await client.post(
        "/console/form/live.json",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def test_the_form_schema_is_the_published_schema_and_the_figures_registry(
    make_client: ClientFactory,
) -> None:
    client = await make_client(backend=None)
    anonymous = await client.get("/console/form/schema.json", allow_redirects=False)
    assert anonymous.status == 403
    assert (await anonymous.json())["error"]["code"] == "sign_in_required"
    await sign_in(client, KEY_XIAOKANG)
    answer = await (await client.get("/console/form/schema.json")).json()
    assert answer["schema"] == payload_json_schema()
    annual = next(k for k in answer["kinds"] if k["name"] == "consumer-protection-annual")
    assert annual["model"] in answer["schema"]["$defs"]
    participants = next(f for f in annual["figures"] if f["name"] == "training.participants")
    assert participants == {
        "name": "training.participants",
        "label": "参训人次",
        "unit": "人次",
        "source": "figures.training.participants",
    }
    assert {"gbt9704", "xiaokang"} <= {s["name"] for s in answer["house_styles"]}


async def test_live_numbers_tables_and_errors_as_printed(make_client: ClientFactory) -> None:
    client = await make_client(backend=None)
    csrf = await sign_in(client, KEY_XIAOKANG)
    refused = await client.post("/console/form/live.json", data=b"{}")
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "csrf_failed"

    answer = await _live(client, csrf, EXAMPLE)
    assert answer["errors"] == []
    assert answer["figures"]["complaints.regulator.closed_rate"] == "100.00%"
    start = EXAMPLE["ladder_start"]
    assert answer["headings"]["$.sections[1]"] == heading_label(start, 2)
    assert answer["headings"]["$.sections[0].sections[0].sections[1]"] == heading_label(
        start + 2, 2
    )
    table = answer["tables"]["$.figures.complaints.direct.breakdowns[0]"]
    cells = [r["cells"] for r in table["rows"]]
    assert cells[0] == ["来电", "8", "66.67%"]
    assert cells[1] == ["其中：客服热线", "6", "50.00%"]
    assert table["rows"][-1] == {"cells": ["合计", "12", "100.00%"], "kind": "total"}

    # A new count: the 合计 and every share follow, rounded as printed (7 of 13 is 53.85%).
    changed = copy.deepcopy(EXAMPLE)
    rows = changed["figures"]["complaints"]["direct"]["breakdowns"][1]["rows"]
    rows[0]["count"] = 8
    answer = await _live(client, csrf, changed)
    printed = answer["tables"]["$.figures.complaints.direct.breakdowns[1]"]["rows"]
    assert printed[0]["cells"] == ["经代", "8", "61.54%"]
    assert printed[-1]["cells"] == ["合计", "13", "100.00%"]
    # … and the payload's rules name the breakdown that no longer adds up to the source's total.
    assert any("breakdowns[1]" in e["path"] for e in answer["errors"]), answer["errors"]

    # A wrong cell: its path, its field's name in words, the API's message; the other tables
    # still print.
    wrong = copy.deepcopy(EXAMPLE)
    wrong["figures"]["complaints"]["regulator"]["breakdowns"][0]["rows"][1]["count"] = "一"
    answer = await _live(client, csrf, wrong)
    path = "$.figures.complaints.regulator.breakdowns[0].rows[1].count"
    error = next(e for e in answer["errors"] if e["path"] == path)
    assert error["label"] == "监管转办投诉 · 业务渠道分布表 · 第2行「互联网」 · 件数"
    assert error["message"]
    assert "$.figures.complaints.regulator.breakdowns[0]" not in answer["tables"]
    assert "$.figures.complaints.regulator.breakdowns[1]" in answer["tables"]


async def test_live_table_block_and_other_company(make_client: ClientFactory) -> None:
    client = await make_client(backend=None)
    csrf = await sign_in(client, KEY_XIAOKANG)
    payload = copy.deepcopy(EXAMPLE)
    table = {
        "title": "理赔时效",
        "label_title": "险种",
        "columns": [
            {"key": "n", "title": "件数", "type": "count"},
            {"key": "share", "title": "占比", "type": "share", "of": "n"},
        ],
        "rows": [
            {"label": "寿险", "values": {"n": 1}},
            {"label": "健康险", "values": {"n": 1}},
            {"label": "意外险", "values": {"n": 1}},
        ],
        "total": {"label": "合计"},
    }
    payload["sections"][0]["content"].append({"table": table})
    index = len(payload["sections"][0]["content"]) - 1
    answer = await _live(client, csrf, payload)
    printed = answer["tables"][f"$.sections[0].content[{index}].table"]
    assert printed["title"] == "理赔时效"
    assert [r["cells"] for r in printed["rows"]] == [
        ["寿险", "1", "33.33%"],
        ["健康险", "1", "33.33%"],
        ["意外险", "1", "33.33%"],
        ["合计", "3", "100.00%"],
    ]
    # 3 × 33.33% misses 100.00%: the house style's rounding note, as under the printed table.
    assert printed["notes"] == ["注：因四舍五入，占比合计可能不等于100%。"]

    other = copy.deepcopy(EXAMPLE)
    other["company"]["id"] = "other-co"
    answer = await _live(client, csrf, other)
    assert [e["path"] for e in answer["errors"]] == ["$.company.id"]
    assert "无权" in answer["errors"][0]["message"]


async def _save(
    client: TestClient[Any, Any], csrf: str, payload: Any, draft_id: str | None = None
) -> Any:
    return await client.post(
        "/console/drafts.json",
        data=json.dumps({"id": draft_id, "payload": payload}, ensure_ascii=False).encode(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )


async def _switch(client: TestClient[Any, Any], csrf: str, key: str) -> str:
    out = await client.post("/console/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    return await sign_in(client, key)


async def test_drafts_saved_per_company_listed_resumed_and_deleted(
    make_client: ClientFactory,
) -> None:
    client = await make_client(backend=None)
    csrf = await sign_in(client, KEY_XIAOKANG)
    nameless = await _save(client, csrf, {"report_year": 2024})
    assert nameless.status == 422
    assert (await nameless.json())["errors"][0]["path"] == "$.company.id"
    forbidden = await _save(client, csrf, {"company": {"id": "other-co"}})
    assert forbidden.status == 403

    draft = copy.deepcopy(EXAMPLE)
    draft["report_year"] = 2024
    draft["figures"]["review"]["product"] = "四十一"  # a draft may hold errors
    saved = await _save(client, csrf, draft)
    assert saved.status == 200
    first = await saved.json()
    assert first["title"] == "小康人寿 · 2024年度 · 消费者权益保护工作重大信息披露"
    draft["intro"] = ["改过的导语。"]
    again = await (await _save(client, csrf, draft, first["id"])).json()
    assert again["id"] == first["id"]

    listing = await (await client.get("/console/")).text()
    assert f'data-draft="{first["id"]}"' in listing
    assert listing.count("data-draft=") == 1
    assert "小康人寿" in listing

    resumed = await client.get(f"/console/new?draft={first['id']}")
    html = await resumed.text()
    assert f'name="draft_id" value="{first["id"]}"' in html
    text = re.search(r'<textarea id="payload"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert text is not None
    assert json.loads(html_lib.unescape(text.group(1))) == draft

    # Another company's key sees none of it; a key for every company sees it.
    csrf = await _switch(client, csrf, KEY_OTHER)
    assert (await client.get(f"/console/new?draft={first['id']}")).status == 404
    assert "data-draft=" not in await (await client.get("/console/")).text()
    csrf = await _switch(client, csrf, KEY_ALL)
    assert f'data-draft="{first["id"]}"' in await (await client.get("/console/")).text()
    csrf = await _switch(client, csrf, KEY_XIAOKANG)
    delete = await client.post(
        f"/console/drafts/{first['id']}/delete", data={"csrf": csrf}, allow_redirects=False
    )
    assert delete.status == 303
    assert "草稿已删除" in await (await client.get("/console/?notice=draft-deleted")).text()
    assert (await client.get(f"/console/new?draft={first['id']}")).status == 404


async def test_a_new_form_starts_with_the_only_company_of_the_key(
    make_client: ClientFactory,
) -> None:
    client = await make_client(backend=None)
    await sign_in(client, KEY_XIAOKANG)
    html = await (await client.get("/console/new")).text()
    assert "&#34;xiaokang-life&#34;" in html or "&quot;xiaokang-life&quot;" in html
    every = await make_client(backend=None)
    await sign_in(every, KEY_ALL)
    html = await (await every.get("/console/new")).text()
    assert "xiaokang-life" not in html.split('id="payload"')[1].split("</textarea>")[0]


async def test_help_links_only_pages_the_service_serves_and_a_favicon(
    make_client: ClientFactory,
) -> None:
    client = await make_client(backend=None)
    await sign_in(client, KEY_XIAOKANG)
    page = await client.get("/console/help")
    assert page.status == 200
    html = await page.text()
    links = set(re.findall(r'href="([^"#]+)(?:#[^"]*)?"', html))
    assert "/v1/schema" in links and "/docs" in links
    for link in sorted(links):
        assert link.startswith("/"), link  # nothing outside the service, no repository paths
        response = await client.get(link)
        assert response.status == 200, (link, response.status)
    assert ".md" not in html
    new = await (await client.get("/console/new")).text()
    assert "docs/payload.md" not in new and 'href="/console/help#payload"' in new
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon is not None
    svg = await client.get(icon.group(1))
    assert svg.status == 200 and (await svg.read()).startswith(b"<svg")
    legacy = await client.get("/favicon.ico", allow_redirects=False)
    assert legacy.status == 303


async def test_the_previews_pages_only_to_the_session_that_asked(
    make_client: ClientFactory,
) -> None:
    client = await make_client(backend=None)
    csrf = await sign_in(client, KEY_XIAOKANG)
    raw = json.dumps(EXAMPLE, ensure_ascii=False).encode()
    b64 = base64.b64encode(raw).decode()
    refused = await client.post("/console/new/pages.json", data={"payload_b64": b64})
    assert refused.status == 403
    answer = await (
        await client.post("/console/new/pages.json", data={"csrf": csrf, "payload_b64": b64})
    ).json()
    pages = answer["pages"]
    assert len(pages) >= 5 and pages[0]["page"] == 1
    image = await client.get(pages[0]["src"])
    assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")
    listed = await client.app[STORE].documents.list(allowed_companies=None, limit=5)
    assert listed.items == []  # nothing stored
    csrf = await _switch(client, csrf, KEY_XIAOKANG)  # a new session of the same key
    assert (await client.get(pages[0]["src"])).status == 404
    other = EXAMPLE | {"company": EXAMPLE["company"] | {"id": "other-co"}}
    forbidden = await client.post(
        "/console/new/pages.json",
        data={"csrf": csrf, "payload_b64": base64.b64encode(json.dumps(other).encode()).decode()},
    )
    assert forbidden.status == 403


async def test_companies_by_name_from_their_stored_payloads(tmp_path: Path) -> None:
    """A process that has seen no payload yet names the key's companies from the store."""
    payload = fake_payload().encode()
    clients = []
    try:
        for _ in range(2):  # the second: a new process on the same data folder
            client: TestClient[Any, Any] = TestClient(
                TestServer(console_app(tmp_path / "data", backend=FAKE_BACKEND))
            )
            await client.start_server()
            clients.append(client)
            csrf = await sign_in(client, KEY_XIAOKANG)
            if len(clients) == 1:
                home = await (await client.get("/console/")).text()
                assert "小康人寿" not in home  # nothing stored, nothing seen: the id
                made = await client.post(
                    "/console/new/generate",
                    data={"csrf": csrf, "payload_b64": base64.b64encode(payload).decode()},
                    allow_redirects=False,
                )
                assert made.status == 303, await made.text()
                await client.close()
        home = await (await clients[-1].get("/console/")).text()
        header = home.split('class="companies"')[1].split("</span></span>")[0]
        assert "小康人寿" in header
        cell = re.search(
            r"<td>(小康人寿)[^<]*<code class=\"company-id\">xiaokang-life</code>", home
        )
        assert cell is not None
    finally:
        await clients[-1].close()


async def test_live_refuses_more_than_the_apis_body_limit(make_client: ClientFactory) -> None:
    client = await make_client(backend=None, max_body_bytes=4096)
    csrf = await sign_in(client, KEY_XIAOKANG)
    big = {"intro": ["段" * 40_000]}
    response = await client.post(
        "/console/form/live.json",
        data=json.dumps(big, ensure_ascii=False).encode(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"
