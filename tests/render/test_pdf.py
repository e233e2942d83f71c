"""The PDF writer, checked on the PDF as a reader sees it (pdftotext, pdffonts, pypdf).

Positions are in PDF points from the top-left corner of the page (``pdftotext -bbox``). A word
box spans one em of its font (Fandol: ascent 880 + descent 120 per 1000), so the top of a line's
box sits half a leading, ``(pitch - size) / 2``, below the top of its line: that is what the
position tests undo before comparing with the margins of the house style.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tinycss2
import weasyprint
from fontTools import subset as fonttools_subset
from weasyprint.pdf import fonts as weasy_pdf_fonts
from weasyprint.text import ffi as weasy_ffi

from service import FONTS_DIR, PROJECT_ROOT, TEMPLATES_DIR
from service.errors import RenderFailed
from service.model import Document, Heading, Paragraph, Signature, Table
from service.model.document import HeadingLevel
from service.model.numbering import chinese_numeral
from service.render.pdf import engine, render_pdf, warm_up
from service.render.pdf.css import (
    CHINESE_COUNTER_STYLE,
    family_name,
    grid_advance_pt,
)
from service.render.pdf.fetcher import ClosedURLFetcher, URLRefused
from service.render.pdf.html import build_html, table_column_widths_pt
from service.render.pdf.templating import css_string, template
from service.style import HouseStyle, load_house_style
from service.style.house_style import FontFace
from tests.conftest import EXAMPLE_FILES
from tests.render import pdf_fixtures as fx
from tests.render import pdf_reading as rd
from tests.render.pdf_reading import MM

GBT = load_house_style("gbt9704")
STYLES = [load_house_style(name) for name in ("gbt9704", "xiaokang")]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_pdf(fx.sample_document(), GBT)


@pytest.fixture(scope="module", params=STYLES, ids=lambda s: s.name)
def long_body(request: pytest.FixtureRequest) -> tuple[HouseStyle, bytes]:
    style: HouseStyle = request.param
    return style, render_pdf(fx.long_body_document(), style)


def text_block(style: HouseStyle) -> tuple[float, float, float, float]:
    """Left, top, right, bottom of the text block in pt from the page's top-left corner."""
    page = style.page
    return (
        page.margin_left_mm * MM,
        page.margin_top_mm * MM,
        (page.width_mm - page.margin_right_mm) * MM,
        (page.height_mm - page.margin_bottom_mm) * MM,
    )


def body_lines(pdf: bytes, style: HouseStyle, page: int) -> list[rd.Box]:
    """Lines of ``page`` above the text block's bottom edge (the page number is below it)."""
    bottom = text_block(style)[3]
    return [b for b in rd.lines(pdf) if b.page == page and b.y1 < bottom]


# --- heading numbers -----------------------------------------------------------------------


def test_chinese_counter_style_writes_the_models_numerals() -> None:
    counter_style = engine.compiled_style(GBT).counter_style
    drawn = {n: counter_style.render_value(n, CHINESE_COUNTER_STYLE) for n in range(1, 1000)}
    assert drawn == {n: chinese_numeral(n) for n in range(1, 1000)}


def test_heading_markers_are_drawn_by_css_and_equal_the_model_labels() -> None:
    document = fx.ladder_document(120)
    body = build_html(document, GBT).split("<body>")[1]
    for marker in ("、", "（", "）", "1."):
        assert marker not in body, "the HTML must not carry the label: CSS draws it"

    pdf = render_pdf(document, GBT)
    lines = [line.strip() for line in rd.text(pdf).splitlines()]
    headings = [line for line in lines if line.endswith("标题")]
    assert headings == [h.full_text for h in document.headings]
    assert rd.outline(pdf) == [document.title] + [h.full_text for h in document.headings]


@pytest.mark.parametrize(("level", "number"), [(1, 1000), (2, 1000), (1, 0), (3, 0)])
def test_heading_numbers_the_counter_cannot_draw_are_refused(
    level: HeadingLevel, number: int
) -> None:
    document = fx.document([Heading(level, number, "?", "标题")])
    with pytest.raises(RenderFailed, match=f"number {number}"):
        render_pdf(document, GBT)


