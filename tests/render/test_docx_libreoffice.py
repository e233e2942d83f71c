"""Our DOCX files as LibreOffice reads them, on a machine with no Chinese font at all.

LibreOffice converts every test document to PDF in one run (see ``docx_libreoffice.Sandbox``);
the checks then read that PDF: fonts (only the embedded Fandol faces may appear), numbering
(一、（一）1.（1） exactly as the model labels them, 1…120), text parity with our own PDF
writer, the text block, line pitch and page numbers of GB/T 9704. The pages are also written as
PNG files under ``test-artifacts/docx-libreoffice/`` for a person to look at.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from service import PROJECT_ROOT
from service.model import Document
from service.model.document import Table
from service.render.docx import render_docx
from service.render.docx.writer import column_widths
from service.render.parity import compare_docx_pdf, compare_items, read_docx, read_pdf_text
from service.render.pdf.continued import continued_caption
from service.style import HouseStyle
from tests.conftest import EXAMPLE_FILES, EXAMPLES
from tests.render import docx_fixtures as fx
from tests.render import docx_libreoffice as lo
from tests.render import table_cells as tc
from tests.render.docx_fixtures import warm_docx_fonts  # noqa: F401  (session fixture)
from tests.render.pdf_reading import MM
from tests.render.test_table_pages import PUSHED_LINES, ROWS, pushed_down_document
from tests.render.test_unbreakable_text import LONGEST_LABEL, LONGEST_NUMBER, hostile

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("warm_docx_fonts"),
    pytest.mark.skipif(
        not lo.available() or lo.latin_font() is None, reason="LibreOffice or poppler missing"
    ),
]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "docx-libreoffice"
PAGE = fx.GBT.page
TOLERANCE = 1 * MM


@dataclass(frozen=True)
class Converted:
    name: str
    document: Document
    style: HouseStyle
    docx: bytes
    pdf: Path

    @property
    def pages(self) -> list[lo.Page]:
        return lo.pages(self.pdf)


def _documents() -> dict[str, tuple[Document, HouseStyle]]:
    docs: dict[str, tuple[Document, HouseStyle]] = {
        "sample-from-1": (fx.sample_document(), fx.GBT),
        "sample-from-2": (fx.sample_document(2), fx.GBT),
        "numbering-1-120": (fx.numbering_document(), fx.GBT),
        "long": (fx.long_document(), fx.GBT),
        "sample-used": (fx.sample_document(), fx.style_with("used")),
    }
    if EXAMPLE_FILES:
        from service.kinds import parse_payload
        from service.report import build_document
        from service.style import load_house_style

        for path in EXAMPLE_FILES:
            document = build_document(parse_payload(path.read_bytes()))
            name = "reference" if path.stem == "xiaokang-life-2023" else path.stem
            docs[name] = (document, load_house_style(document.meta.house_style))
        reference = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text("utf-8"))
        document = build_document(parse_payload(json.dumps(hostile(reference)).encode()))
        docs["hostile"] = (document, load_house_style(document.meta.house_style))
        for lines in PUSHED_LINES:
            document = pushed_down_document(lines)
            docs[f"pushed-{lines}"] = (document, load_house_style(document.meta.house_style))
    return docs


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> lo.Sandbox:
    font = lo.latin_font()
    assert font is not None
    return lo.Sandbox.create(tmp_path_factory.mktemp("libreoffice"), font)


@pytest.fixture(scope="module")
def converted(
    sandbox: lo.Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Converted]:
    work = tmp_path_factory.mktemp("docx")
    items = {}
    for name, (document, style) in _documents().items():
        data = render_docx(document, style)
        (work / f"{name}.docx").write_bytes(data)
        items[name] = (document, style, data)
    pdfs = sandbox.convert([work / f"{name}.docx" for name in items], work / "pdf")
    result = {
        name: Converted(name, document, style, data, pdf)
        for (name, (document, style, data)), pdf in zip(items.items(), pdfs, strict=False)
    }
    for item in result.values():
        lo.render_pngs(item.pdf, ARTIFACTS)
    return result


def test_sandbox_has_no_chinese_font(sandbox: lo.Sandbox) -> None:
    assert sandbox.fonts_for("zh") == []
    assert sandbox.fonts_for("en"), "LibreOffice needs one font to start"


@pytest.mark.parametrize("name", ["sample-from-1", "sample-used", "reference"])
def test_only_embedded_faces_are_used(converted: dict[str, Converted], name: str) -> None:
    if name not in converted:
        pytest.skip("reference example not present")
    item = converted[name]
    names = {font.split("+", 1)[-1] for font in lo.pdf_fonts(item.pdf)}
    expected = {name.replace(" ", "") for name in _embedded_families(item.docx)}
    assert names <= expected, f"fallback fonts used: {names - expected}"
    roles = ["title", "body", "caption", "page_number", "table"]
    roles += [f"heading{h.level}" for h in item.document.headings]
    for family in {item.style.face_of(r).family.replace(" ", "") for r in roles}:
        assert any(name.startswith(family) for name in names), family


def _embedded_families(docx: bytes) -> set[str]:
    """The family names the DOCX embeds a font under (its font table's ``w:embedRegular``)."""
    table = etree.fromstring(zipfile.ZipFile(io.BytesIO(docx)).read("word/fontTable.xml"))
    ns = {"w": W_NS}
    return {
        font.get(f"{{{W_NS}}}name", "")
        for font in table.findall("w:font", ns)
        if font.find("w:embedRegular", ns) is not None
    }


@pytest.mark.parametrize(
    "name",
    ["sample-from-1", "sample-from-2", "numbering-1-120", "long", "reference"]
    + [p.stem for p in EXAMPLE_FILES if p.stem != "xiaokang-life-2023"],
)
def test_libreoffice_shows_the_models_text_and_numbers(
    converted: dict[str, Converted], name: str
) -> None:
    if name not in converted:
        pytest.skip("example not present")
    item = converted[name]
    report = compare_docx_pdf(
        item.docx, item.pdf.read_bytes(), page_number_format=item.style.page_number.format
    )
    assert report.ok, str(report)
    assert [h.printed for h in report.headings] == [h.full_text for h in item.document.headings]


def test_numbers_beyond_ten_and_a_hundred(converted: dict[str, Converted]) -> None:
    text = read_pdf_text(converted["numbering-1-120"].pdf.read_bytes())
    for label in ("十、标题", "十一、标题", "二十、标题", "九十九、标题", "一百、标题", "一百一十九、标题",
                  "（十一）标题", "（一百二十）标题", "99.标题", "（120）标题", "（十二）分项"):  # fmt: skip
        assert label in text, label
    assert "一一、" not in text and "一〇" not in text


TABLE_EXAMPLES = [
    "heyu-life-sources-2024",
    "changxin-property-ranking-2023",
    "fukang-life-indicators-2024",
    "anning-health-partial-2024",
    "hengtai-property-notes-2023",
    "zhongan-life-regions-2024",
]
"""The examples of table blocks: each shape read back from both PDFs, row by row."""


@pytest.mark.parametrize("name", ["sample-from-1", "long", "reference", *TABLE_EXAMPLES])
def test_same_text_as_our_pdf(converted: dict[str, Converted], name: str) -> None:
    if name not in converted:
        pytest.skip("reference example not present")
    from service.render.pdf import render_pdf

    item = converted[name]
    ours = render_pdf(item.document, item.style)
    items = tuple(read_docx(item.docx))
    number_format = item.style.page_number.format
    assert compare_items(items, read_pdf_text(ours, number_format)).ok
    assert compare_items(items, read_pdf_text(item.pdf.read_bytes(), number_format)).ok


def _body_lines(page: lo.Page) -> list[list[lo.Word]]:
    """Text lines inside the text block (not the page number)."""
    limit = (PAGE.height_mm - PAGE.margin_bottom_mm) * MM + TOLERANCE
    return [line for line in page.lines() if line[0].y1 < limit]


def test_text_block_line_pitch_and_grid(converted: dict[str, Converted]) -> None:
    """A full page of body text: 22 lines of 28 characters, 28.95 pt apart, in the 156 x 225 mm
    block at 28 mm from the left and 37 mm from the top."""
    page = converted["long"].pages[1]
    lines = _body_lines(page)
    assert len(lines) == 22
    bottoms = [line[0].y1 for line in lines]
    steps = [b - a for a, b in itertools.pairwise(bottoms)]
    assert all(abs(s - PAGE.line_pitch_pt) < 0.1 for s in steps), steps
    top = PAGE.margin_top_mm * MM
    assert abs(bottoms[0] - (top + PAGE.line_pitch_pt)) < TOLERANCE
    assert abs(bottoms[-1] - (PAGE.height_mm - PAGE.margin_bottom_mm) * MM) < TOLERANCE
    left = min(line[0].x0 for line in lines)
    right = max(line[-1].x1 for line in lines)
    assert abs(left - PAGE.margin_left_mm * MM) < TOLERANCE
    assert abs(right - (PAGE.width_mm - PAGE.margin_right_mm) * MM) < TOLERANCE
    full = ["".join(w.text for w in line) for line in lines if abs(line[0].x0 - left) < 1]
    assert full and max(len(t) for t in full) == PAGE.chars_per_line
    indented = [line for line in lines if line[0].x0 - left > 1]
    for line in indented:  # first lines of paragraphs: two grid characters in
        assert abs(line[0].x0 - left - 2 * 315 / 20) < 1


def test_page_numbers_odd_right_even_left(converted: dict[str, Converted]) -> None:
    pages = converted["long"].pages
    assert len(pages) >= 3
    number = fx.GBT.page_number
    size = fx.GBT.role(number.role).size_pt
    inset = number.inset_chars * size
    box_top = (PAGE.height_mm - PAGE.margin_bottom_mm + number.below_text_mm) * MM
    for page in pages:
        footer = [w for w in page.words if w.y0 > (PAGE.height_mm - PAGE.margin_bottom_mm) * MM]
        assert "".join(w.text for w in footer) == number.text(page.number).replace(" ", "")
        centre = (min(w.y0 for w in footer) + max(w.y1 for w in footer)) / 2
        assert abs(centre - (box_top + size / 2)) < TOLERANCE
        if page.number % 2:
            right = (PAGE.width_mm - PAGE.margin_right_mm) * MM - inset
            assert abs(max(w.x1 for w in footer) - right) < TOLERANCE
        else:
            left = PAGE.margin_left_mm * MM + inset
            assert abs(min(w.x0 for w in footer) - left) < TOLERANCE


def test_pages_rendered_for_review(converted: dict[str, Converted]) -> None:
    for item in converted.values():
        pngs = sorted(ARTIFACTS.glob(f"{item.name}-*.png"))
        assert len(pngs) == len(item.pages)
        assert all(p.stat().st_size > 1000 for p in pngs)


# --- tables -------------------------------------------------------------------------------------


def _text_block(style: HouseStyle) -> tuple[float, float, float]:
    """Left and right edges and foot of the text block, in pt."""
    left = style.page.margin_left_mm * MM
    return (
        left,
        left + style.page.text_width_mm * MM,
        (style.page.height_mm - style.page.margin_bottom_mm) * MM,
    )


def _words(item: Converted) -> list[lo.Word]:
    return [word for page in item.pages for word in page.words]


def _docx_edges(table: Table, style: HouseStyle) -> list[float]:
    """The DOCX's column edges of ``table`` in pt from the page's left."""
    edges = [_text_block(style)[0]]
    for twips in column_widths(table, style):
        edges.append(edges[-1] + twips / 20)
    return edges


@pytest.mark.parametrize("lines", PUSHED_LINES)
def test_libreoffice_never_starts_a_table_with_one_body_row(
    converted: dict[str, Converted], lines: int
) -> None:
    item = converted[f"pushed-{lines}"]
    (table,) = item.document.tables
    header = table.columns[1].title
    (first, *_) = [w.page for w in _words(item) if w.text == header]
    rows = [w.text for w in _words(item) if w.page == first and w.text in ROWS]
    assert len(rows) >= 2, rows
    text = table.caption.replace(" ", "")
    caption = [
        p.number for p in item.pages if any("".join(w.text for w in ln) == text for ln in p.lines())
    ]
    assert caption == [first], "the caption stays with its table"


def test_libreoffice_repeats_the_header_row(converted: dict[str, Converted]) -> None:
    item = converted["zhongan-life-regions-2024"]
    pages = [w.page for w in _words(item) if w.text == "上年件数"]
    assert len(pages) >= 2 and pages == sorted(set(pages))
    assert pages == list(range(pages[0], pages[0] + len(pages)))


def test_libreoffice_keeps_hostile_text_inside_the_text_block(
    converted: dict[str, Converted],
) -> None:
    """A hash, a long number, a URL, a long Latin word and labels at the schema's length limit:
    every word box of LibreOffice's PDF lies inside the text block, and nothing is lost."""
    item = converted["hostile"]
    left, right, _ = _text_block(item.style)
    for word in _words(item):
        assert left - TOLERANCE <= word.x0 and word.x1 <= right + TOLERANCE, word
    flat = "".join(w.text for w in _words(item))
    for piece in (LONGEST_LABEL, LONGEST_NUMBER, "12,003"):
        assert piece in flat


@pytest.mark.parametrize("name", [*TABLE_EXAMPLES, "hostile"])
def test_tables_read_cell_by_cell_from_both_pdfs(
    converted: dict[str, Converted], name: str
) -> None:
    """Every table, read back from our PDF and from LibreOffice's conversion of the DOCX, shows
    the model's cells, row by row, each word inside its column."""
    from service.render.pdf import render_pdf
    from service.render.pdf.html import table_column_widths_pt

    item = converted[name]
    ours = lo_words_of(render_pdf(item.document, item.style))
    _, _, bottom = _text_block(item.style)
    for table in item.document.tables:
        continued = continued_caption(table.caption)
        left = _text_block(item.style)[0]
        pdf_edges = [left]
        for width in table_column_widths_pt(table, item.style):
            pdf_edges.append(pdf_edges[-1] + width)
        for words, edges in ((ours, pdf_edges), (_words(item), _docx_edges(table, item.style))):
            read = tc.read_table(words, edges, table, bottom=bottom, continued=continued)
            assert read.rows == tc.model_rows(table), table.caption
            for column, word in read.words:
                assert edges[column] - TOLERANCE <= word.x0, word
                assert word.x1 <= edges[column + 1] + TOLERANCE, word


def lo_words_of(pdf: bytes) -> list[lo.Word]:
    """Our PDF's word boxes, read as LibreOffice's are."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ours.pdf"
        path.write_bytes(pdf)
        return [word for page in lo.pages(path) for word in page.words]
