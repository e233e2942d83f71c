"""The console's upload of an edited Word document and its diff page: with the real pipeline
in process, then the diff page in Debian's Chromium (a screenshot under
``test-artifacts/console-revisions/``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from service.formats import MEDIA_TYPES
from tests.conftest import EXAMPLES, ROOT
from tests.console.conftest import KEY_XIAOKANG, console_app, csrf_of, sign_in
from tests.readback import edits

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

EXAMPLE = EXAMPLES / "xiaokang-life-2023.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "console-revisions"


async def _document(client: TestClient[Any, Any]) -> tuple[str, bytes]:
    response = await client.post(
        "/v1/documents",
        data=EXAMPLE.read_bytes(),
        headers={"Authorization": f"Bearer {KEY_XIAOKANG}"},
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    docx = await client.get(
        body["links"]["docx"], headers={"Authorization": f"Bearer {KEY_XIAOKANG}"}
    )
    return body["id"], await docx.read()


def _form(csrf: str, data: bytes, version: int = 1) -> FormData:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("version", str(version))
    form.add_field("docx", data, filename="修改稿.docx", content_type=MEDIA_TYPES["docx"])
    return form


async def _app(tmp_path: Path) -> web.Application:
    return console_app(tmp_path / "data", backend=None)


async def test_an_upload_makes_the_next_version_and_shows_its_diff(tmp_path: Path) -> None:
    client: TestClient[Any, Any] = TestClient(TestServer(await _app(tmp_path)))
    await client.start_server()
    try:
        document_id, downloaded = await _document(client)
        csrf = await sign_in(client, KEY_XIAOKANG)
        page = await (await client.get(f"/console/documents/{document_id}")).text()
        assert f'action="/console/documents/{document_id}/revisions"' in page

        # A count retyped without its share and total: refused, every place named, nothing stored.
        doc = edits.open_docx(downloaded)
        edits.set_cell(edits.table_after(doc, "监管转办投诉业务渠道分布"), 1, 1, "5")
        response = await client.post(
            f"/console/documents/{document_id}/revisions", data=_form(csrf, edits.save(doc))
        )
        assert response.status == 422
        text = await response.text()
        assert "表1 监管转办投诉业务渠道分布 第1行" in text and "“占比”列" in text
        page = await (await client.get(f"/console/documents/{document_id}")).text()
        assert "共1版" in page

        doc = edits.open_docx(downloaded)
        paragraph = edits.paragraph_with(doc, "数据安全和客户信息保护机制运行良好")
        edits.replace_in_paragraph(paragraph, "运行良好", "运行平稳有效")
        for run in edits.figure_runs(doc, "training.participants"):
            edits.set_run_text(run, "1520")
        response = await client.post(
            f"/console/documents/{document_id}/revisions",
            data=_form(csrf, edits.save(doc)),
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        location = response.headers["Location"]
        assert location == f"/console/documents/{document_id}/versions/2/diff?notice=imported"
        diff = await (await client.get(location)).text()
        assert "第2版与第1版的差异" in diff
        assert "training.participants" in diff and "<ins>1520</ins>" in diff
        assert (
            "<ins>全年未发生一例侵害消费者信息安全权事件，数据安全和客户信息保护机制运行平稳有效。</ins>"
            in diff
        )
        assert "由上传的Word文档" in diff
        assert csrf_of(diff)
    finally:
        await client.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
async def test_the_diff_page_in_a_browser(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    app = await _app(tmp_path)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    try:
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            context = await browser.new_context(
                viewport={"width": 1366, "height": 800}, locale="zh-CN"
            )
            tab = await context.new_page()
            request = context.request
            created = await request.post(
                base + "/v1/documents",
                data=EXAMPLE.read_bytes(),
                headers={"Authorization": f"Bearer {KEY_XIAOKANG}"},
            )
            assert created.status == 201
            body = await created.json()
            downloaded = await (
                await request.get(
                    base + body["links"]["docx"],
                    headers={"Authorization": f"Bearer {KEY_XIAOKANG}"},
                )
            ).body()
            edited = tmp_path / "修改稿.docx"
            doc = edits.open_docx(downloaded)
            paragraph = edits.paragraph_with(doc, "数据安全和客户信息保护机制运行良好")
            edits.replace_in_paragraph(paragraph, "运行良好", "运行平稳有效")
            for run in edits.figure_runs(doc, "training.participants"):
                edits.set_run_text(run, "1520")
            last = edits.heading_block(doc, "特殊群体关爱情况")[-1]
            heading = edits.add_paragraph_after(doc, last, "消保投诉回访情况", "Heading 4")
            edits.add_paragraph_after(
                doc, heading, "全年对已办结投诉开展回访，客户满意度持续提升。"
            )
            edited.write_bytes(edits.save(doc))

            await tab.goto(base + "/console/sign-in")
            await tab.get_by_label("API密钥").fill(KEY_XIAOKANG)
            await tab.get_by_label("API密钥").press("Enter")
            await tab.goto(base + f"/console/documents/{body['id']}")
            await tab.set_input_files("#revision-docx", str(edited))
            await tab.get_by_role("button", name="读回并生成第2版").click()
            expect = playwright_api.expect
            await expect(tab.get_by_role("heading", name="第2版与第1版的差异")).to_be_visible()
            await expect(tab.get_by_text("1520", exact=True)).to_be_visible()
            await tab.evaluate("document.fonts.ready.then(() => true)")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await tab.screenshot(path=str(ARTIFACTS / "diff.png"), full_page=True)
            await browser.close()
    finally:
        await runner.cleanup()
