"""The new-document form end to end: Debian's Chromium (Playwright) against the real service on a
loopback port, the real pipeline in-process.

The tests run in order on one server and one signed-in tab: a disclosure made from nothing
through the form (keyboard only for the ladder), a wrong cell shown at its cell, a table pasted
from a spreadsheet, a draft saved and resumed, the preview's PDF pages, generating. Every page is
saved under ``test-artifacts/console/form/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from tests.console.conftest import KEY_XIAOKANG, console_app
from tests.console.test_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, shot, wait_until

playwright_api = pytest.importorskip("playwright.async_api")

FOLDER = ARTIFACTS / "form"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@dataclass
class Shared:
    base: str
    screenshots: list[Path] = field(default_factory=list)
    draft_url: str = ""
    document_url: str = ""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    tmp = tmp_path_factory.mktemp("console-form-e2e")
    app = console_app(tmp / "data", backend=None, workers=0)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    FOLDER.mkdir(parents=True, exist_ok=True)
    for old in FOLDER.glob("*.png"):
        old.unlink()
    yield Shared(base=f"http://{host}:{port}")
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(shared: Shared) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        tab = await context.new_page()
        await tab.goto(shared.base + "/console/sign-in")
        await tab.get_by_label("API密钥").fill(KEY_XIAOKANG)
        await tab.get_by_role("button", name="登录").click()
        await playwright_api.expect(tab.get_by_role("heading", level=1)).to_have_text("文档")
        yield tab
        await browser.close()


async def snap(page: Any, shared: Shared, name: str, part: Any = None) -> None:
    """The whole page; and with ``part`` (a locator) that part alone, to be read at full size."""
    await shot(page, shared, name, FOLDER)
    if part is not None:
        path = FOLDER / f"{len(shared.screenshots):02d}-{name}-detail.png"
        await part.screenshot(path=str(path))


async def _form_ready(page: Any) -> None:
    await page.wait_for_selector(".f-root")
    await _settled(page)


async def _settled(page: Any) -> None:
    """The live check answered the latest change."""
    await page.wait_for_timeout(500)
    await wait_until(
        page, "() => !document.getElementById('form-editor').hasAttribute('aria-busy')"
    )


def _id(path: str) -> str:
    """The id form.js gives the control of ``path``, less its leading ``f``."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", path)


def _payload(text: str) -> Any:
    return json.loads(text)


