"""The DOCX writer, checked on the package it writes: XML parts, python-docx reopening it, fonts.

LibreOffice's reading of the same files is in ``test_docx_libreoffice.py``.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from service.errors import RenderFailed
from service.formats import MARKS_NAMESPACE
from service.model import Document, Heading
from service.model.numbering import heading_label
from service.render.docx import (
    FontEmbeddingForbidden,
    NumberingMismatch,
    embed_face,
    render_docx,
)
from service.render.docx import fonts as docx_fonts
from service.render.docx.fonts import editable_characters, gb2312_characters, obfuscate, zipmath
from service.render.docx.fonts import glyphs as glyph_store
from service.render.docx.fonts.charsets import (
    CHINESE_NUMERALS,
    label_characters,
    reserve_characters,
)
from service.render.docx.styles import roles_by_style_id
from service.render.parity import read_docx
from service.style import load_house_style
from service.style.coverage import face_codepoints
from service.style.house_style import FontFace, HouseStyle
from tests.conftest import EXAMPLES
from tests.render import docx_fixtures as fx
from tests.render.docx_fixtures import warm_docx_fonts  # noqa: F401  (session fixture)

pytestmark = pytest.mark.usefixtures("warm_docx_fonts")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R, "a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
REFERENCE_JSON = EXAMPLES / "xiaokang-life-2023.json"


def w(name: str) -> str:
    return f"{{{W}}}{name}"


def one(parent: etree._Element, path: str) -> etree._Element:
    """The element at ``path`` (``w:`` prefixes) under ``parent``; the test fails without it."""
    found = parent.find(path, NS)
    assert found is not None, f"no {path} in {etree.QName(parent).localname}"
    return found


def attr(element: etree._Element, name: str) -> str:
    """The attribute ``name`` (a Clark name, as :func:`w` makes) of ``element``; the test fails
    without it."""
    value = element.get(name)
    assert value is not None, f"no {name} on {etree.QName(element).localname}"
    return value


class Package:
    """A rendered DOCX opened as its parts."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.zip.read(name))

    def style(self, style_id: str) -> etree._Element:
        found = self.xml("word/styles.xml").find(f"w:style[@w:styleId='{style_id}']", NS)
        assert found is not None, f"no style {style_id}"
        return found

    def rels(self, name: str) -> dict[str, tuple[str, str]]:
        root = self.xml(name)
        return {attr(r, "Id"): (attr(r, "Type"), attr(r, "Target")) for r in root.iter(PKG_RELS)}


@pytest.fixture(scope="module")
def sample() -> Document:
    return fx.sample_document()


@pytest.fixture(scope="module")
def sample_docx(sample: Document) -> Package:
    return Package(render_docx(sample, fx.GBT))


@pytest.fixture(scope="module")
def reference_document() -> Document:
    if not REFERENCE_JSON.exists():
        pytest.skip("reference example not present")
    from service.kinds import parse_payload
    from service.report import build_document

    return build_document(parse_payload(REFERENCE_JSON.read_bytes()))


# --- python-docx reopens it -----------------------------------------------------------------


def test_python_docx_reopens_with_heading_styles_and_numbering(
    sample: Document, sample_docx: Package
) -> None:
    reopened = docx.Document(io.BytesIO(sample_docx.data))
    headings = [
        (p, p.style)
        for p in reopened.paragraphs
        if p.style is not None and p.style.name.startswith("Heading")
    ]
    model = sample.headings
    assert [style.name for _, style in headings] == [f"Heading {h.level}" for h in model]
    assert [p.text for p, _ in headings] == [h.text for h in model], "labels are not typed text"
    for (_, style), heading in zip(headings, model, strict=False):
        numpr = style.element.find("w:pPr/w:numPr", NS)
        assert numpr is not None, f"{style.name} carries no numbering"
        assert one(numpr, "w:ilvl").get(w("val")) == str(heading.level - 1)
        assert one(numpr, "w:numId").get(w("val")) == "1"
        assert one(style.element, "w:pPr/w:outlineLvl").get(w("val")) == str(heading.level - 1)


@pytest.mark.parametrize(
    "make",
    [fx.sample_document, lambda: fx.sample_document(2), fx.numbering_document],
    ids=["from-1", "from-2", "1-120"],
)
def test_numbering_shown_is_the_models_labels(make: Callable[[], Document]) -> None:
    document = make()
    items = [i for i in read_docx(render_docx(document, fx.GBT)) if i.kind == "heading"]
    assert [i.label for i in items] == [h.label for h in document.headings]
    assert [i.level for i in items] == [h.level for h in document.headings]


def test_ladder_starting_at_level_two_uses_heading_2() -> None:
    items = [
        i for i in read_docx(render_docx(fx.sample_document(2), fx.GBT)) if i.kind == "heading"
    ]
    assert items[0].label == "（一）" and items[0].level == 2
    assert all(i.level != 1 for i in items)


