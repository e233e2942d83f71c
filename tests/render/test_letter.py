"""A submission letter in GB/T 9704-2012 form: its geometry measured in our PDF (text boxes and
drawn rectangles, pdfplumber), its DOCX paragraph properties, and the DOCX as LibreOffice sets
it on a machine with no Chinese font (red 标志 and line, the 版记's rules at the page foot).

Lengths in mm from the top-left corner of the text block unless said otherwise. A line of body
text is one pitch (28.95 pt); the em box of 三号 text is centred in it.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from lxml import etree

from service import PROJECT_ROOT
from service.render.docx import render_docx
from service.render.letter import head_layout
from service.render.pdf import render_pdf
from service.style import load_house_style
from tests.render import docx_libreoffice as lo
from tests.render import pdf_reading
from tests.render.docx_fixtures import warm_docx_fonts  # noqa: F401  (session fixture)
from tests.render.letter_fixtures import ADDRESSEE, ORGAN_MARK, REFERENCE, letter, letter_head
from tests.render.pdf_reading import MM

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("warm_docx_fonts")]

GBT = load_house_style("gbt9704")
PAGE = GBT.page
TOP, LEFT = PAGE.margin_top_mm, PAGE.margin_left_mm
RIGHT = PAGE.width_mm - PAGE.margin_right_mm
BOTTOM = PAGE.height_mm - PAGE.margin_bottom_mm
PITCH = GBT.page.line_pitch_pt / MM
CHAR = PAGE.text_width_mm / PAGE.chars_per_line
HALF_LEADING_BODY = (GBT.page.line_pitch_pt - 16) / 2 / MM
HALF_LEADING_TITLE = (35 - 22) / 2 / MM
TOLERANCE = 1.0
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "letter"
SEALED = GBT.model_copy(
    update={"letter": GBT.letter.model_copy(update={"seal": "seals/sample.png"})}
)


@dataclass(frozen=True)
class Line:
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    text: str
    colour: Any


@dataclass(frozen=True)
class Rule:
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    colour: Any


@dataclass(frozen=True)
class Measured:
    lines: list[Line]
    rules: list[Rule]
    pages: int

    def line(self, start: str, page: int | None = None) -> Line:
        found = [
            ln
            for ln in self.lines
            if ln.text.replace(" ", "").startswith(start) and page in (None, ln.page)
        ]
        assert found, f"no line starting {start!r}"
        return found[0]


def measure(pdf: bytes) -> Measured:
    """Text lines (their em boxes) and filled rectangles of every page, in mm of the page."""
    lines: list[Line] = []
    rules: list[Rule] = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            for ln in page.extract_text_lines():
                colour = ln["chars"][0].get("non_stroking_color")
                lines.append(
                    Line(
                        number,
                        ln["top"] / MM,
                        ln["bottom"] / MM,
                        ln["x0"] / MM,
                        ln["x1"] / MM,
                        ln["text"],
                        colour,
                    )
                )
            for r in page.rects:
                rules.append(
                    Rule(
                        number,
                        r["top"] / MM,
                        r["bottom"] / MM,
                        r["x0"] / MM,
                        r["x1"] / MM,
                        r.get("non_stroking_color"),
                    )
                )
        return Measured(lines, rules, len(document.pages))


def is_red(colour: Any) -> bool:
    return tuple(colour or ()) == (1.0, 0.0, 0.0)


@cache
def letter_pdf(sealed: bool = False) -> bytes:
    return render_pdf(letter(), SEALED if sealed else GBT)


@cache
def measured(sealed: bool = False) -> Measured:
    return measure(letter_pdf(sealed))


def near(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return abs(value - expected) <= tolerance


# --- 版头 ----------------------------------------------------------------------------------


def test_mark_red_centred_35_mm_below_the_top_of_the_text_block() -> None:
    mark = measured().line(ORGAN_MARK)
    assert near(mark.top - TOP, 35), mark
    assert is_red(mark.colour)
    assert near(mark.x0 - LEFT, RIGHT - mark.x1)  # centred
    assert mark.x1 - mark.x0 <= PAGE.text_width_mm + 0.1  # reduced to fit the text width


def test_reference_two_lines_below_the_mark_one_character_in_level_with_the_signer() -> None:
    m = measured()
    mark = m.line(ORGAN_MARK)
    reference = m.line(REFERENCE)
    assert near(reference.top, mark.bottom + 2 * PITCH + HALF_LEADING_BODY), reference
    assert near(reference.x0 - LEFT, CHAR), reference
    # 签发人 stands on the same line, one character from the right edge.
    assert "签发人：张三" in reference.text.replace(" ", "")
    assert near(RIGHT - reference.x1, CHAR), reference


def test_signer_label_fangsong_and_names_kaiti() -> None:
    fonts = {run.text: run.font for run in pdf_reading.runs(letter_pdf()) if run.page == 1}
    assert any(
        text.startswith("签发人") and font.endswith("fangsong") for text, font in fonts.items()
    )
    assert fonts.get("张三", "").endswith("kai"), fonts


def test_red_line_text_block_wide_4_mm_below_the_reference() -> None:
    m = measured()
    reference = m.line(REFERENCE)
    (red,) = [r for r in m.rules if r.page == 1 and is_red(r.colour)]
    assert near(red.top, reference.bottom + 4)
    assert near(red.x0, LEFT, 0.2) and near(red.x1, RIGHT, 0.2)
    assert near(red.bottom - red.top, GBT.letter.red_line_mm, 0.05)


def test_centred_reference_without_signers() -> None:
    doc = letter(signers=())
    m = measure(render_pdf(doc, GBT))
    reference = m.line(REFERENCE)
    assert reference.text.replace(" ", "") == REFERENCE
    assert near(reference.x0 - LEFT, RIGHT - reference.x1)


def test_corner_lines_top_left_in_order() -> None:
    m = measured()
    copy_number, urgency = m.line("000001"), m.line("特急")
    assert near(copy_number.x0, LEFT, 0.2) and near(urgency.x0, LEFT, 0.2)
    assert near(copy_number.top, TOP + HALF_LEADING_BODY)
    assert near(urgency.top, copy_number.top + PITCH)


# --- 主体 ----------------------------------------------------------------------------------


def test_title_two_lines_below_the_red_line_and_broken_at_words() -> None:
    m = measured()
    (red,) = [r for r in m.rules if r.page == 1 and is_red(r.colour)]
    title = m.line("小康人寿保险有限责任公司关于")
    assert near(title.top, red.bottom + 2 * PITCH + HALF_LEADING_TITLE), title
    texts = [ln.text.replace(" ", "") for ln in m.lines if ln.page == 1]
    start = texts.index("小康人寿保险有限责任公司关于")
    assert texts[start : start + 3] == [
        "小康人寿保险有限责任公司关于",
        "报送2023年度消费者权益保护",
        "工作重大信息披露的报告",
    ]


def test_addressee_one_line_below_the_title_flush_left_with_a_full_width_colon() -> None:
    m = measured()
    last_title = m.line("工作重大信息披露的报告")
    addressee = m.line(ADDRESSEE)
    title_line_bottom = last_title.bottom + HALF_LEADING_TITLE
    assert near(addressee.top, title_line_bottom + PITCH + HALF_LEADING_BODY), addressee
    assert near(addressee.x0, LEFT, 0.2)
    assert addressee.text.endswith("：")


def test_attachment_note_signature_date_and_note() -> None:
    m = measured()
    note = m.line("附件：")
    assert near(note.x0 - LEFT, 2 * CHAR)
    more = m.lines[m.lines.index(note) + 1]
    assert near(more.x0 - LEFT, 5 * CHAR)  # a wrapped name under the name's first character
    signer = m.line("小康人寿保险有限责任公司", page=note.page)
    date = m.line("2024年1月12日", page=note.page)
    assert near(signer.top, more.bottom + HALF_LEADING_BODY + PITCH + HALF_LEADING_BODY)
    assert near(RIGHT - signer.x1, 2 * CHAR)  # §7.3.5.2: two characters from the right
    assert near(date.x0, signer.x0 + 2 * CHAR)  # the date two characters right of the 署名
    assert near(date.top, signer.top + PITCH)
    remark = m.line("（联系人：王五")
    assert near(remark.x0 - LEFT, 2 * CHAR) and remark.text.endswith("）")
    assert near(remark.top, date.top + PITCH)


def test_annex_new_page_label_top_left_in_hei_title_on_the_third_line() -> None:
    m = measured()
    note = m.line("附件：")
    label = next(ln for ln in m.lines if ln.text == "附件")
    assert label.page > note.page
    assert near(label.x0, LEFT, 0.2) and near(label.top, TOP + HALF_LEADING_BODY)
    fonts = {(r.page, r.text): r.font for r in pdf_reading.runs(letter_pdf())}
    assert fonts[(label.page, "附件")].endswith("hei")
    title = m.lines[m.lines.index(label) + 1]
    assert near(title.top, TOP + 2 * PITCH + HALF_LEADING_TITLE), title
    assert near(title.x0 - LEFT, RIGHT - title.x1)


# --- 版记 ----------------------------------------------------------------------------------


def test_record_between_rules_last_on_the_bottom_edge_of_the_last_page() -> None:
    m = measured()
    last = m.pages
    rules = sorted(
        (r for r in m.rules if r.page == last and not is_red(r.colour)), key=lambda r: r.top
    )
    assert [round(r.bottom - r.top, 2) for r in rules] == [0.35, 0.25, 0.35]
    assert all(near(r.x0, LEFT, 0.2) and near(r.x1, RIGHT, 0.2) for r in rules)
    assert near(rules[-1].bottom, BOTTOM, 0.05)
    copies = m.line("抄送：", page=last)
    printed = m.line("小康人寿保险有限责任公司办公室", page=last)
    assert rules[0].bottom < copies.top < rules[1].top < printed.top < rules[2].top
    assert near(copies.x0 - LEFT, GBT.letter.record_size_pt / MM)  # one character in
    assert printed.text.endswith("印发")
    assert near(RIGHT - printed.x1, GBT.letter.record_size_pt / MM)


def page_numbers(pdf: bytes) -> list[list[str]]:
    return [re.findall(r"—\s*\d+\s*—", text) for text in pdf_reading.page_texts(pdf)]


def test_blank_page_and_record_page_carry_no_page_number() -> None:
    """Seven paragraphs end the text on page 2 with no room for the 版记: page 3 stays blank
    and the 版记 stands on page 4, the back of the second sheet; neither carries a number."""
    pdf = render_pdf(letter(body_paragraphs=7, carried=False), GBT)
    assert page_numbers(pdf) == [["—1—"], ["—2—"], [], []]
    texts = pdf_reading.page_texts(pdf)
    assert texts[2].strip() == "" and "印发" in texts[3]


def test_record_on_the_next_even_page_keeps_its_number_without_blank_pages() -> None:
    pdf = render_pdf(letter(body_paragraphs=1, carried=False), GBT)
    assert page_numbers(pdf) == [["—1—"], ["—2—"]]
    assert "印发" in pdf_reading.page_texts(pdf)[1]


def test_record_may_share_the_last_page_when_the_style_allows_odd_pages() -> None:
    odd = GBT.model_copy(
        update={"letter": GBT.letter.model_copy(update={"record_on_even_page": False})}
    )
    short = letter(body_paragraphs=1, carried=False)
    assert short.letter is not None
    short = replace(
        short,
        title="关于报送信息披露的报告",
        letter=replace(short.letter, attachments=(), note=None),
    )
    pdf = render_pdf(short, odd)
    m = measure(pdf)
    assert m.pages == 1
    assert page_numbers(pdf) == [["—1—"]]
    assert near(max(r.bottom for r in m.rules if not is_red(r.colour)), BOTTOM, 0.05)


# --- 印章 ----------------------------------------------------------------------------------


def test_seal_over_the_signature_centre_a_little_above_it() -> None:
    with pdfplumber.open(io.BytesIO(letter_pdf(sealed=True))) as document:
        images = [(n, im) for n, p in enumerate(document.pages, 1) for im in p.images]
    assert len(images) == 1
    page, image = images[0]
    m = measured(sealed=True)
    signer = m.line("小康人寿保险有限责任公司", page=page)
    date = m.line("2024年1月12日", page=page)
    diameter = GBT.letter.seal_diameter_mm
    top, x0 = image["top"] / MM, image["x0"] / MM
    assert near(image["width"] / MM, diameter) and near(image["height"] / MM, diameter)
    centre_y, centre_x = top + diameter / 2, x0 + diameter / 2
    middle = (signer.top + date.bottom) / 2
    assert 0 < middle - centre_y < PITCH / 2  # 署名 and 日期 a little below the seal's centre
    assert near(centre_x, (date.x0 + date.x1) / 2)  # centred over the date
    assert near(RIGHT - date.x1, 4 * CHAR)  # §7.3.5.1: the date four characters from the right
    assert near((signer.x0 + signer.x1) / 2, (date.x0 + date.x1) / 2)  # 署名 centred on it
    text_above = max(ln.bottom for ln in m.lines if ln.page == page and ln.bottom < signer.top)
    assert top - text_above < PITCH  # the seal's top within one line of the text


def test_seal_must_be_a_png_under_house_styles(tmp_path: Path) -> None:
    from service.style.house_style import check_seal_image

    check_seal_image("test", "seals/sample.png")
    for bad in ("../gbt9704.toml", "gbt9704.toml", "seals/none.png"):
        with pytest.raises(ValueError, match="letter.seal"):
            check_seal_image("test", bad)


# --- DOCX ----------------------------------------------------------------------------------


def docx_part(data: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return etree.fromstring(archive.read(name))


def paragraphs(body: etree._Element) -> list[etree._Element]:
    return list(body.iter(f"{W}p"))


def text_of(p: etree._Element) -> str:
    return "".join(t.text or "" for t in p.iter(f"{W}t"))


def attr(p: etree._Element, path: str, name: str) -> str | None:
    found = p.find(path)
    return None if found is None else found.get(f"{W}{name}")


@cache
def letter_docx(sealed: bool = False) -> bytes:
    return render_docx(letter(), SEALED if sealed else GBT)


def test_docx_head_paragraphs_carry_the_pdf_geometry() -> None:
    data = letter_docx()
    body = docx_part(data, "word/document.xml")
    styles = docx_part(data, "word/styles.xml")
    ps = paragraphs(body)
    by_text = {text_of(p): p for p in ps}
    layout = head_layout(letter_head(), GBT)
    pitch = round(GBT.page.line_pitch_pt * 20)
    mark = by_text[ORGAN_MARK]
    assert attr(mark, f"{W}pPr/{W}pStyle", "val") == "LetterMark"
    # Two corner lines above, then the space that puts the mark's top edge 35 mm below the top
    # of the text block: less the gap between its line's top and its em box (the face's win
    # ascent over its em ascent, a few points), which LibreOffice's rendering then confirms.
    before = int(attr(mark, f"{W}pPr/{W}spacing", "before") or 0)
    gap = round(layout.mark_top_pt * 20) - 2 * pitch - before
    assert 0 < gap < 0.2 * layout.mark_size_pt * 20
    assert attr(mark, f"{W}pPr/{W}spacing", "lineRule") == "exact"
    mark_style = styles.find(f"{W}style[@{W}styleId='LetterMark']")
    assert mark_style is not None
    assert attr(mark_style, f"{W}rPr/{W}color", "val") == "FF0000"
    assert attr(mark_style, f"{W}pPr/{W}jc", "val") == "center"
    reference = next(p for p in ps if text_of(p).startswith(REFERENCE))
    char = int(GBT.page.text_width_mm * MM * 20 // PAGE.chars_per_line)
    assert attr(reference, f"{W}pPr/{W}ind", "left") == str(char)
    assert text_of(reference) == f"{REFERENCE}签发人：张三"
    red = ps[ps.index(reference) + 1]
    assert attr(red, f"{W}pPr/{W}pBdr/{W}top", "color") == "FF0000"
    assert text_of(red) == ""
    title = ps[ps.index(red) + 1]
    assert attr(title, f"{W}pPr/{W}pStyle", "val") == "Title"
    assert [br.tag for br in title.iter(f"{W}br")] == [f"{W}br"] * 2  # the model's breaks
    addressee = ps[ps.index(title) + 1]
    assert text_of(addressee) == f"{ADDRESSEE}："
    assert attr(addressee, f"{W}pPr/{W}pStyle", "val") == "LetterAddressee"


def test_docx_signature_record_and_annex() -> None:
    body = docx_part(letter_docx(), "word/document.xml")
    ps = paragraphs(body)
    signers = [p for p in ps if attr(p, f"{W}pPr/{W}pStyle", "val") == "Signature"]
    dates = [p for p in ps if attr(p, f"{W}pPr/{W}pStyle", "val") == "Date"]
    char = int(GBT.page.text_width_mm * MM * 20 // PAGE.chars_per_line)
    # The 署名 two characters from the right by its style, the date by its own indent.
    styles = docx_part(letter_docx(), "word/styles.xml")
    signature_style = styles.find(f"{W}style[@{W}styleId='Signature']")
    assert signature_style is not None
    assert attr(signature_style, f"{W}pPr/{W}ind", "right") == str(2 * char)
    assert [attr(p, f"{W}pPr/{W}ind", "right") for p in signers] == [None, None]
    assert [attr(p, f"{W}pPr/{W}ind", "right") for p in dates] == [str(round(5.5 * char))] * 2
    labels = [p for p in ps if attr(p, f"{W}pPr/{W}pStyle", "val") == "AnnexLabel"]
    assert [text_of(p) for p in labels] == ["附件"]
    boxes = list(
        body.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}anchor")
    )
    (record,) = boxes
    align = record.find(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}positionV/"
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}align"
    )
    assert align is not None and align.text == "bottom"
    table = record.find(f".//{W}tbl")
    assert table is not None
    rules = table.find(f"{W}tblPr/{W}tblBorders")
    assert rules is not None
    borders = {etree.QName(b).localname: b.get(f"{W}sz") for b in rules}
    assert borders == {
        "top": "8",
        "left": None,
        "bottom": "8",
        "right": None,
        "insideH": "6",
        "insideV": None,
    }
    assert [text_of(p) for p in table.iter(f"{W}p")] == [
        "抄送：国家金融监督管理总局消费者权益保护局。",
        "小康人寿保险有限责任公司办公室2024年1月12日印发",
    ]


def test_docx_seal_anchored_behind_the_signature() -> None:
    data = letter_docx(sealed=True)
    body = docx_part(data, "word/document.xml")
    wp = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
    seals = [a for a in body.iter(f"{wp}anchor") if a.get("behindDoc") == "1"]
    assert len(seals) == 1
    paragraph = next(a for a in seals[0].iterancestors(f"{W}p"))
    assert text_of(paragraph) == "小康人寿保险有限责任公司"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert any(name.startswith("word/media/") for name in archive.namelist())


def test_docx_read_by_libreoffice_without_cjk_fonts_shows_red_elements_and_rules(
    tmp_path: Path,
) -> None:
    if not lo.available() or lo.latin_font() is None:
        pytest.fail("LibreOffice and poppler are needed (make test installs them)")
    font = lo.latin_font()
    assert font is not None
    sandbox = lo.Sandbox.create(tmp_path / "lo", font)
    source = tmp_path / "letter.docx"
    source.write_bytes(letter_docx(sealed=True))
    (pdf_path,) = sandbox.convert([source], tmp_path / "out")
    lo.render_pngs(pdf_path, ARTIFACTS)
    fonts = lo.pdf_fonts(pdf_path)
    assert not [
        f for f in fonts if "DejaVu" not in f and "Fandol" not in f and "Liberation" not in f
    ]
    with pdfplumber.open(pdf_path) as document:
        first, last = document.pages[0], document.pages[-1]
        names = [c for c in first.chars if c["text"] in "张三"]
        assert names and all("FandolKai" in c["fontname"] for c in names), names
        red_chars = [c for c in first.chars if is_red(c.get("non_stroking_color"))]
        assert "".join(c["text"] for c in red_chars) == ORGAN_MARK
        red_lines = [
            ln
            for ln in first.lines + first.rects
            if is_red(ln.get("stroking_color")) or is_red(ln.get("non_stroking_color"))
        ]
        assert red_lines, "no red line on the first page"
        red_top = min(ln["top"] for ln in red_lines) / MM
        # The same geometry as our PDF, to a millimetre: 标志, red line, title.
        pdf = measured(sealed=True)
        assert near(min(c["top"] for c in red_chars) / MM, pdf.line(ORGAN_MARK).top)
        (ours,) = [r for r in pdf.rules if r.page == 1 and is_red(r.colour)]
        assert near(red_top, ours.top)
        title_top = min(
            c["top"]
            for c in first.chars
            if c["size"] > 20 and not is_red(c.get("non_stroking_color"))
        )
        assert near(title_top / MM, pdf.line("小康人寿保险有限责任公司关于").top)
        rules = sorted(
            (ln for ln in last.lines + last.rects if not is_red(ln.get("stroking_color"))),
            key=lambda ln: ln["top"],
        )
        bottoms = [ln["bottom"] / MM for ln in rules if ln["x1"] / MM - ln["x0"] / MM > 150]
        assert len(bottoms) >= 3
        assert near(max(bottoms), BOTTOM)
        assert len(last.images) + sum(len(p.images) for p in document.pages[:-1]) == 1


def test_letter_pdf_passes_the_archival_checks() -> None:
    from service.render.attachments import EmbeddedFile
    from tests.render.pdf_conformance import archival_problems, reading_order

    payload = EmbeddedFile("payload.json", b"{}", "data", "Source")
    pdf = render_pdf(letter(), SEALED, (payload,))
    assert archival_problems(pdf) == []
    order = [text for _, kind, text in reading_order(pdf) if kind in ("P", "H1")]
    assert order.index(ORGAN_MARK) < order.index(f"{ADDRESSEE}：") < order.index("附件")


def test_several_signers_two_a_line_the_last_line_level_with_the_reference() -> None:
    pdf = render_pdf(letter(signers=("张三", "李四", "王五")), GBT)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        chars = {c["text"]: c for c in document.pages[0].chars if c["text"] in "张李王小"}
        reference_first = min(
            (c for c in document.pages[0].chars if c["text"] == "小" and c["top"] / MM > 100),
            key=lambda c: c["x0"],
        )
    zhang, li, wang = chars["张"], chars["李"], chars["王"]
    assert near(zhang["top"], li["top"], 0.1)  # two names on the first line
    assert near((wang["top"] - zhang["top"]) / MM, PITCH)  # the third on the next
    assert near(wang["x0"] / MM, zhang["x0"] / MM)  # under the first name
    assert near(wang["top"] / MM, reference_first["top"] / MM)  # level with the 发文字号
