"""A table across pages: never started at a page foot with fewer than two body rows, its header
row repeated on the next page (read back as word boxes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.pipeline import build
from service.render.pdf import render_pdf
from service.style import load_house_style
from tests.conftest import EXAMPLES
from tests.render import pdf_reading as rd

ROWS = ("机动车辆保险", "健康险", "企业财产保险", "总计")


def pushed_down(lines: int) -> bytes:
    """The 恒泰财险 example with ``lines`` lines of text before its table."""
    payload: dict[str, Any] = json.loads(
        (EXAMPLES / "hengtai-property-notes-2023.json").read_text("utf-8")
    )
    payload["sections"][0]["content"].insert(1, "公" * (28 * lines - 2))
    _, document = build(payload)
    return render_pdf(document, load_house_style(document.meta.house_style))


@pytest.mark.parametrize("lines", range(8, 14))
def test_a_table_never_starts_with_one_row_at_the_page_foot(lines: int) -> None:
    words = rd.words(pushed_down(lines))
    first_page_rows = [w.text for w in words if w.page == 1 and w.text in ROWS]
    assert len(first_page_rows) != 1, first_page_rows


def test_the_header_row_repeats_on_the_next_page() -> None:
    _, document = build((EXAMPLES / "zhongan-life-regions-2024.json").read_bytes())
    pdf = render_pdf(document, load_house_style(document.meta.house_style))
    header_pages = [w.page for w in rd.words(pdf) if w.text == "上年件数"]
    assert header_pages == sorted(set(header_pages)) and len(header_pages) >= 2