def test_numbering_definitions(sample_docx: Package) -> None:
    numbering = sample_docx.xml("word/numbering.xml")
    levels = numbering.findall("w:abstractNum/w:lvl", NS)
    got = [
        (
            one(lvl, "w:numFmt").get(w("val")),
            one(lvl, "w:lvlText").get(w("val")),
            one(lvl, "w:pStyle").get(w("val")),
            one(lvl, "w:suff").get(w("val")),
        )
        for lvl in levels
    ]
    assert got == [
        ("chineseCounting", "%1、", "Heading1", "nothing"),
        ("chineseCounting", "（%2）", "Heading2", "nothing"),
        ("decimal", "%3.", "Heading3", "nothing"),
        ("decimal", "（%4）", "Heading4", "nothing"),
    ]
    num = one(numbering, "w:num")
    assert num.get(w("numId")) == "1" and one(num, "w:abstractNumId").get(w("val")) == "0"
    for n, lvl in enumerate(levels, start=1):  # the level's marker agrees with the model's ladder
        text = attr(one(lvl, "w:lvlText"), w("val"))
        fmt = one(lvl, "w:numFmt").get(w("val"))
        shown = text.replace(f"%{n}", "十一" if fmt == "chineseCounting" else "11")
        assert shown == heading_label(n, 11)


def test_numbers_that_word_would_not_show_are_refused() -> None:
    skipped = fx.document([fx.heading(1, 1), fx.heading(1, 3)])
    with pytest.raises(NumberingMismatch) as error:
        render_docx(skipped, fx.GBT)
    assert isinstance(error.value, RenderFailed) and error.value.code == "docx_numbering_mismatch"
    wrong_label = fx.document([Heading(2, 1, "(一)", "half-width parentheses")])
    with pytest.raises(NumberingMismatch):
        render_docx(wrong_label, fx.GBT)


# --- styles ---------------------------------------------------------------------------------


PARAGRAPH_STYLES = {
    "Normal": "body",
    "Title": "title",
    "Subtitle": "lead",
    "Heading1": "heading1",
    "Heading2": "heading2",
    "Heading3": "heading3",
    "Heading4": "heading4",
    "Caption": "caption",
    "Note": "note",
    "TableText": "table",
    "TableTextRight": "table",
    "TableTextSub": "table",
    "TableHeading": "table",
    "Signature": "signature",
    "Date": "signature",
    "Footer": "page_number",
    "FooterEven": "page_number",
}


@pytest.mark.parametrize("style_id, role", PARAGRAPH_STYLES.items())
def test_every_style_names_east_asian_and_latin_faces(
    sample_docx: Package, style_id: str, role: str
) -> None:
    style = sample_docx.style(style_id)
    fonts = one(style, "w:rPr/w:rFonts")
    assert fonts.get(w("eastAsia")) == fx.GBT.face_of(role).family
    assert fonts.get(w("ascii")) == fonts.get(w("hAnsi")) == fx.GBT.latin_face_of(role).family
    assert not any("Theme" in a or "theme" in a for a in fonts.attrib)
    assert one(style, "w:rPr/w:lang").get(w("eastAsia")) == "zh-CN"
    size = fx.GBT.role(role).size_pt
    assert one(style, "w:rPr/w:sz").get(w("val")) == str(round(size * 2))


@pytest.mark.parametrize(
    "style_id, line_twips, align",
    [
        ("Normal", 579, "both"),
        ("Title", 700, "center"),
        ("Heading1", 579, "both"),
        ("Caption", 480, "center"),
        ("TableText", 400, "left"),
        ("TableTextRight", 400, "right"),
        ("Footer", 280, "right"),
        ("FooterEven", 280, "left"),
    ],
)
def test_exact_line_pitch_and_alignment(
    sample_docx: Package, style_id: str, line_twips: int, align: str
) -> None:
    ppr = one(sample_docx.style(style_id), "w:pPr")
    spacing = one(ppr, "w:spacing")
    assert spacing.get(w("lineRule")) == "exact" and spacing.get(w("line")) == str(line_twips)
    assert one(ppr, "w:jc").get(w("val")) == align


def test_body_indent_in_characters_and_twips(sample_docx: Package) -> None:
    ind = one(sample_docx.style("Normal"), "w:pPr/w:ind")
    assert ind.get(w("firstLineChars")) == "200"
    assert ind.get(w("firstLine")) == "630", "two grid characters of 15.75 pt"
    heading_ind = one(sample_docx.style("Heading2"), "w:pPr/w:ind")
    assert (
        heading_ind.get(w("firstLineChars")) == "200" and heading_ind.get(w("firstLine")) == "630"
    )
    assert one(sample_docx.style("Title"), "w:pPr/w:ind").get(w("firstLine")) == "0"


def test_grid_of_28_characters(sample_docx: Package) -> None:
    """Body-size text is condensed so 28 characters fill the 156 mm line (twips: 315 x 28 <= 8845)."""
    spacing = one(sample_docx.style("Normal"), "w:rPr/w:spacing")
    assert spacing.get(w("val")) == "-5"
    assert sample_docx.style("TableText").find("w:rPr/w:spacing", NS) is None


