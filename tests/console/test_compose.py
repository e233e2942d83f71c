"""A new document through the console with the fake backend: errors beside their fields, the
preview, generating, downloading, regenerating."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from service.api.state import STORE
from tests.console.conftest import KEY_XIAOKANG, KEY_XIAOKANG_NAME, ClientFactory, sign_in


def fake_payload(**changes: Any) -> str:
    obj: dict[str, Any] = {
        "company": {"id": "xiaokang-life", "short_name": "小康人寿"},
        "report_year": 2023,
        "title": "消费者权益保护工作重大信息披露",
    }
    obj.update(changes)
    return json.dumps(obj, ensure_ascii=False)


def row(html: str, path: str) -> str:
    match = re.search(
        rf'<tr id="[^"]+" data-path="{re.escape(path)}"[^>]*>(.*?)</tr>', html, re.DOTALL
    )
    assert match, f"no row for {path}"
    return match.group(1)


async def test_every_error_sits_beside_its_field(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    broken = json.loads(fake_payload(report_year="二〇二三"))
    del broken["title"]
    response = await client.post(
        "/console/new", data={"csrf": csrf, "payload": json.dumps(broken, ensure_ascii=False)}
    )
    assert response.status == 422
    html = await response.text()
    assert "报送数据有2处问题" in html
    year = row(html, "$.report_year")
    assert "报告年度" in year and "二〇二三" in year and 'class="error-message"' in year
    title = row(html, "$.title")
    assert "标题" in title and "（缺少）" in title
    assert 'href="#field-report_year"' in html
    assert "二〇二三" in html.split("<textarea", 1)[1]  # the text box keeps what was sent


async def test_broken_json_names_its_line(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await client.post(
        "/console/new", data={"csrf": csrf, "payload": '{\n  "company": {,\n}'}
    )
    assert response.status == 422
    html = await response.text()
    assert 'id="payload-error"' in html and "第2行" in html
    assert 'aria-invalid="true"' in html and 'data-error-line="2"' in html


async def test_nothing_to_check(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await client.post("/console/new", data={"csrf": csrf, "payload": "  \n"})
    assert response.status == 422
    assert "请粘贴报送数据" in await response.text()


async def test_payload_over_the_limit(make_client: ClientFactory) -> None:
    client = await make_client(max_body_bytes=1000)
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await client.post(
        "/console/new", data={"csrf": csrf, "payload": fake_payload(title="长" * 1000)}
    )
    assert response.status == 422
    assert "报送数据超过上限（1000 B）" in await response.text()
    huge = await client.post(
        "/console/new", data={"csrf": csrf, "payload": fake_payload(title="长" * 30_000)}
    )
    assert huge.status == 413
    assert "提交的内容超过上限" in await huge.text()


async def test_preview_then_generate_then_download(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("payload", "this text is ignored: the file wins")
    form.add_field("file", fake_payload().encode(), filename="p.json")
    preview = await client.post("/console/new", data=form)
    assert preview.status == 200
    html = await preview.text()
    assert "数据检查通过" in html
    assert 'data-figure="complaints.total"' in html and "投诉合计件数" in html and "1,234" in html
    payload_b64 = re.search(r'name="payload_b64" value="([^"]+)"', html)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    assert payload_b64 and nonce
    data = {"csrf": csrf, "payload_b64": payload_b64.group(1), "nonce": nonce.group(1)}
    created = await client.post("/console/new/generate", data=data, allow_redirects=False)
    assert created.status == 303, await created.text()
    location = created.headers["Location"]
    assert re.fullmatch(r"/console/documents/doc_[0-9a-f]{20}\?notice=created", location)
    document_id = location.split("/")[3].split("?")[0]
    page = await client.get(location)
    text = await page.text()
    assert "文档已生成并存档" in text
    assert f"/console/documents/{document_id}/versions/1/docx" in text
    docx = await client.get(f"/console/documents/{document_id}/versions/1/docx")
    assert await docx.read() == "docx|xiaokang-life|2023|消费者权益保护工作重大信息披露".encode()
    assert "attachment;" in docx.headers["Content-Disposition"]
    # The same form sent twice (a double click, a reload) makes one document.
    again = await client.post("/console/new/generate", data=data, allow_redirects=False)
    assert again.headers["Location"] == f"/console/documents/{document_id}?notice=replayed"
    store = client.app[STORE]
    assert len((await store.documents.list()).items) == 1


async def test_regenerate_adds_a_version(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    import base64

    created = await client.post(
        "/console/new/generate",
        data={"csrf": csrf, "payload_b64": base64.b64encode(fake_payload().encode()).decode()},
        allow_redirects=False,
    )
    document_id = created.headers["Location"].split("/")[3].split("?")[0]
    data = {"csrf": csrf, "nonce": "regen-nonce-1"}
    response = await client.post(
        f"/console/documents/{document_id}/regenerate", data=data, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == (
        f"/console/documents/{document_id}?version=2&notice=regenerated"
    )
    html = await (await client.get(response.headers["Location"])).text()
    assert "正在查看第2版（共2版）" in html
    # who made each version: the key's name, never the key
    assert html.count(f"<code>{KEY_XIAOKANG_NAME}</code>") == 3  # this version, and both rows
    assert KEY_XIAOKANG not in html
    assert f"/console/documents/{document_id}?version=1" in html
    replay = await client.post(
        f"/console/documents/{document_id}/regenerate", data=data, allow_redirects=False
    )
    assert replay.headers["Location"].endswith("version=2&notice=replayed")


async def test_edit_goes_back_to_the_form(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await client.post(
        "/console/new", data={"csrf": csrf, "action": "edit", "payload": fake_payload()}
    )
    assert response.status == 200
    html = await response.text()
    assert "error-summary" not in html
    assert "消费者权益保护工作重大信息披露" in html.split("<textarea", 1)[1]
