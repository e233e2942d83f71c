"""The console end to end: Debian's Chromium (driven by Playwright) against the real service on
a free loopback port, with the real pipeline, one warm worker process and a batch runner.

One server and one browser serve the whole module; the tests run in order and build on each
other (sign in → a validation error → generate the example → its page → regenerate → a batch),
then check that another company's key reaches none of it. Every page is saved as a screenshot
under ``test-artifacts/console/``.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from service.api.state import POOL, SETTINGS, STORE
from service.jobs.render import pool_render
from service.jobs.runner import run_worker
from tests.conftest import EXAMPLES, ROOT
from tests.console.conftest import KEY_OTHER, KEY_XIAOKANG, console_app

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts" / "console"
EXAMPLE = EXAMPLES / "xiaokang-life-2023.json"
STEM = "小康人寿-2023-消费者权益保护工作重大信息披露"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@dataclass
class Shared:
    """What the tests of this module hand to each other."""

    base: str
    tmp: Path
    document_id: str | None = None
    batch_id: str | None = None
    screenshots: list[Path] = field(default_factory=list)


async def _batch_runner(app: web.Application) -> AsyncIterator[None]:
    """A batch runner on the app's worker pool, unless the service runs its own."""
    if any(t.get_name() == "pilu-batch-runner" for t in asyncio.all_tasks()):
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(
            app[STORE],
            pool_render(app[POOL], app[SETTINGS].render_timeout_s),
            concurrency=1,
            stop_event=stop,
            poll_interval_s=0.2,
            webhooks=False,
        )
    )
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    tmp = tmp_path_factory.mktemp("console-e2e")
    app = console_app(tmp / "data", backend=None, workers=1)
    app.cleanup_ctx.append(_batch_runner)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):  # this module's; the form's are in a folder of their own
        old.unlink()
    yield Shared(base=f"http://{host}:{port}", tmp=tmp)
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def _context(browser: Any) -> Any:
    return await browser.new_context(
        viewport={"width": 1366, "height": 800}, locale="zh-CN", accept_downloads=True
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(browser: Any) -> AsyncIterator[Any]:
    """The signed-in user's tab (key for xiaokang-life only)."""
    context = await _context(browser)
    tab = await context.new_page()
    yield tab
    await context.close()


async def wait_until(page: Any, condition: str, timeout_s: float = 30.0) -> None:
    """Wait until the JavaScript function ``condition`` returns true in ``page``.

    Not Playwright's ``wait_for_function``: when the condition is not already true it polls
    with ``eval`` inside the page, which the console's Content-Security-Policy (``script-src
    'self'``) forbids, so it fails exactly when there is something to wait for. ``evaluate``
    runs through the DevTools protocol, outside the page's policy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await page.evaluate(condition):
        assert asyncio.get_running_loop().time() < deadline, f"still false: {condition}"
        await asyncio.sleep(0.05)


async def shot(page: Any, shared: Any, name: str, folder: Path = ARTIFACTS) -> None:
    """Save the page under ``folder`` as the next numbered screenshot of ``shared.screenshots``."""
    # Chinese comes from the console's own font here (no CJK system font): wait until it is in.
    await page.evaluate(
        "Promise.all([document.fonts.load('16px PiluHei', '中'),"
        " document.fonts.load('bold 16px PiluHei', '中')]).then(() => document.fonts.ready)"
        ".then(() => true)"
    )
    await wait_until(page, "() => document.documentElement.classList.contains('fonts-ready')")
    path = folder / f"{len(shared.screenshots) + 1:02d}-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shared.screenshots.append(path)


async def test_sign_in(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    await page.goto(shared.base + "/")
    await expect(page).to_have_url(shared.base + "/console/sign-in?next=%2Fconsole%2F")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await shot(page, shared, "sign-in")
    # The skip link is the first thing the keyboard reaches.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "跳到主要内容"

    await page.get_by_label("API密钥").fill("not-a-key")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("API密钥无效")
    await shot(page, shared, "sign-in-wrong-key")

    await page.get_by_label("API密钥").fill(KEY_XIAOKANG)
    await page.get_by_label("API密钥").press("Enter")
    await expect(page).to_have_url(shared.base + "/console/")
    await expect(page.get_by_role("heading", name="文档", exact=True)).to_be_visible()
    await expect(page.locator(".companies")).to_contain_text("xiaokang-life")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["pilu_console"]["httpOnly"] is True
    assert cookies["pilu_console"]["sameSite"] == "Strict"
    await shot(page, shared, "documents-empty")


async def test_validation_error_beside_its_field(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    payload = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    payload["figures"]["complaints"]["regulator"]["closed"] = 4
    payload["figures"]["review"]["total"] = 999
    await page.goto(shared.base + "/console/new")
    await shot(page, shared, "new-document")
    await page.get_by_label("报送数据（JSON）").fill(
        json.dumps(payload, ensure_ascii=False, indent=2)
    )
    await page.get_by_role("button", name="检查数据").click()

    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("报送数据有2处问题")
    row = page.locator('tr[data-path="$.figures.complaints.regulator.closed"]')
    await expect(row).to_have_class("has-error")
    await expect(row.locator("th")).to_contain_text("监管转办投诉 · 已办结件数")
    await expect(row.locator("td.value")).to_have_text("4")
    await expect(row.locator("td.problem")).to_contain_text("已办结4件，多于投诉总数3件")
    review = page.locator('tr[data-path="$.figures.review.total"]')
    await expect(review.locator("td.problem")).to_contain_text(
        "不等于产品审查41次与服务审查194次之和"
    )
    # The summary links to the row, and the error summary has the focus.
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
    await summary.get_by_role("link", name="监管转办投诉 · 已办结件数").click()
    await expect(page).to_have_url(
        shared.base + "/console/new#field-figures-complaints-regulator-closed"
    )
    await shot(page, shared, "new-document-errors")

    # Broken JSON: the message names the line and sits beside the text box.
    await page.get_by_label("报送数据（JSON）").fill('{"company": {"id": "xiaokang-life",}}')
    await page.get_by_role("button", name="检查数据").click()
    await expect(page.locator("#payload-error")).to_contain_text("第1行")
    await expect(page.get_by_label("报送数据（JSON）")).to_have_attribute("aria-invalid", "true")


async def test_generate_the_example_and_download_the_docx(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    await page.goto(shared.base + "/console/new")
    await page.get_by_label("或选择 .json 文件").set_input_files(str(EXAMPLE))
    await page.get_by_role("button", name="检查数据").click()
    await expect(page.get_by_role("heading", name="核对数据")).to_be_visible()
    figures = page.locator("table.figures")
    closed_rate = figures.locator('tr[data-figure="complaints.regulator.closed_rate"]')
    await expect(closed_rate).to_contain_text("监管转办投诉办结率")
    await expect(closed_rate.locator("td.num")).to_have_text("100.00%")
    reach = figures.locator('tr[data-figure="outreach.reach"]')
    await expect(reach.locator("td.num")).to_have_text("59.55万")
    yoy = figures.locator('tr[data-figure="training.yoy"]')
    await expect(yoy).to_contain_text("参训人次同比增长")
    await expect(yoy.locator("td.num")).to_have_text("11.56%")
    await expect(page.locator("table.stat")).to_have_count(7)
    await expect(page.locator("table.stat").first).to_contain_text("表1 监管转办投诉业务渠道分布")
    await shot(page, shared, "preview")

    await page.get_by_role("button", name="生成 PDF 与 Word 文档").first.click()
    await expect(page.locator(".notice.success")).to_contain_text("文档已生成", timeout=60_000)
    await expect(page.get_by_role("heading", level=1)).to_have_text(STEM)
    shared.document_id = page.url.split("/console/documents/")[1].split("?")[0]
    parity = page.locator("section.parity")
    await expect(parity).to_have_attribute("data-parity", "ok")
    await expect(parity.locator(".parity-result.ok")).to_contain_text("一致")
    await expect(parity.locator(".parity-result.ok")).to_contain_text("个标题")
    await shot(page, shared, "generated")

    async with page.expect_download() as info:
        await page.get_by_role("link", name="下载 Word（DOCX）").click()
    download = await info.value
    assert download.suggested_filename == f"{STEM}.docx"
    saved = shared.tmp / "download.docx"
    await download.save_as(saved)
    from docx import Document

    text = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "小康人寿保险有限责任公司" in text
    assert "消费者权益保护" in text
    assert "消保审查235次" in text

    async with page.expect_download() as info:
        await page.get_by_role("link", name="下载 PDF").click()
    pdf = await info.value
    assert pdf.suggested_filename == f"{STEM}.pdf"
    assert Path(await pdf.path()).read_bytes().startswith(b"%PDF-")


async def test_document_page_shows_its_thumbnails(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    assert shared.document_id, "the example was not generated"
    await page.goto(f"{shared.base}/console/documents/{shared.document_id}")
    images = page.locator(".thumbs img")
    await expect(images.first).to_be_visible()
    count = await images.count()
    assert count >= 5
    await wait_until(
        page, "() => [...document.querySelectorAll('.thumbs img')].every(i => i.complete)"
    )
    widths = await images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), widths
    await expect(images.first).to_have_attribute("alt", "第1页缩略图")
    await expect(page.locator("#h-versions + table tbody tr")).to_have_count(1)
    await shot(page, shared, "document")

    await page.get_by_role("button", name="用当前模板重新生成").click()
    await expect(page.locator(".notice.success")).to_contain_text("新版本已存档", timeout=60_000)
    await expect(page.locator(".lead")).to_contain_text("正在查看第2版（共2版）")
    await expect(page.locator("#h-versions + table tbody tr")).to_have_count(2)
    await wait_until(
        page,
        "() => [...document.querySelectorAll('.thumbs img')].every(i => i.complete && i.naturalWidth > 0)",
    )
    await shot(page, shared, "document-regenerated")

    await page.goto(shared.base + "/console/")
    await expect(page.locator("table.data tbody tr")).to_have_count(1)
    await expect(page.locator("table.data tbody tr")).to_contain_text("第2版")
    await shot(page, shared, "documents")


async def test_two_item_batch_runs_to_completion(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    good = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    good["report_year"], good["publish_date"] = 2022, "2023-01-16"
    bad = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bad["figures"]["complaints"]["direct"]["closed"] = 13
    ndjson = shared.tmp / "two.ndjson"
    ndjson.write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in (good, bad)) + "\n", encoding="utf-8"
    )
    await page.goto(shared.base + "/console/batches")
    await shot(page, shared, "batches")
    await page.get_by_label("批量文件", exact=True).set_input_files(str(ndjson))
    await page.get_by_role("button", name="上传并开始生成").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("批次")
    shared.batch_id = page.url.rsplit("/", 1)[1]
    await shot(page, shared, "batch-running")
    # The page follows the batch by itself and reloads once it is finished.
    await expect(page.locator("[data-batch-state]")).to_have_attribute(
        "data-batch-state", "finished", timeout=90_000
    )
    await expect(page.locator("[data-field=state_name]")).to_have_text("已结束")
    await expect(page.locator("#h-failed")).to_contain_text("失败的项目（1项）", timeout=10_000)
    failed = page.locator("#item-1")
    await expect(failed).to_contain_text("第2项 · 第2行")
    await expect(failed).to_contain_text("公司自收投诉 · 已办结件数")
    await expect(failed).to_contain_text("已办结13件，多于投诉总数12件")
    await expect(page.locator('tr[data-item="0"]')).to_contain_text("已完成")
    await shot(page, shared, "batch-finished")

    async with page.expect_download() as info:
        await page.get_by_role("link", name="下载压缩包（ZIP）").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(await (await info.value).path()).read_bytes()))
    names = archive.namelist()
    assert "小康人寿-2022-消费者权益保护工作重大信息披露.pdf" in names
    assert "小康人寿-2022-消费者权益保护工作重大信息披露.docx" in names
    manifest = json.loads(archive.read("manifest.json"))
    assert [i["state"] for i in manifest["items"]] == ["done", "failed"]

    await page.goto(shared.base + "/console/batches")
    await expect(page.locator("table.data tbody tr").first).to_contain_text("已结束")


async def test_another_company_reaches_nothing(browser: Any, shared: Shared) -> None:
    """A key for another company: every console route with xiaokang's ids is 404, never a file."""
    expect = playwright_api.expect
    assert shared.document_id and shared.batch_id
    context = await _context(browser)
    try:
        tab = await context.new_page()
        await tab.goto(shared.base + "/console/sign-in")
        await tab.get_by_label("API密钥").fill(KEY_OTHER)
        await tab.get_by_role("button", name="登录").click()
        await expect(tab.locator(".companies")).to_contain_text("other-co")
        await expect(tab.locator("table.data tbody tr")).to_have_text(
            "没有符合条件的文档。新建文档"
        )
        await tab.goto(shared.base + "/console/?company=xiaokang-life")
        await expect(tab.locator("table.data tbody td.empty")).to_be_visible()
        await tab.goto(shared.base + "/console/batches")
        await expect(tab.locator("table.data tbody td.empty")).to_have_text("还没有批次。")

        doc, batch = shared.document_id, shared.batch_id
        paths = [
            f"/console/documents/{doc}",
            f"/console/documents/{doc}?version=1",
            f"/console/documents/{doc}/versions/1/pdf",
            f"/console/documents/{doc}/versions/1/docx",
            f"/console/documents/{doc}/versions/2/pdf",
            f"/console/documents/{doc}/versions/1/pages/1.png",
            f"/console/batches/{batch}",
            f"/console/batches/{batch}/status",
            f"/console/batches/{batch}/events",
            f"/console/batches/{batch}/archive",
        ]
        for path in paths:
            response = await tab.request.get(shared.base + path)
            body = await response.body()
            assert response.status == 404, (path, response.status)
            assert not body.startswith((b"%PDF", b"PK", b"\x89PNG")), path
            assert "xiaokang" not in body.decode("utf-8", "replace"), path
        # Regenerating someone else's document, with this session's own valid token.
        home = await tab.goto(shared.base + "/console/new")
        assert home is not None
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        response = await tab.request.post(
            f"{shared.base}/console/documents/{doc}/regenerate",
            form={"csrf": token or "", "nonce": "abcdefgh12"},
        )
        assert response.status == 404
        await tab.goto(f"{shared.base}/console/documents/{doc}")
        await expect(tab.get_by_role("heading", level=1)).to_have_text("未找到")
        await shot(tab, shared, "other-company-not-found")
    finally:
        await context.close()
    assert len(shared.screenshots) == 14
    assert all(path.stat().st_size > 0 for path in shared.screenshots), "every page was saved"