def test_footer_insets_one_character(sample_docx: Package) -> None:
    odd = one(sample_docx.style("Footer"), "w:pPr/w:ind")
    even = one(sample_docx.style("FooterEven"), "w:pPr/w:ind")
    assert odd.get(w("right")) == "280" and odd.get(w("rightChars")) == "100"
    assert even.get(w("left")) == "280" and even.get(w("leftChars")) == "100"


def test_theme_and_settings_are_chinese_not_japanese(sample_docx: Package) -> None:
    settings = sample_docx.xml("word/settings.xml")
    assert one(settings, "w:themeFontLang").get(w("eastAsia")) == "zh-CN"
    theme = sample_docx.zip.read("word/theme/theme1.xml").decode()
    assert (
        "ＭＳ"
        not in etree.tostring(one(etree.fromstring(theme.encode()), ".//a:majorFont/a:ea")).decode()
    )
    for slot, role in (("majorFont", "heading1"), ("minorFont", "body")):
        ea = one(etree.fromstring(theme.encode()), f".//a:{slot}/a:ea")
        assert ea.get("typeface") == fx.GBT.face_of(role).family
    defaults = one(sample_docx.xml("word/styles.xml"), "w:docDefaults/w:rPrDefault/w:rPr")
    assert one(defaults, "w:lang").get(w("eastAsia")) == "zh-CN"
    assert one(defaults, "w:rFonts").get(w("eastAsia")) == "FandolFang"


def test_no_direct_formatting_in_body(sample_docx: Package) -> None:
    """Paragraphs carry a style and nothing else (the exceptions: the title's space after, when
    no lead line follows it, and the date's right indent, which GB/T 9704 §7.3.5.2 derives from
    the signer's and the date's lengths); runs carry nothing but, for characters outside a
    face's fixed set, the overflow font that draws them."""
    body = one(sample_docx.xml("word/document.xml"), "w:body")
    overflow = set(_font_parts(sample_docx)) - {f.family for f in fx.GBT.used_faces()}
    for p in body.iter(w("p")):
        ppr = p.find("w:pPr", NS)
        text = "".join(t.text or "" for t in p.iter(w("t")))
        allowed = [["pStyle"], ["pStyle", "ind"]] if text == fx.SIGN_DATE else [["pStyle"]]
        assert ppr is None or [etree.QName(c).localname for c in ppr] in allowed
        for rpr in p.findall("w:r/w:rPr", NS):
            assert [etree.QName(c).localname for c in rpr] == ["rFonts"]
            assert len(set(rpr[0].attrib.values())) == 1 and rpr[0].get(w("ascii")) in overflow


def test_title_spacing_depends_on_lead() -> None:
    with_lead = Package(render_docx(fx.sample_document(), fx.GBT))
    without = Package(render_docx(fx.long_document(2), fx.GBT))
    assert with_lead.xml("word/document.xml").find(".//w:p/w:pPr/w:spacing", NS) is None
    spacing = one(without.xml("word/document.xml"), ".//w:p/w:pPr/w:spacing")
    assert spacing.get(w("after")) == "579"
    assert with_lead.style("Subtitle").find("w:pPr/w:contextualSpacing", NS) is not None


# --- page -----------------------------------------------------------------------------------


def test_page_setup_and_grid(sample_docx: Package) -> None:
    sect = one(sample_docx.xml("word/document.xml"), "w:body/w:sectPr")
    size, margins = one(sect, "w:pgSz"), one(sect, "w:pgMar")
    assert (size.get(w("w")), size.get(w("h"))) == ("11906", "16838")
    got = {k: margins.get(w(k)) for k in ("top", "bottom", "left", "right", "footer")}
    # 37, 35, 28, 26 mm; footer: (35 - 7) mm minus one 14 pt line
    assert got == {
        "top": "2098",
        "bottom": "1984",
        "left": "1587",
        "right": "1474",
        "footer": "1307",
    }
    grid = one(sect, "w:docGrid")
    assert grid.get(w("type")) == "lines" and grid.get(w("linePitch")) == "579"
    assert not [a for e in sect.iter() for a in e.attrib if "rsid" in a]


def test_odd_and_even_footers_with_page_field(sample_docx: Package) -> None:
    assert sample_docx.xml("word/settings.xml").find("w:evenAndOddHeaders", NS) is not None
    sect = one(sample_docx.xml("word/document.xml"), "w:body/w:sectPr")
    refs = {
        attr(r, w("type")): attr(r, f"{{{R}}}id") for r in sect.findall("w:footerReference", NS)
    }
    assert set(refs) == {"default", "even"}
    rels = sample_docx.rels("word/_rels/document.xml.rels")
    for kind, style_id in (("default", "Footer"), ("even", "FooterEven")):
        footer = sample_docx.xml("word/" + rels[refs[kind]][1])
        p = one(footer, "w:p")
        assert one(p, "w:pPr/w:pStyle").get(w("val")) == style_id
        assert "".join(t.text or "" for t in p.iter(w("instrText"))).strip() == "PAGE"
        texts = [t.text for t in p.iter(w("t"))]
        assert texts == ["— ", "1", " —"]
        assert [f.get(w("fldCharType")) for f in p.iter(w("fldChar"))] == [
            "begin",
            "separate",
            "end",
        ]


