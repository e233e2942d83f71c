"""The writer's HTML parsed by expat (service/render/pdf/element_tree.py) is the tree tinyhtml5
builds, and the PDF WeasyPrint lays out from it is byte for byte the one it lays out from
tinyhtml5's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import tinyhtml5
import weasyprint

from bench import payloads
from service.model import Document
from service.pipeline import build
from service.render.pdf import engine, render_pdf
from service.render.pdf.element_tree import html_tree
from service.render.pdf.fetcher import ClosedURLFetcher
from service.render.pdf.html import RecordPlace, build_html
from service.style import load_house_style
from tests.conftest import EXAMPLE_FILES, EXAMPLES

PAYLOADS: dict[str, bytes] = {
    **{path.stem: path.read_bytes() for path in EXAMPLE_FILES},
    **{path.stem: path.read_bytes() for path in sorted((EXAMPLES / "letter").glob("*.json"))},
    **{
        f"batch-{n}": line
        for n, line in enumerate(
            (EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson").read_bytes().splitlines()
        )
    },
    **{f"historical-{n}": raw for n, raw in enumerate(payloads.historical_batch(3, seed=7))},
    **{f"reference-{n}": raw for n, raw in enumerate(payloads.reference_variants(2, seed=3))},
}
"""Every example (reports, letters, the batch's years) and a few bench variants."""


def shape(element: ET.Element) -> list[tuple[int, str, list[tuple[str, str]], Any, Any]]:
    """Every element in document order: depth, tag, attributes in order, text and tail."""
    found = []

    def walk(node: ET.Element, depth: int) -> None:
        found.append((depth, node.tag, list(node.attrib.items()), node.text, node.tail))
        for child in node:
            walk(child, depth + 1)

    walk(element, 0)
    return found


def tinyhtml5_tree(html_text: str) -> ET.Element:
    """The tree as ``weasyprint.HTML`` parses it."""
    root: ET.Element = tinyhtml5.parse(html_text, namespace_html_elements=False)
    return root


def document_of(name: str) -> Document:
    return build(PAYLOADS[name])[1]


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_every_html_of_a_payload_parses_to_tinyhtml5s_tree(name: str) -> None:
    """The HTML of each layout a document may go through: the first, with its tables
    continued, with a letter's 版记 placed."""
    document = document_of(name)
    style = load_house_style(document.meta.house_style)
    tables = frozenset(table.number for table in document.tables)
    for html_text in (
        build_html(document, style),
        build_html(document, style, tables),
        build_html(document, style, tables, RecordPlace(space_pt=12.5, new_page=True)),
    ):
        ours = html_tree(html_text)
        assert ours is not None
        assert shape(ours) == shape(tinyhtml5_tree(html_text))


@pytest.mark.parametrize(
    "html_text",
    [
        '<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n</head>\n'
        '<body>\n<p title="一\n二\t三\r\n四\r五">甲\r\n乙\r丙</p>\n</body>\n</html>',
        "<!DOCTYPE html>\n<html>\n<head>\n</head>\n<body>\n</body>\n</html>\n\n",
        "<!DOCTYPE html>\n<html>\n<head>\n</head>\n<body>\n<div>&amp;&lt;&#34;</div>\n</body>\n</html>",
    ],
    ids=["breaks-in-attributes-and-text", "empty-body-then-whitespace", "references"],
)
def test_html5s_whitespace_and_line_break_rules_hold(html_text: str) -> None:
    ours = html_tree(html_text)
    assert ours is not None
    assert shape(ours) == shape(tinyhtml5_tree(html_text))


@pytest.mark.parametrize(
    "html_text",
    [
        "<html><head></head><body><p>\x01</p></body></html>",  # not a character of XML
        "<html><head></head><body><p>a<br>b</p></body></html>",  # a void element not closed
        "<html><head></head><body></body><p>after</p></html>",  # text after the body
        "<html><body></body></html>",  # an implied head
    ],
)
def test_markup_expat_cannot_read_as_tinyhtml5_does_goes_to_tinyhtml5(html_text: str) -> None:
    assert html_tree(html_text) is None
    html = engine.WriterHTML(html_text, engine.BASE_URL, ClosedURLFetcher())
    assert shape(html.etree_element) == shape(tinyhtml5_tree(html_text))


class TinyHTML5WriterHTML(engine.WriterHTML):
    """The writer's ``HTML`` with its tree parsed by tinyhtml5, as ``weasyprint.HTML`` does."""

    def __init__(self, string: str, base_url: str, url_fetcher: Any) -> None:
        weasyprint.HTML.__init__(self, string=string, base_url=base_url, url_fetcher=url_fetcher)


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_the_pdf_is_the_one_laid_out_from_tinyhtml5s_tree(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = document_of(name)
    style = load_house_style(document.meta.house_style)
    ours = render_pdf(document, style)
    monkeypatch.setattr(engine, "WriterHTML", TinyHTML5WriterHTML)
    assert render_pdf(document, style) == ours


def test_the_writer_parses_with_expat(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons above compare something: a layout of the writer's never calls tinyhtml5."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tinyhtml5 called")

    monkeypatch.setattr(tinyhtml5, "parse", refuse)
    document = document_of(Path(EXAMPLE_FILES[0]).stem)
    assert render_pdf(document, load_house_style(document.meta.house_style)).startswith(b"%PDF")
