"""Text with no break opportunity (a hash, a long number, a URL, a long Latin word) in a
paragraph, a heading, a name or a cell wraps inside the text block of the PDF and inside its
cell, and nothing of it is lost: read back as word boxes (``pdftotext -bbox``)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from service.model import Document
from service.model.document import Table
from service.payload.schema import TableRowSpec
from service.pipeline import build
from service.render.pdf import render_pdf
from service.render.pdf.html import table_column_widths_pt
from service.style import HouseStyle, load_house_style
from service.style.house_style import MM_PER_PT
from tests.conftest import EXAMPLE_FILES
from tests.render import pdf_reading as rd
from tests.render import table_cells as tc

HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NUMBER = "1234567890" * 6
URL = "https://disclosure.example.com/consumer-protection/" + "annual-report-" * 5
WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
LONG_LABEL = "其他人身保险产品（含团体意外伤害保险、团体短期健康保险及其附加险种）" * 2


def label_limit() -> int:
    """The schema's longest row label (characters)."""
    (limit,) = [m.max_length for m in TableRowSpec.model_fields["label"].metadata]
    assert isinstance(limit, int)
    return limit


LIMIT = label_limit()
LONGEST_LABEL = (LONG_LABEL * 3)[:LIMIT]
LONGEST_NUMBER = ("1234567890" * 21)[:LIMIT]
TOLERANCE_PT = 1.0
"""A word box ends after the last glyph's advance (and its letter spacing)."""


def hostile(example: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(example)
    payload["company"]["full_name"] = "小康人寿保险有限责任公司" + WORD
    payload["intro"] = [f"文件摘要{HASH}，编号{NUMBER}，网址{URL}，术语{WORD}。"]
    payload["sections"][0]["title"] = f"编号{NUMBER}的说明"
    payload["sections"][0]["content"] = [
        {"table": {
            "title": "投诉险种分布", "label_title": "险种",
            "columns": [{"key": "n", "title": "件数", "type": "count"},
                        {"key": "s", "title": "占比", "type": "share", "of": "n"}],
            "rows": [{"label": HASH, "values": {"n": 12003}},
                     {"label": LONG_LABEL[:54], "values": {"n": 7}},
                     {"label": WORD, "values": {"n": 5}},
                     {"label": LONGEST_LABEL, "values": {"n": 3}},
                     {"label": LONGEST_NUMBER, "values": {"n": 2}}],
            "total": {"label": "合计"},
        }}
    ]  # fmt: skip
    return payload


def text_block(style: HouseStyle) -> tuple[float, float]:
    left = style.page.margin_left_mm / MM_PER_PT
    return left, left + style.page.text_width_mm / MM_PER_PT


def column_edges(table: Table, style: HouseStyle) -> list[float]:
    """The PDF's column edges of ``table`` in pt from the page's left."""
    left, _ = text_block(style)
    edges = [left]
    for width in table_column_widths_pt(table, style):
        edges.append(edges[-1] + width)
    return edges


def assert_inside_the_text_block(pdf: bytes, style: HouseStyle) -> None:
    left, right = text_block(style)
    for box in rd.words(pdf):
        assert box.x0 >= left - TOLERANCE_PT and box.x1 <= right + TOLERANCE_PT, box


@pytest.fixture(scope="module")
def rendered() -> tuple[Document, HouseStyle, bytes]:
    import json

    from tests.conftest import EXAMPLES

    example = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text("utf-8"))
    _, document = build(hostile(example))
    style = load_house_style(document.meta.house_style)
    return document, style, render_pdf(document, style)


def test_nothing_crosses_the_text_block(rendered: tuple[Document, HouseStyle, bytes]) -> None:
    _, style, pdf = rendered
    assert_inside_the_text_block(pdf, style)


@pytest.mark.parametrize("piece", [HASH, NUMBER, URL, WORD, "12,003"])
def test_nothing_is_lost(rendered: tuple[Document, HouseStyle, bytes], piece: str) -> None:
    _, _, pdf = rendered
    flat = re.sub(r"\s+", "", re.sub(r"—\s*\d+\s*—", "", rd.text(pdf)))
    # pdftotext drops a hyphen that ends a line (consumer-|protection), so hyphens are not compared
    assert piece.replace("-", "") in flat.replace("-", "")


def test_cells_wrap_inside_their_column(rendered: tuple[Document, HouseStyle, bytes]) -> None:
    """The pieces of the hash and the long word stay in the first column; 12,003 stays whole,
    inside the 件数 column."""
    document, style, pdf = rendered
    (table,) = [t for t in document.tables if t.caption.endswith("投诉险种分布")]
    edges = column_edges(table, style)
    boxes = rd.words(pdf)
    pieces = [b for b in boxes if len(b.text) >= 6 and (b.text in HASH or b.text in WORD)]
    assert pieces
    intro_page = min(b.page for b in boxes if "文件摘要" in b.text)
    for box in pieces:
        inside = edges[0] - TOLERANCE_PT <= box.x0 and box.x1 <= edges[1] + TOLERANCE_PT
        in_prose = box.page == intro_page and box.x1 - box.x0 > edges[1] - edges[0]
        assert inside or in_prose, box
    (count,) = [b for b in boxes if b.text == "12,003"]
    assert edges[1] - TOLERANCE_PT <= count.x0 and count.x1 <= edges[2] + TOLERANCE_PT


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_stays_inside_the_text_block(path: Any) -> None:
    _, document = build(path.read_bytes())
    style = load_house_style(document.meta.house_style)
    assert_inside_the_text_block(render_pdf(document, style), style)


def test_the_hostile_table_reads_cell_by_cell(rendered: tuple[Document, HouseStyle, bytes]) -> None:
    """Every cell, the longest labels the schema allows too, reads back whole in its column."""
    document, style, pdf = rendered
    (table,) = [t for t in document.tables if t.caption.endswith("投诉险种分布")]
    edges = column_edges(table, style)
    bottom = (style.page.height_mm - style.page.margin_bottom_mm) / MM_PER_PT
    read = tc.read_table(rd.words(pdf), edges, table, bottom=bottom)
    assert read.rows == tc.model_rows(table)
    for column, word in read.words:
        assert (
            edges[column] - TOLERANCE_PT <= word.x0 and word.x1 <= edges[column + 1] + TOLERANCE_PT
        )