# --- tables ---------------------------------------------------------------------------------


def test_table_caption_above_header_repeated_rows_unsplit(
    sample: Document, sample_docx: Package
) -> None:
    body = one(sample_docx.xml("word/document.xml"), "w:body")
    children = list(body)
    tables = [i for i, el in enumerate(children) if el.tag == w("tbl")]
    assert len(tables) == len(sample.tables)
    for index, model in zip(tables, sample.tables, strict=False):
        caption = children[index - 1]
        assert one(caption, "w:pPr/w:pStyle").get(w("val")) == "Caption"
        assert "".join(t.text or "" for t in caption.iter(w("t"))) == model.caption
        rows = children[index].findall("w:tr", NS)
        assert len(rows) == 1 + len(model.rows)
        assert rows[0].find("w:trPr/w:tblHeader", NS) is not None
        assert all(r.find("w:trPr/w:tblHeader", NS) is None for r in rows[1:])
        assert all(r.find("w:trPr/w:cantSplit", NS) is not None for r in rows)
        styles = [
            [one(c, "w:p/w:pPr/w:pStyle").get(w("val")) for c in r.findall("w:tc", NS)]
            for r in rows
        ]
        assert styles[0] == ["TableHeading"] * 3
        for n, (row, model_row) in enumerate(zip(styles[1:], model.rows, strict=False)):
            kept = "First" if n == 0 else ""
            first = "TableTextSub" if model_row.kind == "sub" else f"TableText{kept}"
            assert row == [first, f"TableTextRight{kept}", f"TableTextRight{kept}"]
        widths = [int(attr(g, w("w"))) for g in children[index].findall("w:tblGrid/w:gridCol", NS)]
        assert sum(widths) == 8845
    assert sample_docx.style("Caption").find("w:pPr/w:keepNext", NS) is not None


def test_a_table_keeps_its_caption_header_and_first_body_row_with_the_next_row(
    sample: Document, sample_docx: Package
) -> None:
    """Keep-with-next, by style, on the caption, the header row and the first body row: never
    fewer than two body rows under the header at a page foot."""
    body = one(sample_docx.xml("word/document.xml"), "w:body")

    def kept(style_id: str) -> bool:
        return sample_docx.style(style_id).find("w:pPr/w:keepNext", NS) is not None

    for tbl, model in zip(body.findall("w:tbl", NS), sample.tables, strict=True):
        rows = [
            [kept(attr(one(c, "w:p/w:pPr/w:pStyle"), w("val"))) for c in r.findall("w:tc", NS)]
            for r in tbl.findall("w:tr", NS)
        ]
        assert rows[0] == [True] * len(model.columns)
        assert rows[1] == [len(model.rows) >= 2] * len(model.columns)
        assert not any(any(row) for row in rows[2:])


def test_table_style_borders(sample_docx: Package) -> None:
    borders = one(sample_docx.style("StatisticsTable"), "w:tblPr/w:tblBorders")
    assert {etree.QName(b).localname: (b.get(w("val")), b.get(w("sz"))) for b in borders} == {
        side: ("single", "6") for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    }
    indent = one(sample_docx.style("TableTextSub"), "w:pPr/w:ind")
    assert indent.get(w("left")) == "240" and indent.get(w("leftChars")) == "100"


# --- properties and reproducibility ---------------------------------------------------------


def test_core_properties(sample: Document, sample_docx: Package) -> None:
    props = docx.Document(io.BytesIO(sample_docx.data)).core_properties
    meta = sample.meta
    assert (props.title, props.author, props.subject) == (meta.title, meta.author, meta.subject)
    assert props.keywords == ", ".join(meta.keywords)
    assert props.language == "zh-CN"
    assert props.created == props.modified == datetime(2024, 1, 12, tzinfo=UTC)
    assert props.comments == "" and props.revision == 1
    assert b"python-docx" not in sample_docx.zip.read("docProps/core.xml")


def test_same_document_same_bytes(sample: Document, sample_docx: Package) -> None:
    assert render_docx(sample, fx.GBT) == sample_docx.data
    for info in sample_docx.zip.infolist():
        assert info.date_time == (2024, 1, 12, 0, 0, 0)
    assert sample_docx.zip.namelist()[0] == "[Content_Types].xml"
    for name in sample_docx.zip.namelist():
        if name.endswith(".xml"):
            assert b"w:rsid" not in sample_docx.zip.read(name), name