@pytest.mark.parametrize("value", ["— {n} —", 'a"b', "a\\b", "x\n}", '"); } body { color: red'])
def test_css_strings_round_trip_through_the_css_parser(value: str) -> None:
    """House-style text reaches the stylesheet only as a quoted, escaped CSS string."""
    (token,) = [
        t for t in tinycss2.parse_component_value_list(css_string(value)) if t.type != "whitespace"
    ]
    assert (token.type, token.value) == ("string", value)


# --- fonts ---------------------------------------------------------------------------------


def test_stylesheet_names_only_our_faces() -> None:
    css = engine.compiled_style(GBT).css_text
    ours = {family_name(key) for key in GBT.faces}
    declared = re.findall(r"font-family:\s*([^;]+);", css)
    assert declared
    for value in declared:
        assert {name.strip().strip('"') for name in value.split(",")} <= ours, value
    sources = re.findall(r"src:\s*url\(\"([^\"]+)\"\)", css)
    assert sorted(sources) == sorted(face.path.as_uri() for face in GBT.faces.values())
    assert "local(" not in css


def test_fonts_are_embedded_subsets_of_our_faces(sample_pdf: bytes) -> None:
    rows = rd.fonts(sample_pdf)
    names = {row["name"].split("+", 1)[1].removesuffix("-Bold") for row in rows}
    assert names == {family_name(face.key) for face in GBT.used_faces()}, "no fallback needed"
    for row in rows:
        assert (row["emb"], row["sub"], row["uni"]) == ("yes", "yes", "yes"), row
        assert re.fullmatch(r"[A-Z]{6}\+pilu-[a-z_]+(-Bold)?", row["name"]), row


@pytest.mark.parametrize(
    ("role", "starts"),
    [
        ("title", "小康人寿保险有限责任公司"),
        ("lead", "发布时间"),
        # a tagged PDF marks the marker (drawn by ::before) and the text apart: two runs
        ("heading1", "一、"),
        ("heading1", "消费者权益保护重大信息"),
        ("heading2", "（一）"),
        ("heading2", "重要政策"),
        ("heading3", "1."),
        ("heading3", "消保战略"),
        ("heading4", "（1）"),
        ("heading4", "消保机制"),
        ("body", fx.SENTENCE[:20]),
        ("caption", "表1"),
        ("table", "渠道001"),
        ("note", "注："),
        ("signature", fx.SIGN_DATE),
        ("page_number", "— 1"),
    ],
)
def test_each_role_is_set_in_its_face_and_size(sample_pdf: bytes, role: str, starts: str) -> None:
    run = next(r for r in rd.runs(sample_pdf) if r.text.startswith(starts))
    assert run.font.removesuffix("-Bold") == family_name(GBT.role(role).face)
    assert run.size_pt == pytest.approx(GBT.role(role).size_pt, abs=0.01)


def test_title_face_is_the_bold_song_bound_as_bold(sample_pdf: bytes) -> None:
    run = next(r for r in rd.runs(sample_pdf) if r.text.startswith("小康人寿"))
    assert GBT.face_of("title").file == "FandolSong-Bold.otf"
    assert run.font == "pilu-xiaobiaosong-Bold"


def test_a_ladder_starting_at_level_two_keeps_kai() -> None:
    document = fx.document([fx.heading(2, 1, "重要政策"), Paragraph(fx.SENTENCE)])
    run = next(r for r in rd.runs(render_pdf(document, GBT)) if r.text.startswith("（一）"))
    assert run.font == family_name(GBT.role("heading2").face) == "pilu-kai"


