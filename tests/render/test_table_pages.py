"""A table across pages: never started at a page foot with fewer than two body rows, its header
row repeated on the next page under its caption as 续表N (read back as word boxes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.model import Document
from service.pipeline import build
from service.render.pdf import render_pdf
from service.render.pdf.continued import continued_caption
from service.style import load_house_style
from tests.conftest import EXAMPLES
from tests.render import pdf_reading as rd
from tests.render.pdf_conformance import reading_order
from tests.render.test_unbreakable_text import text_block

ROWS = ("机动车辆保险", "健康险", "企业财产保险", "总计")


PUSHED_LINES = range(8, 14)
"""Lines of text before the table that bring its first rows to the foot of page 1."""


def pushed_down_document(lines: int) -> Document:
    """The 恒泰财险 example with ``lines`` lines of text before its table."""
    payload: dict[str, Any] = json.loads(
        (EXAMPLES / "hengtai-property-notes-2023.json").read_text("utf-8")
    )
    payload["sections"][0]["content"].insert(1, "公" * (28 * lines - 2))
    _, document = build(payload)
    return document


def pushed_down(lines: int) -> bytes:
    document = pushed_down_document(lines)
    return render_pdf(document, load_house_style(document.meta.house_style))


@pytest.mark.parametrize("lines", PUSHED_LINES)
def test_a_table_never_starts_with_one_row_at_the_page_foot(lines: int) -> None:
    words = rd.words(pushed_down(lines))
    first_page_rows = [w.text for w in words if w.page == 1 and w.text in ROWS]
    assert len(first_page_rows) != 1, first_page_rows


def test_the_header_row_repeats_on_the_next_page() -> None:
    _, document = build((EXAMPLES / "zhongan-life-regions-2024.json").read_bytes())
    pdf = render_pdf(document, load_house_style(document.meta.house_style))
    header_pages = [w.page for w in rd.words(pdf) if w.text == "上年件数"]
    assert header_pages == sorted(set(header_pages)) and len(header_pages) >= 2


def test_the_caption_repeats_as_continued_above_the_header_on_the_next_pages() -> None:
    _, document = build((EXAMPLES / "zhongan-life-regions-2024.json").read_bytes())
    style = load_house_style(document.meta.house_style)
    pdf = render_pdf(document, style)
    (table,) = document.tables
    continued = continued_caption(table.caption)
    lines = rd.lines(pdf)
    captions = [(b.page, b.text.replace(" ", "")) for b in lines if "表1" in b.text]
    pages = sorted({b.page for b in lines if b.text.replace(" ", "").startswith("地区")})
    assert len(pages) >= 2
    assert captions == [(pages[0], table.caption.replace(" ", ""))] + [
        (page, continued.replace(" ", "")) for page in pages[1:]
    ]
    left, right = text_block(style)
    for page in pages[1:]:
        on_page = [b for b in lines if b.page == page]
        caption = next(b for b in on_page if b.text.replace(" ", "") == continued.replace(" ", ""))
        header = next(b for b in on_page if b.text.replace(" ", "").startswith("地区"))
        assert on_page[0] is caption, "the first line of the page"
        assert 0 < header.y0 - caption.y1 < 2 * style.line_pitch_of("caption")
        assert abs((caption.x0 + caption.x1) / 2 - (left + right) / 2) < 1, "centred"


def test_the_continued_caption_is_not_read_twice() -> None:
    """The tagged PDF reads the caption once, inside the one table (the 续表 line is a repeat)."""
    _, document = build((EXAMPLES / "zhongan-life-regions-2024.json").read_bytes())
    pdf = render_pdf(document, load_house_style(document.meta.house_style))
    tree = reading_order(pdf)
    assert [t for _, kind, t in tree if kind == "Caption"] == [document.tables[0].caption]
    assert not [t for _, _, t in tree if "续表" in t]