def test_every_paragraph_style_is_defined(sample_docx: Package) -> None:
    """Body, table and footer paragraphs name their styles by id, written directly: each id
    must be a style the styles part defines (python-docx's name look-up would have failed)."""
    styles = sample_docx.xml("word/styles.xml")
    defined = {s.get(w("styleId")) for s in styles.findall("w:style", NS)}
    used = set()
    for part in ("word/document.xml", "word/footer1.xml", "word/footer2.xml"):
        used |= {e.get(w("val")) for e in sample_docx.xml(part).iter(w("pStyle"), w("tblStyle"))}
    assert used and used <= defined, used - defined
    assert {"Title", "Heading1", "Caption", "TableHeading", "TableTextSub", "Signature"} <= used


def test_skeleton_copies_share_nothing(sample: Document) -> None:
    """Each render deep-copies a per-process skeleton. That is a true copy only while
    python-docx's objects hold no element but part roots (a copied sub-element would come
    out detached); and a render must leave the skeleton as it found it."""
    from service.render.docx import writer

    seen: set[int] = set()
    stack: list[object] = [writer._skeleton(fx.GBT, "zh-CN")]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type, type(None))):
            continue
        seen.add(id(obj))
        if isinstance(obj, etree._Element):
            assert obj.getparent() is None, f"python-docx holds a sub-element: {obj.tag!r}"
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            stack.extend(getattr(obj, "__dict__", {}).values())
            stack.extend(
                getattr(obj, s) for s in getattr(type(obj), "__slots__", ()) if hasattr(obj, s)
            )
    first = render_docx(sample, fx.GBT)
    other = fx.long_document()
    second = Package(render_docx(other, fx.GBT))
    assert render_docx(sample, fx.GBT) == first
    body = one(second.xml("word/document.xml"), "w:body")
    texts = [p.findtext("w:r/w:t", namespaces=NS) for p in body.findall("w:p", NS)]
    assert texts[0] == other.title and fx.LEAD not in texts, "nothing left from the first render"


def test_template_leftovers_are_gone(sample_docx: Package) -> None:
    names = set(sample_docx.zip.namelist())
    assert not {n for n in names if "thumbnail" in n or "stylesWithEffects" in n}
    # The template's bibliography item is gone; the one custom XML item is the figure marks'.
    custom = {n for n in names if n.startswith("customXml/") and "/_rels/" not in n}
    assert custom <= {"customXml/item1.xml", "customXml/itemProps1.xml"}
    if "customXml/item1.xml" in custom:
        assert sample_docx.xml("customXml/item1.xml").tag == f"{{{MARKS_NAMESPACE}}}marks"
    assert len(sample_docx.xml("word/styles.xml").findall("w:style", NS)) < 30
    assert b"Macintosh" not in sample_docx.zip.read("docProps/app.xml")


# --- embedded fonts -------------------------------------------------------------------------


def _font_parts(package: Package) -> dict[str, tuple[etree._Element, TTFont]]:
    table = package.xml("word/fontTable.xml")
    rels = package.rels("word/_rels/fontTable.xml.rels")
    out: dict[str, tuple[etree._Element, TTFont]] = {}
    for font in table.findall("w:font", NS):
        embed = font.find("w:embedRegular", NS)
        if embed is None:
            continue
        rel_type, target = rels[attr(embed, f"{{{R}}}id")]
        assert rel_type.endswith("/relationships/font")
        data = obfuscate(package.zip.read("word/" + target), attr(embed, w("fontKey")))
        out[attr(font, w("name"))] = (font, TTFont(io.BytesIO(data), checkChecksums=2))
        padded = data + bytes(-len(data) % 4)
        assert sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF == 0xB1B0AFBA
    return out


def _characters_by_font(package: Package, style: HouseStyle) -> dict[str, set[str]]:
    """The characters each font sets, as a reader resolves them: a run's own ``w:rFonts``, else
    its paragraph style's face (body and footers)."""
    roles = roles_by_style_id(style)
    out: dict[str, set[str]] = defaultdict(set)
    names = [n for n in package.zip.namelist() if n.startswith("word/footer")]
    for name in ["word/document.xml", *names]:
        for p in package.xml(name).iter(w("p")):
            pstyle = p.find("w:pPr/w:pStyle", NS)
            role = roles[attr(pstyle, w("val")) if pstyle is not None else "Normal"]
            for run in p.findall("w:r", NS):
                fonts = run.find("w:rPr/w:rFonts", NS)
                family = style.face_of(role).family if fonts is None else attr(fonts, w("eastAsia"))
                out[family].update("".join(t.text or "" for t in run.findall("w:t", NS)))
    return out


