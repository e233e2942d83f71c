"""Parity of the DOCX and PDF writers over hand-built documents and every example payload."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from service.model import Document
from service.render.docx import render_docx
from service.render.parity import (
    DocxItem,
    W,
    _format_number,
    compare_docx_pdf,
    compare_items,
    normalise,
    read_docx,
)
from service.style import load_house_style
from tests.conftest import EXAMPLE_FILES
from tests.render import docx_fixtures as fx
from tests.render.docx_fixtures import warm_docx_fonts  # noqa: F401  (session fixture)

pytestmark = pytest.mark.usefixtures("warm_docx_fonts")

FIXTURES = {
    "sample-from-1": fx.sample_document,
    "sample-from-2": lambda: fx.sample_document(2),
    "numbering-1-120": fx.numbering_document,
    "long": fx.long_document,
}


def _example(path: Path) -> Document:
    from service.kinds import parse_payload
    from service.report import build_document

    return build_document(parse_payload(path.read_bytes()))


def _both(document: Document) -> tuple[bytes, bytes]:
    from service.render.pdf import render_pdf

    style = load_house_style(document.meta.house_style)
    return render_docx(document, style), render_pdf(document, style)


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_writers_agree_on_fixtures(name: str) -> None:
    document = FIXTURES[name]()
    docx, pdf = _both(document)
    report = compare_docx_pdf(docx, pdf)
    assert report.ok, str(report)
    assert [h.printed for h in report.headings] == [h.full_text for h in document.headings]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_writers_agree_on_examples(path: Path) -> None:
    document = _example(path)
    docx, pdf = _both(document)
    report = compare_docx_pdf(
        docx, pdf, page_number_format=load_house_style(document.meta.house_style).page_number.format
    )
    assert report.ok, str(report)
    assert [h.printed for h in report.headings] == [h.full_text for h in document.headings]
    rows = [i.cells for i in report.items if i.kind in ("row", "header_row")]
    expected = [
        c
        for t in document.tables
        for c in ((*(col.title for col in t.columns),), *(r.cells for r in t.rows))
    ]
    assert rows == expected


# --- the comparison itself ------------------------------------------------------------------


ITEMS = (
    DocxItem("title", "标题"),
    DocxItem("heading", "消费者权益保护重大信息", "（一）", 2),
    DocxItem("paragraph", "公司2023年开展消保审查235次。"),
    DocxItem("caption", "表1 渠道分布"),
    DocxItem("header_row", "渠道件数", cells=("渠道", "件数")),
    DocxItem("row", "经代2", cells=("经代", "2")),
    DocxItem("row", "合计2", cells=("合计", "2")),
)
GOOD = "标题（一）消费者权益保护重大信息公司2023年开展消保审查235次。表1渠道分布渠道件数经代2合计2"


def test_identical_text_agrees() -> None:
    assert compare_items(ITEMS, GOOD).ok


def test_repeated_header_row_is_not_a_difference() -> None:
    assert compare_items(ITEMS, GOOD.replace("经代2", "经代2渠道件数")).ok


@pytest.mark.parametrize(
    "pdf, kind, where",
    [
        (GOOD.replace("（一）", "（二）"), "heading_label", "（一）消费者权益保护重大信息"),
        (GOOD.replace("（一）", "(一)"), "heading_label", "（一）消费者权益保护重大信息"),
        (GOOD.replace("235", "253"), "changed", "公司2023年开展消保审查235次。"),
        (GOOD.replace("经代2", "经代3"), "changed", "经代 | 2"),
        (GOOD.replace("开展", ""), "missing", "公司2023年开展消保审查235次。"),
        (GOOD + "附件", "extra", "合计 | 2"),
    ],
    ids=["label-number", "label-punctuation", "figure", "cell", "missing-word", "extra-text"],
)
def test_differences_are_found(pdf: str, kind: str, where: str) -> None:
    report = compare_items(ITEMS, pdf)
    assert not report.ok
    assert [(d.kind, d.where) for d in report.differences] == [(kind, where)], str(report)


def test_docx_labels_come_from_numbering_definitions() -> None:
    """The labels read back are computed from numbering.xml, not typed: the text has none."""
    document = fx.numbering_document(12)
    items = [i for i in read_docx(render_docx(document, fx.GBT)) if i.kind == "heading"]
    assert [i.text for i in items] == [h.text for h in document.headings]
    assert [i.label for i in items] == [h.label for h in document.headings]
    assert items[10].label == "十一、" and items[-2].label == "（十一）"


def test_normalise_removes_only_whitespace() -> None:
    assert normalise(" （一）\n消费\u3000者 ") == "（一）消费者"


def _with_number_format(docx: bytes, level: int, number_format: str) -> bytes:
    """``docx`` with every list's level ``level`` (0-based) switched to ``number_format``."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/numbering.xml":
                root = etree.fromstring(data)
                for lvl in root.iter(f"{W}lvl"):
                    if lvl.get(f"{W}ilvl") == str(level):
                        number = lvl.find(f"{W}numFmt")
                        assert number is not None
                        number.set(f"{W}val", number_format)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            target.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("number_format", "first"),
    [("lowerLetter", "a."), ("upperRoman", "I."), ("decimalFullWidth", "１."), ("bullet", "")],
)
def test_a_changed_numbering_format_is_a_difference(number_format: str, first: str) -> None:
    """Level 3 (1. 2. …) switched to another format no longer agrees with the PDF."""
    document = fx.sample_document()
    docx, pdf = _both(document)
    changed = _with_number_format(docx, 2, number_format)
    report = compare_docx_pdf(changed, pdf)
    assert not report.ok
    assert "heading_label" in {d.kind for d in report.differences}, str(report)
    labels = [h.label for h in read_docx(changed) if h.kind == "heading" and h.level == 3]
    if first:
        assert labels[0] == first


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [(1, "lowerLetter", "a"), (27, "lowerLetter", "aa"), (2, "upperLetter", "B"),
     (14, "lowerRoman", "xiv"), (1999, "upperRoman", "MCMXCIX"), (12, "decimalFullWidth", "１２"),
     (11, "chineseCounting", "十一"), (5, "decimal", "5"), (5, "ordinal", "[ordinal 5]")],
)  # fmt: skip
def test_number_formats(value: int, number_format: str, text: str) -> None:
    assert _format_number(value, number_format) == text