def test_harfbuzz_subsets_the_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint 70 takes HarfBuzz when libharfbuzz-subset >= 4.1 loads, else fontTools (slow)."""
    assert weasy_ffi.harfbuzz_subset is not None, "install libharfbuzz-subset0"
    assert weasy_ffi.harfbuzz.hb_version_atleast(4, 1, 0)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("fontTools subsetting was used")

    calls: list[str] = []
    harfbuzz_subset = weasy_pdf_fonts.Font._harfbuzz_subset

    def counted(font: weasy_pdf_fonts.Font, *args: object) -> None:
        calls.append(font.family)
        harfbuzz_subset(font, *args)

    monkeypatch.setattr(weasy_pdf_fonts.Font, "_fonttools_subset", forbidden)
    monkeypatch.setattr(fonttools_subset.Subsetter, "subset", forbidden)
    monkeypatch.setattr(weasy_pdf_fonts.Font, "_harfbuzz_subset", counted)
    pdf = render_pdf(fx.sample_document(), GBT)
    assert sorted(calls) == sorted(family_name(face.key) for face in GBT.used_faces())
    assert len(rd.fonts(pdf)) == len(calls)


# --- page and text block -------------------------------------------------------------------


def test_pages_are_a4(sample_pdf: bytes) -> None:
    for page in rd.reader(sample_pdf).pages:
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(841.89, abs=0.5)


def test_text_block_sits_in_the_margins_on_the_line_grid(
    long_body: tuple[HouseStyle, bytes],
) -> None:
    """Page 2 of one long paragraph: every line a continuation line, the page full."""
    style, pdf = long_body
    left, top, right, _ = text_block(style)
    pitch, size = style.line_pitch_of("body"), style.role("body").size_pt
    lines = body_lines(pdf, style, page=2)

    assert len(lines) == math.floor(style.page.text_height_mm * MM / pitch) == 22
    assert lines[0].y0 - (pitch - size) / 2 == pytest.approx(top, abs=1 * MM)
    for line in lines:
        assert line.x0 == pytest.approx(left, abs=1 * MM), line
        assert line.x1 <= right + 0.5 * MM, line
        assert len(line.text) == style.page.chars_per_line, line
    gaps = [b.y0 - a.y0 for a, b in itertools.pairwise(lines)]
    assert gaps == pytest.approx([pitch] * len(gaps), abs=0.05)


def test_first_line_is_indented_two_grid_characters(long_body: tuple[HouseStyle, bytes]) -> None:
    style, pdf = long_body
    first = next(b for b in body_lines(pdf, style, 1) if b.text.startswith(fx.SENTENCE[:10]))
    indent = style.role("body").first_line_indent_chars * grid_advance_pt(style)
    assert first.x0 == pytest.approx(text_block(style)[0] + indent, abs=0.5 * MM)
    assert len(first.text) <= style.page.chars_per_line - 2


def test_title_and_lead_are_centred(long_body: tuple[HouseStyle, bytes]) -> None:
    style, pdf = long_body
    left, _, right, _ = text_block(style)
    lines = body_lines(pdf, style, 1)
    body = next(b for b in lines if b.text.startswith(fx.SENTENCE[:10]))
    above = [b for b in lines if b.y0 < body.y0]
    assert [b.text[:4] for b in above] == ["小康人寿", "益保护工", "发布时间"]
    for line in above:
        assert (line.x0 + line.x1) / 2 == pytest.approx((left + right) / 2, abs=1 * MM), line


def test_page_numbers_alternate_sides_below_the_text_block(sample_pdf: bytes) -> None:
    left, _, right, bottom = text_block(GBT)
    number = GBT.page_number
    inset = number.inset_chars * GBT.role(number.role).size_pt
    pages = len(rd.reader(sample_pdf).pages)
    assert pages >= 3
    for page in range(1, pages + 1):
        (box,) = [b for b in rd.lines(sample_pdf) if b.page == page and b.y0 > bottom]
        assert box.text == number.text(page)
        assert box.y0 - bottom == pytest.approx(number.below_text_mm * MM, abs=1 * MM)
        if page % 2:
            assert box.x1 == pytest.approx(right - inset, abs=1 * MM), f"page {page}: odd, right"
        else:
            assert box.x0 == pytest.approx(left + inset, abs=1 * MM), f"page {page}: even, left"


def test_signature_two_characters_in_and_the_date_two_characters_right_of_it(
    sample_pdf: bytes,
) -> None:
    right = text_block(GBT)[2]
    lines = rd.lines(sample_pdf)
    signer = next(b for b in lines if b.text == fx.SIGNER)
    date = next(b for b in lines if b.text == fx.SIGN_DATE)
    inset = GBT.role("signature").right_indent_chars * grid_advance_pt(GBT)
    assert signer.x1 == pytest.approx(right - inset, abs=1 * MM)
    # GB/T 9704 §7.3.5.2: the date's first character two characters right of the signer's.
    assert date.x0 == pytest.approx(signer.x0 + 2 * grid_advance_pt(GBT), abs=1 * MM)
    assert date.page == signer.page
    assert date.y0 - signer.y0 == pytest.approx(GBT.line_pitch_of("signature"), abs=0.05)


def test_signature_is_never_alone_on_the_last_page() -> None:
    """A body that ends on the last line of a page: the signature pulls lines along."""
    lines_on_page_one = 22 - 4  # two title lines (35 pt pitch), the lead and a blank line
    chars = 26 + (lines_on_page_one - 1) * 28
    document = fx.document(
        [Paragraph("发布时间：2024年1月12日", "lead"), Paragraph((fx.SENTENCE * 10)[:chars])],
        signature=Signature(fx.SIGNER, fx.SIGN_DATE),
    )
    pages = rd.page_texts(render_pdf(document, GBT))
    assert len(pages) == 2
    assert pages[-1].split(fx.SIGNER)[0].strip(), "signature alone on its page"


# --- tables --------------------------------------------------------------------------------


def test_table_cells_are_aligned_and_sub_rows_indented() -> None:
    table = fx.table(1, 6, sub_rows=2)
    words = rd.words(render_pdf(fx.document([table]), GBT))
    for index in (1, 2):
        cells = {row.cells[index] for row in table.rows}
        column = [w for w in words if w.text in cells]
        assert len(column) == len(table.rows)
        assert max(w.x1 for w in column) - min(w.x1 for w in column) < 0.5, "right-aligned"
    data = next(w for w in words if w.text == "渠道001")
    sub = next(w for w in words if w.text.startswith("其中"))
    assert sub.x0 - data.x0 == pytest.approx(GBT.role("table").size_pt, abs=0.5)
    total = next(w for w in words if w.text == "合计")
    assert total.x0 == pytest.approx(data.x0, abs=0.5)


def test_table_columns_have_the_widths_both_writers_share() -> None:
    """Fixed table layout: each column as wide as :func:`table_column_widths_pt` says (the DOCX
    writer's widths), the table as wide as the text block."""
    table = fx.table(1, 4)
    words = rd.words(render_pdf(fx.document([table]), GBT))
    left, _, right, _ = text_block(GBT)
    widths = table_column_widths_pt(table, GBT)
    assert sum(widths) == pytest.approx(right - left, abs=0.5)
    inset = GBT.table.cell_padding_pt + GBT.table.border_pt / 2
    for index in (1, 2):  # right-aligned: the text ends one padding inside the column's edge
        edge = left + sum(widths[: index + 1])
        cells = {row.cells[index] for row in table.rows}
        ends = [w.x1 for w in words if w.text in cells]
        assert ends and all(end == pytest.approx(edge - inset, abs=1.0) for end in ends)


def test_caption_is_centred_above_its_table(sample_pdf: bytes) -> None:
    left, _, right, _ = text_block(GBT)
    lines = rd.lines(sample_pdf)
    caption = next(b for b in lines if b.text.startswith("表1"))
    header = next(b for b in rd.words(sample_pdf) if b.text == "件数")
    assert (caption.page, caption.y1) < (header.page, header.y0)
    assert (caption.x0 + caption.x1) / 2 == pytest.approx((left + right) / 2, abs=1 * MM)


def test_caption_moves_to_the_next_page_with_its_table() -> None:
    """The body ends where the caption alone would still fit, but not the header row."""
    chars = 26 + 15 * 28  # sixteen full lines under the two-line title, lead and blank line
    document = fx.document(
        [
            Paragraph("发布时间：2024年1月12日", "lead"),
            Paragraph((fx.SENTENCE * 10)[:chars]),
            fx.table(1, 3),
        ]
    )
    pdf = render_pdf(document, GBT)
    _, _, _, bottom = text_block(GBT)
    last_body = [b for b in body_lines(pdf, GBT, 1)][-1]
    assert bottom - last_body.y1 > GBT.line_pitch_of("caption"), "the caption alone would fit"
    caption = next(b for b in rd.lines(pdf) if b.text.startswith("表1"))
    header = next(b for b in rd.words(pdf) if b.text == "件数")
    assert caption.page == header.page == 2


def test_long_table_repeats_its_header_and_never_splits_a_row() -> None:
    document = fx.document([fx.table(1, 40, wrap=True)])
    pdf = render_pdf(document, GBT)
    words = rd.words(pdf)
    pages = sorted({w.page for w in words if w.text.startswith("渠道0")})
    assert len(pages) >= 2
    for page in pages:
        header = [w.text for w in words if w.page == page and w.text in ("渠道", "件数")]
        assert header == ["渠道", "件数"], f"header row on page {page}"
    text = rd.text(pdf)
    for i in range(1, 41):
        first, last = f"渠道{i:03d}", f"尾{i:03d}"
        pages_of_row = {w.page for w in words if first in w.text or last in w.text}
        assert len(pages_of_row) == 1, f"row {i} split over pages {pages_of_row}"
        assert first in text and last in text


def test_table_borders_have_the_house_style_width(sample_pdf: bytes) -> None:
    """WeasyPrint draws in CSS px under a 0.75 pt/px matrix: ``w`` operands are px."""
    content = rd.reader(sample_pdf).pages[1].get_contents()
    assert content is not None
    data = content.get_data()
    assert b"0.75 0 0 0.75 0 0 cm" in data
    widths = {float(w) * 0.75 for w in re.findall(rb"([\d.]+) w\n", data)}
    assert widths == {GBT.table.border_pt}


# --- metadata and reproducibility ----------------------------------------------------------


def test_metadata(sample_pdf: bytes) -> None:
    meta = fx.sample_document().meta
    pdf = rd.reader(sample_pdf)
    info: Any = pdf.metadata
    trailer: Any = pdf.trailer
    assert info.title == meta.title
    assert info.author == meta.author
    assert info.subject == meta.subject
    assert info["/Keywords"] == ", ".join(meta.keywords)
    assert info["/CreationDate"] == "D:20240112"
    assert "/ModDate" not in info
    assert trailer["/Root"]["/Lang"] == "zh-CN"
    assert len(trailer["/ID"]) == 2


def test_same_document_same_bytes(sample_pdf: bytes) -> None:
    assert render_pdf(fx.sample_document(), GBT) == sample_pdf


def test_same_bytes_in_a_fresh_process(sample_pdf: bytes) -> None:
    code = (
        "import sys; from service.style import load_house_style; "
        "from service.render.pdf import render_pdf; from tests.render import pdf_fixtures as fx; "
        "sys.stdout.buffer.write(render_pdf(fx.sample_document(), load_house_style('gbt9704')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == sample_pdf


def test_different_documents_have_different_identifiers(sample_pdf: bytes) -> None:
    ids: list[Any] = [
        rd.reader(pdf).trailer["/ID"]
        for pdf in (sample_pdf, render_pdf(fx.long_body_document(1), GBT))
    ]
    assert ids[0][0] != ids[1][0]


# --- closed URL fetcher --------------------------------------------------------------------

OUTSIDE = [
    "file:///etc/passwd",
    "http://example.com/logo.png",
    "https://example.com/font.otf",
    "data:text/plain;base64,SGVsbG8=",
    "ftp://example.com/x",
    f"file://evil.example{FONTS_DIR}/FandolFang-Regular.otf",
    f"file://{FONTS_DIR}/../service/__init__.py",
    f"file://{FONTS_DIR}/%2E%2E/service/__init__.py",
    f"file://{TEMPLATES_DIR}/../pyproject.toml",
    f"file://{FONTS_DIR}/no-such-font.otf",
    f"file://{FONTS_DIR}/",
    "FandolFang-Regular.otf",
]


@pytest.mark.parametrize("url", OUTSIDE)
def test_fetcher_refuses(url: str) -> None:
    with pytest.raises(URLRefused):
        ClosedURLFetcher().fetch(url)


@pytest.mark.parametrize(
    "path", [face.path for face in GBT.faces.values()] + [TEMPLATES_DIR / "pdf/document.css.j2"]
)
def test_fetcher_serves_templates_and_fonts(path: Path) -> None:
    response = ClosedURLFetcher().fetch(path.as_uri())
    assert response.read() == path.read_bytes()


def test_fetcher_refuses_symlinks_out_of_its_roots(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "sentinel").write_text("secret")
    (root / "inside.txt").write_text("ok")
    (root / "link").symlink_to(outside / "sentinel")
    (root / "dir").symlink_to(outside, target_is_directory=True)
    fetcher = ClosedURLFetcher(roots=[root])
    assert fetcher.fetch((root / "inside.txt").as_uri()).read() == b"ok"
    for escape in (root / "link", root / "dir" / "sentinel"):
        with pytest.raises(URLRefused):
            fetcher.fetch(escape.as_uri())


def test_a_refused_url_stops_the_render() -> None:
    html = weasyprint.HTML(string='<img src="file:///etc/passwd">', url_fetcher=ClosedURLFetcher())
    refused = pytest.raises(RenderFailed, match="outside the template and font folders")
    with refused, engine.guarded("test"):
        html.render(font_config=engine.font_config())


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    path = tmp_path / "sentinel.png"
    path.write_text("SENTINEL-CONTENT")
    return path


def test_markup_in_the_model_is_text_and_fetches_nothing(
    monkeypatch: pytest.MonkeyPatch, sentinel: Path
) -> None:
    hostile = [
        '<img src="file:///etc/passwd">',
        f'<img src="{sentinel.as_uri()}">',
        f"<p style=\"background: url('{sentinel.as_uri()}')\">x</p>",
        f"url({sentinel.as_uri()})",
        '<link rel="stylesheet" href="http://example.com/x.css">',
    ]
    asked: list[str] = []
    fetch = ClosedURLFetcher.fetch

    def spy(self: ClosedURLFetcher, url: str, headers: object = None) -> object:
        asked.append(url)
        return fetch(self, url)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("WeasyPrint's own opener was used")

    monkeypatch.setattr(ClosedURLFetcher, "fetch", spy)
    monkeypatch.setattr(weasyprint.urls.URLFetcher, "open", no_network)
    monkeypatch.setattr(engine, "_compiled", {})  # compile the stylesheet again, under the spy
    document = fx.document([Paragraph(text) for text in hostile], title="<b>标题</b>")
    text = rd.text(render_pdf(document, GBT))

    flat = re.sub(r"\s+", "", text)
    for literal in [*hostile, "<b>标题</b>"]:
        assert re.sub(r"\s+", "", literal) in flat
    assert "SENTINEL-CONTENT" not in text
    roots = (TEMPLATES_DIR.resolve(), FONTS_DIR.resolve())
    for url in asked:
        assert any(ClosedURLFetcher().resolve(url).is_relative_to(root) for root in roots), url
    assert not any("sentinel" in url or "passwd" in url for url in asked)


# --- warnings and missing glyphs -----------------------------------------------------------


def test_a_weasyprint_warning_is_a_render_failure() -> None:
    handlers = list(engine.WEASYPRINT_LOGGER.handlers)
    html = weasyprint.HTML(string='<p style="color: nonsense">x</p>')
    with pytest.raises(RenderFailed, match="WeasyPrint: .*nonsense"), engine.guarded("test"):
        html.render(font_config=engine.font_config())
    assert engine.WEASYPRINT_LOGGER.handlers == handlers


def test_warnings_count_even_when_the_logger_is_quietened() -> None:
    logger = logging.getLogger("weasyprint")
    logger.setLevel(logging.CRITICAL)
    try:
        html = weasyprint.HTML(string='<p style="color: nonsense">x</p>')
        with pytest.raises(RenderFailed), engine.guarded("test"):
            html.render(font_config=engine.font_config())
    finally:
        logger.setLevel(logging.NOTSET)


@pytest.mark.parametrize("char", ["\u0e01", "\U0001f600", "\ue000"])
def test_a_character_our_fonts_lack_is_refused_before_layout(char: str) -> None:
    document = fx.document([Paragraph(f"正文{char}正文")])
    with pytest.raises(RenderFailed, match=f"U\\+{ord(char):04X}"):
        render_pdf(document, GBT)


def test_a_system_font_fallback_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind the coverage check: a glyph from any font but ours fails the render."""
    monkeypatch.setattr(engine, "check_coverage", lambda document, style: None)
    with pytest.raises(RenderFailed, match="fonts outside the house style|notdef"):
        render_pdf(fx.document([Paragraph("泰文\u0e01")]), GBT)


def test_a_house_style_with_an_unreachable_font_fails() -> None:
    broken_face = FontFace(
        key="fangsong", family="x", file="../service/__init__.py", sha256="", role_name="仿宋"
    )
    broken = GBT.model_copy(
        update={"name": "broken-test", "faces": {**GBT.faces, "fangsong": broken_face}}
    )
    with pytest.raises(RenderFailed, match="a font of house style broken-test cannot be read"):
        render_pdf(fx.sample_document(), broken)
    with pytest.raises(RenderFailed, match="house style broken-test.*'..'"):
        engine.compiled_style(broken)


# --- shared resources and speed ------------------------------------------------------------


@pytest.fixture
def warm() -> Iterator[None]:
    warm_up(GBT)
    yield


def test_warm_renders_reuse_fonts_stylesheet_and_templates(
    warm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.font_config() is engine.font_config()
    assert engine.compiled_style(GBT) is engine.compiled_style(GBT)
    assert template("document.html.j2") is template("document.html.j2")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("created again during a warm render")

    monkeypatch.setattr(weasyprint.text.fonts.FontConfiguration, "__init__", forbidden)
    monkeypatch.setattr(engine, "CSS", forbidden)
    monkeypatch.setattr(engine, "build_css", forbidden)
    assert render_pdf(fx.sample_document(), GBT).startswith(b"%PDF-")


def test_the_house_style_faces_are_registered_where_they_lie(warm: None) -> None:
    """fontconfig is given the files of fonts/ themselves: WeasyPrint's folder for copies of
    @font-face files holds none of them (it exists only once a rule went to WeasyPrint's code,
    as a refused URL does), and every face of the style is registered once."""
    from service.render.pdf.css import family_name

    engine.compiled_style(GBT)
    config = engine.font_config()
    folder = getattr(config, "_folder", None)
    copies = {path.stat().st_size for path in Path(folder).iterdir()} if folder else set()
    assert not copies & {face.path.stat().st_size for face in GBT.faces.values()}
    registered = {(family, Path(path)) for family, path, _, _ in config._in_place}
    assert registered == {
        (family_name(key), face.path.resolve()) for key, face in GBT.faces.items()
    }


def test_a_font_face_rule_the_writer_does_not_write_goes_to_weasyprint(tmp_path: Path) -> None:
    """A rule with a descriptor outside the writer's four (here unicode-range) is WeasyPrint's
    to load, by copy, as before."""
    from service.render.pdf.fonts import InPlaceFontConfiguration

    config = InPlaceFontConfiguration()
    face = GBT.faces["fangsong"].path.as_uri()
    weasyprint.CSS(
        string=f"@font-face {{ font-family: x; src: url({face}); unicode-range: U+4E00-9FFF }}",
        url_fetcher=ClosedURLFetcher(),
        font_config=config,
    )
    assert not config._in_place
    assert config._folder is not None and any(Path(config._folder).iterdir())


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_the_cut_down_user_agent_stylesheet_changes_no_byte(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``user-agent.css`` covers every element the writer emits: WeasyPrint's full HTML5
    stylesheet gives the same PDF."""
    from service.pipeline import build

    _, document = build(path.read_bytes())
    style = load_house_style(document.meta.house_style)
    ours = render_pdf(document, style)
    monkeypatch.setattr(engine, "WriterHTML", weasyprint.HTML)
    assert render_pdf(document, style) == ours


def test_pdf_streams_are_deflated_at_the_writer_level(sample_pdf: bytes) -> None:
    streams = re.findall(
        rb"/Filter /FlateDecode.*?>>\s*stream\r?\n(.*?)\r?\nendstream", sample_pdf, re.DOTALL
    )
    assert len(streams) > 10
    for stream in streams:
        deflate = zlib.compressobj(engine.DEFLATE_LEVEL)
        assert deflate.compress(zlib.decompress(stream)) + deflate.flush() == stream


def test_warm_render_time(warm: None) -> None:
    document = fx.sample_document()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        render_pdf(document, GBT)
        times.append(time.perf_counter() - start)
    print(f"warm render of the sample document: {min(times) * 1000:.0f} ms")
    assert min(times) < 2.0


# --- the example payloads ------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_renders_with_every_text_in_order(path: Path) -> None:
    from service.pipeline import build

    _, document = build(path.read_bytes())
    style = load_house_style(document.meta.house_style)
    pdf = render_pdf(document, style)

    pages = rd.text(pdf, layout=True).split("\f")[:-1]
    flat = ""
    for number, page in enumerate(pages, start=1):
        page_text = re.sub(r"\s+", "", page)
        page_number = re.sub(r"\s+", "", style.page_number.text(number))
        assert page_text.endswith(page_number), f"page {number} ends with its number"
        flat += page_text.removesuffix(page_number)
    position = 0
    for expected in _reading_order(document):
        found = flat.find(re.sub(r"\s+", "", expected), position)
        assert found >= 0, f"missing or out of order: {expected[:40]}"
        position = found + 1
    rows = rd.fonts(pdf)
    assert all((row["emb"], row["sub"]) == ("yes", "yes") for row in rows)


def _reading_order(document: Document) -> list[str]:
    out = [document.title]
    for block in document.blocks:
        if isinstance(block, Table):
            out.append(block.caption)
            out += [column.title for column in block.columns]
            out += [cell for row in block.rows for cell in row.cells]
        elif isinstance(block, Heading):
            out.append(block.full_text)
        else:
            out.append(block.text)
    if document.signature:
        out += [document.signature.signer, document.signature.date_text]
    return out


@pytest.mark.parametrize("path", EXAMPLE_FILES[:3], ids=lambda p: p.stem)
def test_pdf_objects_serialised_once_give_pydyfs_bytes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydyf's own ``write`` (each object serialised twice) and ours (once) give the same
    bytes, and ours deflates each stream once."""
    import pydyf

    from service.pipeline import build
    from service.render.pdf import serialize

    _, document = build(path.read_bytes())
    style = load_house_style(document.meta.house_style)
    compressions = 0
    real = pydyf.zlib.compressobj

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal compressions
        compressions += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(pydyf.zlib, "compressobj", counting)
    ours = render_pdf(document, style)
    once = compressions
    monkeypatch.setattr(pydyf.PDF, "write", serialize._original_write)
    compressions = 0
    assert render_pdf(document, style) == ours
    assert compressions > 10
    assert once * 2 - 1 <= compressions <= once * 2


def test_a_face_subset_to_the_same_glyphs_again_takes_the_kept_subset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second render of a document subsets no face (every subset is kept) nor deflates
    its font streams again, and gives the bytes of a render with no subset kept; another
    document subsets only what is new."""
    from service.render.pdf import subsets

    subset_calls = 0
    real = subsets._original_subset

    def counting(*args: Any, **kwargs: Any) -> None:
        nonlocal subset_calls
        subset_calls += 1
        real(*args, **kwargs)

    monkeypatch.setattr(subsets, "_original_subset", counting)
    document = fx.sample_document()
    subsets.clear()
    first = render_pdf(document, GBT)
    faces = subset_calls
    assert faces >= 3
    assert render_pdf(document, GBT) == first
    assert subset_calls == faces
    assert len(subsets._deflated) == faces  # each kept subset's font stream deflated once
    other = fx.long_body_document()
    render_pdf(other, GBT)
    assert faces < subset_calls < 2 * faces
    subsets.clear()
    assert render_pdf(document, GBT) == first
    assert subset_calls > faces + 1


def test_glyph_arrays_given_harfbuzz_as_open_arrays_are_the_same_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WeasyPrint's font module gets an ``ffi`` that makes ``T[n]`` arrays of n items as
    ``T[]``: no new C type per length, and the PDF of WeasyPrint's own ``ffi``."""
    from service.render.pdf import subsets

    proxy = weasy_pdf_fonts.ffi
    assert isinstance(proxy, subsets._OpenArrays)
    sized = proxy.new("hb_codepoint_t[3]", [5, 6, 7])
    assert list(sized) == [5, 6, 7] and proxy.real.typeof(sized) == proxy.real.typeof(
        "hb_codepoint_t[]"
    )
    assert proxy.real.sizeof(proxy.new("hb_codepoint_t[4]")) == 16  # no items: as written
    document = fx.sample_document()
    subsets.clear()
    ours = render_pdf(document, GBT)
    monkeypatch.setattr(weasy_pdf_fonts, "ffi", proxy.real)
    subsets.clear()
    assert render_pdf(document, GBT) == ours
    subsets.clear()


def test_subsets_past_the_bound_are_dropped_with_their_deflated_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.render.pdf import subsets

    document = fx.sample_document()
    subsets.clear()
    kept = render_pdf(document, GBT)
    assert subsets._size == sum(len(data) for data in subsets._subsets.values()) > 0
    biggest = max(len(data) for data in subsets._subsets.values())
    monkeypatch.setattr(subsets, "MAX_BYTES", biggest - 1)
    subsets.clear()
    assert render_pdf(document, GBT) == kept
    assert biggest not in {len(data) for data in subsets._subsets.values()}
    assert subsets._size == sum(len(data) for data in subsets._subsets.values()) <= biggest - 1
    assert set(subsets._kept) == {id(data) for data in subsets._subsets.values()}
    assert {key[0] for key in subsets._deflated} <= set(subsets._kept)
    subsets.clear()