def test_fonts_embedded_obfuscated_as_truetype(sample_docx: Package) -> None:
    parts = _font_parts(sample_docx)
    assert {f.family for f in fx.GBT.used_faces()} <= set(parts)
    settings = sample_docx.xml("word/settings.xml")
    assert settings.find("w:embedTrueTypeFonts", NS) is not None
    assert settings.find("w:saveSubsetFonts", NS) is None
    content_types = sample_docx.zip.read("[Content_Types].xml").decode()
    obfuscated = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
    assert content_types.count(obfuscated) == len(parts)
    for family, (entry, font) in parts.items():
        key = attr(one(entry, "w:embedRegular"), w("fontKey"))
        assert key == key.upper() and len(key) == 38 and key[0] == "{"
        assert font.sfntVersion == "\x00\x01\x00\x00" and "glyf" in font and "CFF " not in font
        assert font["name"].getDebugName(1) == family, "Word matches name ID 1"
        assert font["OS/2"].fsType & 0x0002 == 0
        assert one(entry, "w:charset").get(w("val")) == "86"
        assert one(entry, "w:embedRegular").get(w("subsetted")) == "1"


def test_font_parts_are_stored_deflated_and_valid(sample_docx: Package) -> None:
    for info in sample_docx.zip.infolist():
        if info.filename.endswith(".odttf"):
            assert info.compress_type == zipfile.ZIP_DEFLATED
            data = sample_docx.zip.read(info)  # checks the CRC
            assert zlib.crc32(data) == info.CRC


@pytest.mark.parametrize("mode", ["editable", "used"])
def test_every_character_is_in_the_font_that_sets_it(sample: Document, mode: str) -> None:
    style = fx.style_with(mode)  # type: ignore[arg-type]
    package = Package(render_docx(sample, style))
    parts = _font_parts(package)
    for family, chars in _characters_by_font(package, style).items():
        if not "".join(chars).strip():
            continue
        cmap = parts[family][1].getBestCmap()
        assert {c for c in chars if ord(c) not in cmap} == set(), family


def test_body_face_holds_the_editable_set_display_faces_the_reserve(sample_docx: Package) -> None:
    parts = _font_parts(sample_docx)
    body = parts[fx.GBT.face_of("body").family][1].getBestCmap()
    level1 = gb2312_characters(tuple(range(0xB0, 0xD8)))
    assert len(level1) == 3755 and all(ord(c) in body for c in level1)
    assert all(ord(c) in body for c in "０１２。，、“”《》（）—…")
    for role in ("title", "heading1", "heading2", "caption", "page_number"):
        face = fx.GBT.face_of(role)
        if face == fx.GBT.face_of("body"):
            continue
        cmap = parts[face.family][1].getBestCmap()
        reserve = {ord(c) for c in reserve_characters()} & face_codepoints(str(face.path))
        assert reserve <= set(cmap), role
        hanzi = {chr(cp) for cp in cmap if 0x4E00 <= cp <= 0x9FFF}
        assert hanzi <= set(CHINESE_NUMERALS), f"{role}: no hanzi but the numerals"


def test_used_mode_embeds_the_text_in_overflow_fonts(sample: Document) -> None:
    style = fx.style_with("used")
    package = Package(render_docx(sample, style))
    parts = _font_parts(package)
    used = _characters_by_font(package, style)
    for family, (entry, font) in parts.items():
        cmap = font.getBestCmap()
        if family in {f.family for f in fx.GBT.used_faces()}:
            labels = {cmap[ord(c)] for c in label_characters() if ord(c) in cmap}
            assert set(cmap.values()) <= labels, "role faces: heading numbers alone"
            continue
        # A glyph may serve several code points (人 and the radical ⼈): compare glyphs.
        assert set(cmap.values()) == {cmap[ord(c)] for c in used[family] if ord(c) in cmap}
        assert one(entry, "w:embedRegular").get(w("subsetted")) == "1"
    assert package.xml("word/settings.xml").find("w:saveSubsetFonts", NS) is not None
    assert len(package.data) < 600_000


def test_one_name_one_font_across_documents() -> None:
    """Two documents with different characters: every part under one family name is the same
    font in both; names not shared are the overflow fonts of each one's own characters."""
    one = _font_parts(Package(render_docx(fx.sample_document(), fx.GBT)))
    two = _font_parts(Package(render_docx(fx.long_document(3), fx.GBT)))
    shared = set(one) & set(two)
    assert {fx.GBT.face_of(r).family for r in ("title", "body", "page_number")} <= shared
    for family in shared:
        assert one[family][1].reader.file.getvalue() == two[family][1].reader.file.getvalue()
    assert set(one) ^ set(two), "each document's own characters under names of their own"


def test_mode_none_embeds_nothing(sample: Document) -> None:
    package = Package(render_docx(sample, fx.style_with("none")))
    assert not [n for n in package.zip.namelist() if n.endswith(".odttf")]
    assert package.xml("word/settings.xml").find("w:embedTrueTypeFonts", NS) is None
    assert {f.get(w("name")) for f in package.xml("word/fontTable.xml")} == {
        f.family for f in fx.GBT.used_faces()
    }
    assert package.xml("word/document.xml").find(".//w:rPr", NS) is None