async def test_a_disclosure_from_nothing_through_the_form(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    await page.goto(shared.base + "/console/new")
    await _form_ready(page)
    # The key has one company: the form starts with it; the rest is typed in.
    await expect(page.get_by_label("公司标识")).to_have_value("xiaokang-life")
    await page.get_by_label("公司全称").fill("小康人寿保险有限责任公司")
    await page.get_by_label("公司简称").fill("小康人寿")
    await page.get_by_label("报告年度").fill("2024")
    await page.get_by_label("发布日期").fill("2025-01-10")
    await _settled(page)
    # Errors come from the API, in Chinese, beside their field: no sections yet is fine, but a
    # year out of range is named where it was typed.
    await page.get_by_label("报告年度").fill("1999")
    await _settled(page)
    year = page.locator('.f-field[data-path="$.report_year"]')
    await expect(year.locator(".error-message")).to_be_visible()
    await expect(page.get_by_label("报告年度")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("报告年度").fill("2024")
    await _settled(page)
    await expect(year.locator(".error-message")).to_have_count(0)

    # Figures with their units and limits, from the schema and the figures registry.
    await page.get_by_role("button", name="填写「消保审查」").click()
    await expect(page.get_by_label("涉及产品审查次数")).to_be_focused()
    await page.get_by_label("涉及产品审查次数").fill("41")
    await page.get_by_label("涉及服务审查次数").fill("194")
    await page.get_by_role("button", name="填写「消保培训」").click()
    await page.get_by_label("参训人次", exact=True).fill("1000")
    await page.get_by_label("培训覆盖率（%）").fill("100")
    review = page.locator('.f-field[data-path="$.figures.review.product"]')
    await expect(review.locator(".hint")).to_contain_text("范围 0–100000000")
    await expect(review.locator(".unit")).to_have_text("次")

    # The ladder: two sections, the numbers as they will print (一、 二、), moved and renamed.
    await page.get_by_role("button", name="添加章节").click()
    first = page.locator('input[id="f--sections-0--title"]')
    await expect(first).to_be_focused()
    await first.fill("消保工作概况")
    await page.get_by_role("button", name="添加章节").click()
    await page.locator('input[id="f--sections-1--title"]').fill("消保审查")
    await _settled(page)
    numbers = page.locator(".f-sections.depth-1 > ol > li > .section-head .heading-number")
    await expect(numbers).to_have_text(["一、", "二、"])
    await page.get_by_role("button", name="上移章节「消保审查」").click()
    await _settled(page)
    titles = page.locator(".f-sections.depth-1 > ol > li > .section-head input")
    await expect(titles.nth(0)).to_have_value("消保审查")
    await expect(titles.nth(1)).to_have_value("消保工作概况")
    await expect(titles.nth(0)).to_be_focused()  # the focus moves with the section
    # A paragraph quoting a figure offered by name, with its printed value.
    await page.get_by_role("button", name="添加段落").first.click()
    paragraph = page.locator("textarea.paragraph").first
    await expect(paragraph).to_be_focused()
    await paragraph.fill("本年度开展消保审查")
    picker = page.get_by_label("第1段：选择要引用的数据").first
    await expect(picker.locator('option[data-figure="review.total"]')).to_have_text(
        "消保审查合计次数：235"
    )
    await picker.select_option("review.total")
    await page.get_by_role("button", name="第1段：在光标处插入所选数据的引用").first.click()
    await expect(paragraph).to_have_value("本年度开展消保审查{review.total}")
    await paragraph.press("End")
    await paragraph.type("。")
    await _settled(page)
    await expect(page.locator("#form-errors")).to_have_class("form-check ok")
    # The JSON box is the same payload, the other way too.
    payload = _payload(await page.get_by_label("报送数据（JSON）").input_value())
    assert payload["sections"][0]["title"] == "消保审查"
    assert payload["sections"][0]["content"] == ["本年度开展消保审查{review.total}。"]
    payload["sections"][1]["title"] = "消保工作总体情况"
    await page.get_by_label("报送数据（JSON）").fill(json.dumps(payload, ensure_ascii=False))
    await expect(page.locator('input[id="f--sections-1--title"]')).to_have_value("消保工作总体情况")
    await snap(page, shared, "form-filled")

    await page.get_by_role("button", name="检查并预览").click()
    await expect(page.get_by_role("heading", name="核对数据")).to_be_visible()
    await expect(page.locator("ul.outline")).to_contain_text("一、消保审查")
    # The PDF's pages before generating.
    thumbs = page.locator(".preview-pages img")
    await expect(thumbs.first).to_be_visible(timeout=60_000)
    await wait_until(
        page,
        "() => [...document.querySelectorAll('.preview-pages img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
    )
    await expect(page.locator("[data-pages-status]")).to_contain_text("页")
    await snap(page, shared, "preview-with-pages")
    await page.get_by_role("button", name="生成 PDF 与 Word 文档").first.click()
    await expect(page.locator(".notice.success")).to_contain_text("文档已生成", timeout=60_000)
    await expect(page.locator(".lead")).to_contain_text("小康人寿")
    await expect(page.locator(".thumbs img").first).to_be_visible()
    await snap(page, shared, "generated-from-the-form")
    shared.document_url = page.url.split("?")[0]


async def test_next_years_disclosure_from_last_years(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    await page.goto(shared.base + "/console/")
    await page.get_by_role("link", name="做下一年度").first.click()
    await _form_ready(page)
    await expect(page.get_by_label("报告年度")).to_have_value("2025")
    await expect(page.locator("#json-status")).to_contain_text("已从上一年度的文档生成草稿")
    # Narrative carried over; figures empty with last year's value beside each.
    await expect(page.locator('input[id="f--sections-0--title"]')).to_have_value("消保审查")
    product = page.locator('.f-field[data-path="$.figures.review.product"]')
    await expect(page.get_by_label("涉及产品审查次数")).to_have_value("")
    await expect(product.locator(".previous")).to_have_text("上年：41")
    participants = page.locator('.f-field[data-path="$.figures.training.participants"]')
    await expect(participants.locator(".previous")).to_have_text("上年：1000")
    await page.get_by_label("涉及产品审查次数").fill("50")
    await page.get_by_label("涉及服务审查次数").fill("200")
    await page.get_by_label("参训人次", exact=True).fill("1100")
    await page.get_by_label("培训覆盖率（%）").fill("100")
    await page.get_by_label("发布日期").fill("2026-01-09")
    await _settled(page)
    # 同比 the payload leaves out: computed from last year's stored figure, offered to fill in.
    yoy = page.locator('.f-field[data-path="$.figures.training.yoy"]')
    await expect(yoy.locator(".computed-offer")).to_contain_text("按上年存档计算：10.00")
    await snap(page, shared, "next-year-draft", page.locator("#fp-figures").locator(".."))
    await yoy.get_by_role("button", name="填入按上年存档计算的值 10.00").click()
    await _settled(page)
    await expect(page.get_by_label("参训人次同比增长（%）")).to_have_value("10.00")
    # A 同比 that disagrees with last year's stored figures is named beside it.
    await page.get_by_label("参训人次同比增长（%）").fill("12")
    await _settled(page)
    await expect(yoy.locator(".error-message")).to_contain_text("与上年存档数据不符")
    await page.get_by_label("参训人次同比增长（%）").fill("10.00")
    await _settled(page)
    await expect(page.locator("#form-errors")).to_have_class("form-check ok")
    await page.get_by_role("button", name="检查并预览").click()
    await expect(page.get_by_role("heading", name="核对数据")).to_be_visible()
    await expect(page.locator('tr[data-figure="training.yoy"] td.num')).to_have_text("10.00%")
    await page.get_by_role("button", name="生成 PDF 与 Word 文档").first.click()
    await expect(page.locator(".notice.success")).to_contain_text("文档已生成", timeout=60_000)
    await expect(page.locator(".lead")).to_contain_text("2025年度")
    await snap(page, shared, "generated-from-last-year")


async def test_a_wrong_cell_is_shown_at_the_cell(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    example = json.loads(
        (Path(__file__).parents[2] / "examples" / "xiaokang-life-2023.json").read_text("utf-8")
    )
    await page.goto(shared.base + "/console/new")
    await _form_ready(page)
    await page.get_by_label("报送数据（JSON）").fill(json.dumps(example, ensure_ascii=False))
    await _settled(page)
    grid = page.locator('table[data-grid="$.figures.complaints.direct.breakdowns[1]"]')
    # Totals and shares as they will print, computed by the server.
    await expect(grid.locator("tfoot tr")).to_contain_text("合计")
    await expect(grid.locator("tfoot tr")).to_contain_text("12")
    first = grid.locator("tbody tr").first
    await expect(first.locator("td.computed")).to_have_text("58.33%")
    cell = page.locator('[id="f--figures-complaints-direct-breakdowns-1--rows-0--count"]')
    await cell.fill("八")
    await _settled(page)
    td = grid.locator('td[data-path="$.figures.complaints.direct.breakdowns[1].rows[0].count"]')
    await expect(td.locator(".error-message")).to_be_visible()
    await expect(cell).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#form-errors")).to_contain_text(
        "公司自收投诉 · 业务渠道分布表 · 第1行「经代」 · 件数"
    )
    await snap(page, shared, "wrong-cell", grid.locator("xpath=ancestor::fieldset[1]"))
    await cell.fill("8")
    await _settled(page)
    await expect(first.locator("td.computed")).to_have_text("61.54%")
    await expect(grid.locator("tfoot tr")).to_contain_text("13")
    # 8 + 4 + 1 is no longer the source's 12: the rule's message is beside the table.
    await expect(page.locator("#form-errors")).not_to_have_class("form-check ok")


async def test_a_table_pasted_from_a_spreadsheet(page: Any, shared: Shared, tmp_path: Path) -> None:
    expect = playwright_api.expect
    grid_path = "$.figures.complaints.direct.breakdowns[1]"
    block = page.locator(f'fieldset[data-path="{grid_path}"]')
    await block.locator("summary", has_text="从电子表格导入各行").click()
    await block.get_by_label("粘贴单元格（制表符分隔）").fill(
        "业务渠道\t件数\n经代\t7\n互联网\t4\n个险\t1\n"
    )
    await block.get_by_role("button", name="导入粘贴的单元格").click()
    grid = page.locator(f'table[data-grid="{grid_path}"]')
    await expect(grid.locator("tbody tr")).to_have_count(3)
    await _settled(page)
    await expect(grid.locator("tbody tr td.computed")).to_have_text(["58.33%", "33.33%", "8.33%"])
    await expect(grid.locator("tfoot tr")).to_contain_text("12")
    await expect(page.locator("#form-errors")).to_have_class("form-check ok")
    # Rows and 其中 rows added in the grid: the 合计 and every share follow, as printed.
    await block.get_by_role("button", name="在表格末尾添加一行").click()
    await expect(page.locator(f'[id="f{_id(grid_path)}-rows-3--label"]')).to_be_focused()
    await page.keyboard.type("银保")
    await page.keyboard.press("Tab")
    await page.keyboard.type("1")
    await _settled(page)
    await expect(grid.locator("tfoot tr")).to_contain_text("13")
    await expect(grid.locator("tbody tr td.computed").first).to_have_text("53.85%")
    await block.get_by_role("button", name="为「经代」添加其中行").click()
    await page.keyboard.type("线上")
    await page.keyboard.press("Tab")
    await page.keyboard.type("7")
    await _settled(page)
    sub = grid.locator("tbody tr.sub")
    await expect(sub.locator("td.computed")).to_have_text("53.85%")
    await expect(sub.locator("th")).to_contain_text("其中：")
    await block.get_by_role("button", name="删除行「银保」").click()
    await _settled(page)
    await expect(grid.locator("tfoot tr")).to_contain_text("12")
    # A bad cell is named by its row and column, and marked at its cell.
    await block.get_by_label("粘贴单元格（制表符分隔）").fill(
        "业务渠道\t件数\n经代\t7\n互联网\t四\n个险\t1\n"
    )
    await block.get_by_role("button", name="导入粘贴的单元格").click()
    note = block.locator(".import-result")
    await expect(note).to_contain_text("第3行")
    await expect(note).to_contain_text("件数")
    td = grid.locator(f'td[data-path="{grid_path}.rows[1].count"]')
    await expect(td.locator(".import-error")).to_be_visible()
    await snap(page, shared, "pasted-table-with-a-bad-cell", block)
    # The same rows from an uploaded .csv (as WPS saves one: GB18030).
    sheet = tmp_path / "渠道.csv"
    sheet.write_bytes("业务渠道,件数\r\n经代,7\r\n互联网,4\r\n个险,1\r\n".encode("gb18030"))
    await block.get_by_label("或上传 .xlsx / .csv 文件").set_input_files(str(sheet))
    await block.get_by_role("button", name="导入文件").click()
    await expect(note).to_contain_text("已导入3行。")
    await _settled(page)
    await expect(grid.locator("tbody tr td.computed")).to_have_text(["58.33%", "33.33%", "8.33%"])
    await expect(td.locator(".import-error")).to_have_count(0)


async def test_a_draft_saved_and_resumed(page: Any, shared: Shared) -> None:
    expect = playwright_api.expect
    cell = page.locator('[id="f--figures-complaints-direct-breakdowns-1--rows-1--count"]')
    await cell.fill("4")
    await page.get_by_label("报告年度").fill("2025")
    await page.get_by_label("发布日期").fill("2026-01-12")
    await page.get_by_role("button", name="保存草稿").click()
    await expect(page.locator("#draft-status")).to_contain_text("草稿已保存")
    assert "/console/new?draft=" in page.url
    await page.goto(shared.base + "/console/")
    row = page.locator("table.drafts tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("小康人寿 · 2025年度 · 消费者权益保护工作重大信息披露")
    await expect(row).to_contain_text("小康合规部")
    await snap(page, shared, "documents-with-a-draft")
    await row.get_by_role("link", name="继续编辑").click()
    await _form_ready(page)
    await expect(page.get_by_label("报告年度")).to_have_value("2025")
    await expect(
        page.locator('[id="f--figures-complaints-direct-breakdowns-1--rows-1--count"]')
    ).to_have_value("4")
    await expect(page.locator("#draft-status")).to_contain_text("正在编辑已保存的草稿")
    await page.get_by_role("button", name="检查并预览").click()
    await expect(page.get_by_role("heading", name="核对数据")).to_be_visible()
    await page.get_by_role("button", name="生成 PDF 与 Word 文档").first.click()
    await expect(page.locator(".notice.success")).to_contain_text("文档已生成", timeout=60_000)
    # Generated: the draft is gone from the list, the document is there by the company's name.
    await page.goto(shared.base + "/console/")
    await expect(page.locator("table.drafts")).to_have_count(0)
    await expect(page.locator("table.data tbody tr").first).to_contain_text("小康人寿")
    await snap(page, shared, "documents-after-the-draft")


async def test_keyboard_only(page: Any, shared: Shared) -> None:
    """Tab to the form's buttons and press them: add a section, name it, add a paragraph."""
    expect = playwright_api.expect
    await page.goto(shared.base + "/console/new")
    await _form_ready(page)
    add = page.get_by_role("button", name="添加章节")
    # Walk the focus order with Tab alone until the button is reached.
    for _ in range(200):
        await page.keyboard.press("Tab")
        if await add.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("添加章节 is not reachable with Tab")
    await page.keyboard.press("Enter")
    title = page.locator('input[id="f--sections-0--title"]')
    await expect(title).to_be_focused()
    await page.keyboard.type("消保工作")
    await _settled(page)
    await expect(page.locator('[data-heading-for="$.sections[0]"]')).to_have_text("一、")
    # On to 添加段落 of this section with Tab, press it with the space bar.
    paragraph_button = page.get_by_role("button", name="添加段落").first
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await paragraph_button.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("添加段落 is not reachable with Tab")
    await page.keyboard.press("Space")
    await expect(page.locator("textarea.paragraph").first).to_be_focused()
    await page.keyboard.type("全年开展消保工作。")
    payload = _payload(await page.get_by_label("报送数据（JSON）").input_value())
    assert payload["sections"] == [{"title": "消保工作", "content": ["全年开展消保工作。"]}]
    # Every control of the form has a name a screen reader reads.
    unnamed = await page.evaluate(
        """() => [...document.querySelectorAll('#form-editor :is(input, select, textarea, button)')]
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                        && !(e.tagName === 'BUTTON' && e.textContent.trim()))
           .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    await snap(page, shared, "keyboard-only")