def test_subsets_are_cached_by_glyphs_not_characters() -> None:
    """Two texts whose characters all lie in the editable base set share one subset (the
    cache key is the extra glyphs), and its CRC, combined from the shared base stream's, is
    that of the whole font part."""
    face = fx.GBT.face_of("body")
    one = embed_face(face, "全年累计参与人数", "editable")
    two = embed_face(face, "公司消费者权益保护", "editable")
    assert one is two
    assert zlib.crc32(one.odttf) == one.crc32 and len(one.odttf) == one.size
    assert zlib.decompress(one.deflated, -15) == one.odttf
    rare = embed_face(face, "全年丌", "editable")
    assert rare is not one and rare.glyph_count == one.glyph_count + 1
    assert rare.base is one.base, "the base glyph chunk is shared, not copied"


def test_crc32_combine_matches_zlib() -> None:
    for first, second in [
        (b"", b""),
        (b"a", b""),
        (b"", b"bc"),
        (b"head" * 9, bytes(range(256)) * 999),
    ]:
        shift = zipmath.crc32_shift(len(second))
        combined = zipmath.crc32_combine(zlib.crc32(first), zlib.crc32(second), shift)
        assert combined == zlib.crc32(first + second)


def test_glyph_store_keeps_no_glyph_bytes() -> None:
    """Glyph data stays in the disk cache: the store holds arrays, not one bytes per glyph."""
    store = glyph_store.face_store(str(fx.GBT.face_of("body").path))
    assert not any(isinstance(v, dict) and len(v) > 100 for v in vars(store).values())
    gid = store.gid("全")
    assert gid is not None and store.has(gid)
    data = store.read([gid])
    assert len(data) == store.sizes[gid] and struct.unpack_from(">h", data, 0)[0] > 0


def test_obfuscation_follows_ecma_376() -> None:
    """Part 1 §17.8.1: XOR the first 32 bytes with the key GUID's bytes in reverse order."""
    key = "{62E79491-959F-41E9-B76B-6B32631DEA5C}"
    reversed_key = bytes.fromhex("5CEA1D63326B6BB7E9419F959194E762")
    assert obfuscate(bytes(40), key) == reversed_key * 2 + bytes(8)
    data = bytes(range(64))
    assert obfuscate(obfuscate(data, key), key) == data
    assert docx_fonts.font_key_for(b"x") == docx_fonts.font_key_for(b"x").upper()


@pytest.mark.parametrize("fs_type", [0x0002, 0x0004, 0x0200])
def test_fonts_that_may_not_be_embedded_editable_are_refused(tmp_path: Path, fs_type: int) -> None:
    """Restricted (0x0002), preview and print only (0x0004: a DOCX is edited), bitmap only."""
    source = fx.GBT.faces["song"]
    data = bytearray(source.path.read_bytes())
    font = TTFont(io.BytesIO(bytes(data)), lazy=True)
    offset = font.reader.tables["OS/2"].offset
    data[offset + 8 : offset + 10] = fs_type.to_bytes(2, "big")
    restricted = tmp_path / f"Restricted{fs_type}.otf"
    restricted.write_bytes(bytes(data))
    face = FontFace(
        key="r", family="Restricted Song", file=str(restricted), sha256="", role_name="宋体"
    )
    with pytest.raises(FontEmbeddingForbidden) as error:
        embed_face(face, "宋体", "used")
    assert isinstance(error.value, RenderFailed)
    assert error.value.code == "font_embedding_forbidden" and "fsType" in error.value.message


def test_alt_names_are_real_fonts_or_none(sample_docx: Package) -> None:
    table = sample_docx.xml("word/fontTable.xml")
    alt = {
        f.get(w("name")): (a.get(w("val")) if (a := f.find("w:altName", NS)) is not None else None)
        for f in table.findall("w:font", NS)
    }
    assert {k: v for k, v in alt.items() if v} == {
        "FandolSong Bold": "方正小标宋简体",
        "FandolFang": "仿宋_GB2312",
        "FandolKai": "楷体_GB2312",
        "FandolHei": "黑体",
        "FandolSong": "宋体",
    }


def test_a_house_style_may_name_installed_fonts_and_embed_none(sample: Document) -> None:
    installed = {"xiaobiaosong": "方正小标宋简体", "fangsong": "仿宋_GB2312", "hei": "黑体"}
    docx_options = fx.GBT.docx.model_copy(
        update={"embed_fonts": "none", "installed_fonts": installed}
    )
    package = Package(render_docx(sample, fx.GBT.model_copy(update={"docx": docx_options})))
    assert not [n for n in package.zip.namelist() if n.endswith(".odttf")]
    fonts = one(package.style("Normal"), "w:rPr/w:rFonts")
    assert fonts.get(w("eastAsia")) == "仿宋_GB2312"
    title = one(package.style("Title"), "w:rPr/w:rFonts")
    assert title.get(w("eastAsia")) == "方正小标宋简体"
    names = {f.get(w("name")) for f in package.xml("word/fontTable.xml")}
    assert {"仿宋_GB2312", "方正小标宋简体", "黑体", "FandolKai"} <= names
    with pytest.raises(ValueError, match="embed_fonts"):
        fx.GBT.docx.model_copy(update={"installed_fonts": installed}).model_validate(
            {"embed_fonts": "editable", "installed_fonts": installed}
        )


def test_editable_characters_cover_what_was_asked() -> None:
    chars = editable_characters()
    assert {"、", "。", "“", "”", "《", "》", "（", "）", "—", "…", "A", "z", "0", "%"} <= chars
    assert gb2312_characters((0xD7,)) and "\u9f44" not in gb2312_characters((0xD7,))


# --- the reference example ------------------------------------------------------------------


def test_reference_example_sizes_and_warm_time(reference_document: Document) -> None:
    style = load_house_style(reference_document.meta.house_style)
    editable = render_docx(reference_document, style)
    used = render_docx(reference_document, fx.style_with("used", style))
    assert len(editable) < 10_000_000
    assert len(used) < 1_500_000
    start = time.perf_counter()
    assert render_docx(reference_document, style) == editable
    assert time.perf_counter() - start < 1.5


def _tiny_face(folder: Path) -> FontFace:
    """A four-glyph CFF font written to ``folder``: cubic outlines, like the Fandol faces, small
    enough to convert whole; the face of a house style that names it."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    names = [".notdef", "A", "uni4E00", "uni4E8C"]
    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({0x41: "A", 0x4E00: "uni4E00", 0x4E8C: "uni4E8C"})
    charstrings = {}
    for i, name in enumerate(names):
        pen = T2CharStringPen(1000, None)
        pen.moveTo((100 + i, 0))
        pen.curveTo((100, 500), (500, 800), (900, 0))
        pen.closePath()
        charstrings[name] = pen.getCharString()
    builder.setupCFF("Tiny-Regular", {"FullName": "Tiny"}, charstrings, {})
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "Tiny", "styleName": "Regular"})
    builder.setupOS2(fsType=0, sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    path = folder / "Tiny.otf"
    builder.save(str(path))
    return FontFace(key="t", family="Tiny Face", file=str(path), sha256="", role_name="宋体")


@pytest.mark.parametrize(
    "mode, glyphs, chars",
    [
        ("full", 4, {"A", "一", "二"}),
        ("used", 4, {"A", "一", "二"}),  # 一 二: heading numerals, in every used subset
        ("display", 4, {"A", "一", "二"}),
        ("editable", 4, {"A", "一", "二"}),
    ],
)
def test_cff_outlines_become_truetype(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, glyphs: int, chars: set[str]
) -> None:
    monkeypatch.setattr(glyph_store, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(glyph_store, "WRITE_CACHE", True)
    face = _tiny_face(tmp_path)
    embedded = embed_face(face, "A", mode)  # type: ignore[arg-type]
    font = TTFont(io.BytesIO(docx_fonts.truetype_font(embedded)))
    assert len(font.getGlyphOrder()) == glyphs == embedded.glyph_count
    assert {chr(c) for c in font.getBestCmap()} == chars
    assert font["name"].getDebugName(1) == "Tiny Face" and font["name"].getDebugName(2) == "Regular"
    name = font.getBestCmap()[0x41]
    glyph = font["glyf"][name]
    _, _, flags = glyph.getCoordinates(font["glyf"])
    assert glyph.numberOfContours == 1 and not all(f & 1 for f in flags), (
        "quadratic off-curve points"
    )
    assert font["hmtx"][name][1] == glyph.xMin, "left side bearing follows the converted outline"
    assert embedded.subsetted == (mode != "full")
    assert list((tmp_path / "cache").glob("Tiny-*.glyphs")), "converted glyphs kept on disk"


def test_glyph_cache_appends_and_survives_a_cut_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(glyph_store, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(glyph_store, "WRITE_CACHE", True)
    face = _tiny_face(tmp_path)
    embed_face(face, "", "used")
    (cache,) = (tmp_path / "cache").glob("*.glyphs")
    size = cache.stat().st_size
    embed_face(face, "A", "used")
    assert cache.stat().st_size > size, "new glyphs are appended"
    cache.write_bytes(cache.read_bytes() + b"\x00\x05\x00\x05\x00\x01\x00\x00\x10\x00short")
    fresh = glyph_store.FaceStore(Path(face.file), tmp_path / "cache")
    assert fresh.stored_gids() == {0, 1, 2, 3}, "all four read back; the cut record ignored"


def test_at_run_time_the_cache_is_only_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the install step's WRITE_CACHE a missing glyph is converted in memory: the cache
    folder may be read-only (and here does not even exist)."""
    monkeypatch.setattr(glyph_store, "CACHE_DIR", tmp_path / "cache")
    face = _tiny_face(tmp_path)
    embedded = embed_face(face, "A", "used")
    font = TTFont(io.BytesIO(docx_fonts.truetype_font(embedded)))
    assert {chr(c) for c in font.getBestCmap()} == {"A", "一", "二"}
    assert not (tmp_path / "cache").exists(), "nothing written"
