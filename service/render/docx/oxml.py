"""Every piece of raw WordprocessingML the DOCX writer needs and python-docx does not model.

python-docx keeps its own ``oxml`` element classes apart from the friendly proxy API; this module
is our counterpart: East Asian fonts and language, character-unit indents, snap-to-grid, style
numbering links, ``numbering.xml``, settings, the font table with embedded fonts, the theme's
East Asian fonts, PAGE fields, table geometry and header rows, the section's document grid; and,
for speed, the body's paragraphs and runs, with their styles by id. Nothing else in the writer
builds XML by hand.

Units, as WordprocessingML uses them: lengths in **twips** (1/20 pt, 1/1440 in); font sizes in
**half-points** (三号 16 pt = 32); borders in **eighths of a point**; character units in
**hundredths of a character** (``w:firstLineChars="200"`` = two characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from lxml import etree

_E = TypeVar("_E", bound=etree._Element)

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"

_P, _PPR, _PSTYLE, _VAL, _R, _T, _TAB, _BR, _SECTPR, _TR, _TC, _TBLPR, _TBLSTYLE = (
    f"{{{W_NS}}}{name}"
    for name in (
        "p", "pPr", "pStyle", "val", "r", "t", "tab", "br", "sectPr", "tr", "tc", "tblPr", "tblStyle",
    )
)  # fmt: skip
"""Clark names of the elements the body writer makes by hand (``qn`` per element is slow)."""
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RUN_BREAKS = re.compile(r"([\t\n\r])")

OBFUSCATED_FONT_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.obfuscatedFont"


def _order(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Child order of the elements we add children to (ECMA-376 Part 1).
_PPR_ORDER = _order(
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers "
    "pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE "
    "autoSpaceDN bidi adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents "
    "suppressOverlap jc textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle "
    "rPr sectPr pPrChange"
)
"""Child order of ``CT_PPr``."""
_RPR_ORDER = _order(
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint "
    "noProof snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u "
    "effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath"
)
"""Child order of ``CT_RPr``."""
_STYLE_ORDER = _order(
    "name aliases basedOn next link autoRedefine hidden uiPriority semiHidden unhideWhenUsed "
    "qFormat locked personal personalCompose personalReply rsid pPr rPr tblPr trPr tcPr "
    "tblStylePr"
)
"""Child order of ``CT_Style``."""
_TBLPR_ORDER = _order(
    "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
    "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption "
    "tblDescription"
)
"""Child order of ``CT_TblPr``."""
_SECTPR_ORDER = _order(
    "headerReference footerReference footnotePr endnotePr type pgSz pgMar paperSrc pgBorders "
    "lnNumType pgNumType cols formProt vAlign noEndnote titlePg textDirection bidi rtlGutter "
    "docGrid printerSettings"
)
"""Child order of ``CT_SectPr``."""
_TCPR_ORDER = _order(
    "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText "
    "vAlign hideMark"
)
"""Child order of ``CT_TcPr``."""


def _child(parent: etree._Element, name: str, order: Sequence[str]) -> etree._Element:
    """The ``w:name`` child of ``parent``, created at its schema position if missing."""
    tag = qn(f"w:{name}")
    found = parent.find(tag)
    if found is not None:
        return found
    element = OxmlElement(f"w:{name}")
    later = {qn(f"w:{n}") for n in order[order.index(name) + 1 :]}
    for i, sibling in enumerate(parent):
        if sibling.tag in later:
            parent.insert(i, element)
            return element
    parent.append(element)
    return element


def _required(parent: etree._Element, tag: str) -> etree._Element:
    """The child ``tag`` (a Clark name) of ``parent``, which python-docx always writes."""
    element = parent.find(tag)
    if element is None:
        raise ValueError(f"{etree.QName(parent).localname} has no {etree.QName(tag).localname}")
    return element


def _set(element: _E, **attrs: str | int) -> _E:
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), str(value))
    return element


def _remove_children(parent: etree._Element, *names: str) -> None:
    for name in names:
        for child in parent.findall(qn(f"w:{name}")):
            parent.remove(child)


# --- run and paragraph properties of a style ------------------------------------------------


def style_rpr(style: etree._Element) -> etree._Element:
    return _child(style, "rPr", _STYLE_ORDER)


def style_ppr(style: etree._Element) -> etree._Element:
    return _child(style, "pPr", _STYLE_ORDER)


def set_fonts(rpr: etree._Element, east_asian: str, latin: str) -> None:
    """``w:rFonts`` naming the East Asian face and the Latin face (ASCII, high ANSI, complex).

    python-docx's ``Font.name`` writes only ``w:ascii``/``w:hAnsi``: Chinese text would then take
    the theme's East Asian font (Japanese in python-docx's template). Theme attributes win over
    explicit names in Word, so they are removed.
    """
    fonts = _child(rpr, "rFonts", _RPR_ORDER)
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    _set(fonts, ascii=latin, hAnsi=latin, eastAsia=east_asian, cs=latin, hint="eastAsia")


def set_language(rpr: etree._Element, east_asian: str, latin: str = "en-US") -> None:
    """``w:lang``: the East Asian language (``zh-CN``) decides Chinese line breaking and fonts."""
    _set(_child(rpr, "lang", _RPR_ORDER), val=latin, eastAsia=east_asian, bidi="ar-SA")


def set_character_spacing(rpr: etree._Element, twips: int) -> None:
    """``w:spacing`` of a run: extra space after each character in twips (negative condenses)."""
    if twips:
        _set(_child(rpr, "spacing", _RPR_ORDER), val=twips)


def set_plain(rpr: etree._Element) -> None:
    """No bold, italic or colour: Fandol has no bold faces to fall back on (emphasis is 黑体)."""
    for name in ("b", "bCs", "i", "iCs"):
        _set(_child(rpr, name, _RPR_ORDER), val=0)
    _set(_child(rpr, "color", _RPR_ORDER), val="000000")


def set_indent(
    ppr: etree._Element,
    *,
    first_line_twips: int = 0,
    first_line_chars: int = 0,
    left_twips: int = 0,
    left_chars: int = 0,
    right_twips: int = 0,
    right_chars: int = 0,
) -> None:
    """``w:ind`` with both the character form and the absolute form of every indent.

    Word prefers ``*Chars`` (hundredths of a character, so an indent follows the font size);
    LibreOffice ignores them unless an absolute twips value stands beside them.
    """
    ind = _child(ppr, "ind", _PPR_ORDER)
    ind.attrib.clear()
    _set(ind, left=left_twips, right=right_twips, firstLine=first_line_twips)
    if left_chars:
        _set(ind, leftChars=left_chars)
    if right_chars:
        _set(ind, rightChars=right_chars)
    if first_line_chars:
        _set(ind, firstLineChars=first_line_chars)


def set_snap_to_grid(ppr: etree._Element, snap: bool) -> None:
    """Off for paragraphs whose line pitch is not the page's: LibreOffice would otherwise round
    their lines up to whole grid lines (Word ignores the grid for exact spacing anyway)."""
    _set(_child(ppr, "snapToGrid", _PPR_ORDER), val=int(snap))


def set_overflow_punctuation(ppr: etree._Element) -> None:
    """``w:overflowPunct=1`` (Word's own default), written out for LibreOffice's sake.

    LibreOffice reads this flag inverted (writerfilter: ``IsHangingPunctuation = val == 0``) and
    hangs punctuation when it is absent; LibreOffice 7.4 then *drops* a comma that would hang at
    the end of a justified full line. Written as 1, Word still may hang it in the margin (its
    default), LibreOffice moves it to the next line with the character before it, as the PDF
    writer does. Found by converting the reference example without CJK system fonts.
    """
    _set(_child(ppr, "overflowPunct", _PPR_ORDER), val=1)


def set_no_auto_space(ppr: etree._Element) -> None:
    """``w:autoSpaceDE=0``, ``w:autoSpaceDN=0``: no extra quarter-em between Chinese and Latin
    letters or digits. GB/T 9704 text keeps digits on the character grid and the PDF writer adds
    no such space, so Word lays lines out as the PDF does (LibreOffice ignores both flags)."""
    _set(_child(ppr, "autoSpaceDE", _PPR_ORDER), val=0)
    _set(_child(ppr, "autoSpaceDN", _PPR_ORDER), val=0)


def set_contextual_spacing(ppr: etree._Element) -> None:
    """No space between consecutive paragraphs of the same style (several lead lines)."""
    _child(ppr, "contextualSpacing", _PPR_ORDER)


def set_outline_level(ppr: etree._Element, level: int) -> None:
    """``w:outlineLvl`` (0-based): the navigation pane and a TOC list the paragraph."""
    _set(_child(ppr, "outlineLvl", _PPR_ORDER), val=level)


def set_style_numbering(ppr: etree._Element, num_id: int, ilvl: int) -> None:
    """Link a paragraph style to a list level: every paragraph of the style is numbered."""
    numpr = _child(ppr, "numPr", _PPR_ORDER)
    numpr.clear()
    numpr.append(_set(OxmlElement("w:ilvl"), val=ilvl))
    numpr.append(_set(OxmlElement("w:numId"), val=num_id))


# --- styles part ----------------------------------------------------------------------------


def clear_style(style: etree._Element) -> None:
    """Drop a template style's formatting, links and revision ids, keeping name and basedOn."""
    _remove_children(style, "pPr", "rPr", "tblPr", "trPr", "tcPr", "tblStylePr", "link", "rsid")


def prune_styles(styles: etree._Element, keep: Iterable[str]) -> None:
    """Remove every style whose id is not in ``keep`` (python-docx's template defines ~160)."""
    keep_ids = set(keep)
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:styleId")) not in keep_ids:
            styles.remove(style)


def set_doc_defaults(
    styles: etree._Element, *, east_asian: str, latin: str, size_half_points: int, language: str
) -> None:
    """Document defaults: our faces, size and language instead of the template's theme fonts,
    11 pt, ``en-US`` and 10 pt space after every paragraph."""
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        styles.remove(defaults)
    defaults = parse_xml(
        f"<w:docDefaults {nsdecls('w')}><w:rPrDefault><w:rPr/></w:rPrDefault>"
        f'<w:pPrDefault><w:pPr><w:spacing w:before="0" w:after="0"/></w:pPr></w:pPrDefault>'
        "</w:docDefaults>"
    )
    rpr = defaults[0][0]
    set_fonts(rpr, east_asian, latin)
    _set(_child(rpr, "sz", _RPR_ORDER), val=size_half_points)
    _set(_child(rpr, "szCs", _RPR_ORDER), val=size_half_points)
    set_language(rpr, language)
    styles.insert(0, defaults)


def set_table_style_properties(
    style: etree._Element, *, border_eighths: int, cell_margin_twips: int
) -> None:
    """A table style: single borders all round and inside, cell margins, cells centred vertically."""
    tblpr = _child(style, "tblPr", _STYLE_ORDER)
    borders = _child(tblpr, "tblBorders", _TBLPR_ORDER)
    borders.clear()
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(
            _set(OxmlElement(f"w:{side}"), val="single", sz=border_eighths, space=0, color="000000")
        )
    margins = _child(tblpr, "tblCellMar", _TBLPR_ORDER)
    margins.clear()
    for side in ("top", "left", "bottom", "right"):
        margins.append(_set(OxmlElement(f"w:{side}"), w=cell_margin_twips, type="dxa"))
    _set(_child(_child(style, "tcPr", _STYLE_ORDER), "vAlign", _TCPR_ORDER), val="center")


# --- numbering part -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListLevel:
    """One level of the heading list: ``%1、`` in ``chineseCounting`` linked to ``Heading1``."""

    number_format: str
    text: str
    style_id: str
    first_line_twips: int
    first_line_chars: int


def fill_numbering(numbering: etree._Element, levels: Sequence[ListLevel], num_id: int) -> None:
    """Replace the template's list definitions with one multilevel heading list.

    Each level names its paragraph style (``w:pStyle``) and the style names the list back
    (:func:`set_style_numbering`): the link Word's "multilevel list linked to headings" makes,
    so a heading a user adds in Word takes the next number. ``w:suff="nothing"``: the text follows
    the marker directly, with no tab. The level's indent repeats the style's, because numbering
    indents override style indents in both Word and LibreOffice.
    """
    for child in list(numbering):
        numbering.remove(child)
    abstract = _set(OxmlElement("w:abstractNum"), abstractNumId=0)
    abstract.append(_set(OxmlElement("w:nsid"), val="50494C55"))  # fixed: "PILU"
    abstract.append(_set(OxmlElement("w:multiLevelType"), val="multilevel"))
    abstract.append(_set(OxmlElement("w:tmpl"), val="50494C55"))
    for ilvl, level in enumerate(levels):
        lvl = _set(OxmlElement("w:lvl"), ilvl=ilvl)
        for name, value in (
            ("start", "1"),
            ("numFmt", level.number_format),
            ("pStyle", level.style_id),
            ("suff", "nothing"),
            ("lvlText", level.text),
            ("lvlJc", "left"),
        ):
            lvl.append(_set(OxmlElement(f"w:{name}"), val=value))
        ppr = OxmlElement("w:pPr")
        set_indent(
            ppr, first_line_twips=level.first_line_twips, first_line_chars=level.first_line_chars
        )
        lvl.append(ppr)
        abstract.append(lvl)
    numbering.append(abstract)
    num = _set(OxmlElement("w:num"), numId=num_id)
    num.append(_set(OxmlElement("w:abstractNumId"), val=0))
    numbering.append(num)


# --- settings part --------------------------------------------------------------------------


def fill_settings(
    settings: etree._Element,
    *,
    embed_fonts: bool,
    subset_fonts: bool,
    default_tab_twips: int,
    east_asian_language: str,
) -> None:
    """Replace the template's settings (revision ids, a Word 2010 document id, a preview picture,
    ``ja-JP`` theme language) with ours, in schema order. Odd/even footers are switched on
    afterwards through python-docx."""
    color_map = settings.find(qn("w:clrSchemeMapping"))
    for child in list(settings):
        settings.remove(child)
    settings.append(_set(OxmlElement("w:zoom"), percent=100))
    if embed_fonts:
        settings.append(OxmlElement("w:embedTrueTypeFonts"))
        if subset_fonts:
            settings.append(OxmlElement("w:saveSubsetFonts"))
    settings.append(_set(OxmlElement("w:defaultTabStop"), val=default_tab_twips))
    settings.append(_set(OxmlElement("w:characterSpacingControl"), val="doNotCompress"))
    compat = OxmlElement("w:compat")
    compat.append(OxmlElement("w:useFELayout"))
    compat.append(
        _set(
            OxmlElement("w:compatSetting"),
            name="compatibilityMode",
            uri="http://schemas.microsoft.com/office/word",
            val=15,
        )
    )
    settings.append(compat)
    settings.append(_set(OxmlElement("w:themeFontLang"), val="en-US", eastAsia=east_asian_language))
    if color_map is not None:
        settings.append(color_map)
    settings.append(_set(OxmlElement("w:decimalSymbol"), val="."))
    settings.append(_set(OxmlElement("w:listSeparator"), val=","))


# --- font table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontTableEntry:
    """One ``w:font``. ``embed_rid``/``font_key`` are ``None`` when the face is not embedded."""

    name: str
    alt_name: str
    embed_rid: str | None = None
    font_key: str | None = None
    subsetted: bool = False


def font_table(entries: Sequence[FontTableEntry]) -> BaseOxmlElement:
    """``word/fontTable.xml``: our faces, charset GB2312 (``86``), each with its embedded part.

    ``w:altName`` carries the Chinese role name (仿宋, 黑体 …): Word tries it when neither the
    named face nor its embedded copy can be used.
    """
    root = parse_xml(f"<w:fonts {nsdecls('w', 'r')}/>")
    fonts: etree._Element = root  # the w:font children are plain elements
    for entry in entries:
        font = _set(OxmlElement("w:font"), name=entry.name)
        if entry.alt_name:
            font.append(_set(OxmlElement("w:altName"), val=entry.alt_name))
        font.append(_set(OxmlElement("w:charset"), val="86"))
        font.append(_set(OxmlElement("w:family"), val="auto"))
        font.append(_set(OxmlElement("w:pitch"), val="variable"))
        if entry.embed_rid and entry.font_key:
            embed = _set(OxmlElement("w:embedRegular"), fontKey=entry.font_key)
            embed.set(f"{{{R_NS}}}id", entry.embed_rid)
            if entry.subsetted:
                _set(embed, subsetted=1)
            font.append(embed)
        fonts.append(font)
    return root


# --- theme and extended properties ----------------------------------------------------------


def theme_with_fonts(theme_xml: bytes, major: tuple[str, str], minor: tuple[str, str]) -> bytes:
    """The theme with our faces as its major (headings) and minor (body) fonts.

    ``major``/``minor`` are ``(east_asian, latin)``. The East Asian slot and the Simplified
    Chinese script entry (``Hans``) are set, so text that falls back on theme fonts is never set
    in the template's Japanese faces.
    """
    root = etree.fromstring(theme_xml)
    for slot, (east_asian, latin) in (("majorFont", major), ("minorFont", minor)):
        for font_list in root.iter(f"{{{A_NS}}}{slot}"):
            for child in font_list:
                tag = etree.QName(child).localname
                if tag == "latin":
                    child.set("typeface", latin)
                elif tag == "ea" or (tag == "font" and child.get("script") == "Hans"):
                    child.set("typeface", east_asian)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def extended_properties(application: str, company: str) -> bytes:
    """``docProps/app.xml`` without the template's page and word counts (which would be wrong)."""
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
    root = etree.Element(f"{{{ns}}}Properties", nsmap={None: ns})
    for name, value in (("Application", application), ("DocSecurity", "0"), ("Company", company)):
        etree.SubElement(root, f"{{{ns}}}{name}").text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


# --- section, fields, tables ----------------------------------------------------------------


def set_document_grid(sect_pr: etree._Element, line_pitch_twips: int) -> None:
    """``w:docGrid type="lines"``: Word lays out ``text height / pitch`` lines per page (22)."""
    grid = _child(sect_pr, "docGrid", _SECTPR_ORDER)
    grid.attrib.clear()
    _set(grid, type="lines", linePitch=line_pitch_twips)


def append_page_field(paragraph: etree._Element) -> None:
    """A complex ``PAGE`` field (begin, instruction, separator, cached result "1", end).

    The complex form, not ``w:fldSimple``, because it is what Word writes and every reader
    updates it on layout.
    """

    def run(*children: etree._Element) -> None:
        r = OxmlElement("w:r")
        for child in children:
            r.append(child)
        paragraph.append(r)

    run(_set(OxmlElement("w:fldChar"), fldCharType="begin"))
    instr = OxmlElement("w:instrText")
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.text = " PAGE "
    run(instr)
    run(_set(OxmlElement("w:fldChar"), fldCharType="separate"))
    cached = OxmlElement("w:t")
    cached.text = "1"
    run(cached)
    run(_set(OxmlElement("w:fldChar"), fldCharType="end"))


def set_table_geometry(tbl: etree._Element, column_twips: Sequence[int]) -> None:
    """A fixed-layout table as wide as its columns: ``w:tblW``, grid columns and cell widths."""
    tblpr = _required(tbl, _TBLPR)
    _set(_child(tblpr, "tblW", _TBLPR_ORDER), w=sum(column_twips), type="dxa")
    _set(_child(tblpr, "tblLayout", _TBLPR_ORDER), type="fixed")
    for grid_col, width in zip(
        _required(tbl, qn("w:tblGrid")).findall(qn("w:gridCol")), column_twips, strict=False
    ):
        _set(grid_col, w=width)
    for tr in tbl.findall(qn("w:tr")):
        for tc, width in zip(tr.findall(qn("w:tc")), column_twips, strict=False):
            tcpr = tc.find(qn("w:tcPr"))
            if tcpr is None:
                tcpr = OxmlElement("w:tcPr")
                tc.insert(0, tcpr)
            _set(_child(tcpr, "tcW", _TCPR_ORDER), w=width, type="dxa")


def set_table_style(tbl: etree._Element, style_id: str) -> None:
    """``w:tblStyle`` by style id, first in ``w:tblPr`` (python-docx's ``Table.style`` looks the
    style up by name)."""
    tblpr = _required(tbl, _TBLPR)
    style = tblpr.find(_TBLSTYLE)
    if style is None:
        style = etree.SubElement(tblpr, _TBLSTYLE)
        tblpr.insert(0, style)
    style.set(_VAL, style_id)


def table_rows(tbl: etree._Element) -> list[etree._Element]:
    return tbl.findall(_TR)


def table_cells(tbl: etree._Element) -> list[list[etree._Element]]:
    """The ``w:tc`` elements of each row (the grid has no merged cells)."""
    return [tr.findall(_TC) for tr in tbl.iterfind(_TR)]


def fill_cell(tc: etree._Element, text: str, style_id: str) -> None:
    """Style the cell's paragraph and give it a run of ``text`` (an empty run for no text, as
    python-docx's ``add_run("")`` leaves)."""
    paragraph = _required(tc, _P)
    set_paragraph_style(paragraph, style_id)
    append_run(paragraph, text)


def cell_paragraph(tc: etree._Element) -> etree._Element:
    """The (first) paragraph of table cell ``tc``."""
    return _required(tc, _P)


def set_row_flags(tr: etree._Element, *, header: bool) -> None:
    """``w:cantSplit`` on every row; ``w:tblHeader`` on the header row, repeated on each page."""
    trpr = tr.find(qn("w:trPr"))
    if trpr is None:
        trpr = OxmlElement("w:trPr")
        tblpr_ex = tr.find(qn("w:tblPrEx"))
        tr.insert(1 if tblpr_ex is not None else 0, trpr)
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def add_paragraph(body: etree._Element, text: str, style_id: str | None) -> etree._Element:
    """A paragraph of ``text`` in style ``style_id`` (``None``: Normal) at the end of ``body``,
    before its ``w:sectPr``: the XML python-docx's ``add_paragraph(text, style)`` writes (no
    run for empty text), without its look-up of the style by name."""
    paragraph = body.makeelement(_P)
    sect_pr = body.find(_SECTPR)
    if sect_pr is None:
        body.append(paragraph)
    else:
        sect_pr.addprevious(paragraph)
    if style_id is not None:
        set_paragraph_style(paragraph, style_id)
    if text:
        append_run(paragraph, text)
    return paragraph


def append_run(paragraph: etree._Element, text: str) -> etree._Element:
    """A run of ``text`` at the end of ``paragraph``, as python-docx's ``Paragraph.add_run``
    writes it: ``w:t`` pieces (``xml:space="preserve"`` when a piece starts or ends with white
    space), ``w:tab`` for a tab, ``w:br`` for a newline or carriage return."""
    run = etree.SubElement(paragraph, _R)
    for piece in _RUN_BREAKS.split(text):
        if piece == "\t":
            etree.SubElement(run, _TAB)
        elif piece in ("\n", "\r"):
            etree.SubElement(run, _BR)
        elif piece:
            t = etree.SubElement(run, _T)
            t.text = piece
            if len(piece.strip()) < len(piece):
                t.set(_XML_SPACE, "preserve")
    return run


def set_paragraph_style(paragraph: etree._Element, style_id: str) -> None:
    """``w:pStyle`` by style id, written with lxml.

    python-docx's ``Paragraph.style`` resolves a name through every style on each call, and even
    its element-level setter (``CT_P.style``) finds the schema position of ``w:pPr`` and
    ``w:pStyle`` through generic look-ups: together most of a table's render time. Both
    elements are first in their parents by schema, so they go in at index 0.
    """
    ppr = paragraph.find(_PPR)
    if ppr is None:
        ppr = etree.SubElement(paragraph, _PPR)
        paragraph.insert(0, ppr)
    pstyle = ppr.find(_PSTYLE)
    if pstyle is None:
        pstyle = etree.SubElement(ppr, _PSTYLE)
        ppr.insert(0, pstyle)
    pstyle.set(_VAL, style_id)


def space_after(paragraph: etree._Element, twips: int) -> None:
    """Direct spacing after one paragraph: only where no style can say it (the title when no
    lead line follows it)."""
    ppr = paragraph.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        paragraph.insert(0, ppr)
    _set(_child(ppr, "spacing", _PPR_ORDER), after=twips)


def bookmark_around(first: etree._Element, last: etree._Element, mark_id: int, name: str) -> None:
    """Bookmark ``name`` (id ``mark_id``) from before run ``first`` to after run ``last``, both
    children of one paragraph; a bookmark prints nothing."""
    start = first.makeelement(qn("w:bookmarkStart"), {qn("w:id"): str(mark_id), qn("w:name"): name})
    first.addprevious(start)
    last.addnext(last.makeelement(qn("w:bookmarkEnd"), {qn("w:id"): str(mark_id)}))


def bookmark_paragraph(paragraph: etree._Element, mark_id: int, name: str) -> None:
    """Bookmark ``name`` (id ``mark_id``) around all of ``paragraph``'s content."""
    start = paragraph.makeelement(
        qn("w:bookmarkStart"), {qn("w:id"): str(mark_id), qn("w:name"): name}
    )
    ppr = paragraph.find(_PPR)
    paragraph.insert(0 if ppr is None else 1, start)
    paragraph.append(paragraph.makeelement(qn("w:bookmarkEnd"), {qn("w:id"): str(mark_id)}))


def marks_part(namespace: str, kind: str, marks: Sequence[tuple[str, str]]) -> bytes:
    """The custom XML part naming the figure of each bookmark: ``(bookmark, figure)`` pairs."""
    root = etree.Element(f"{{{namespace}}}marks", nsmap={None: namespace}, kind=kind)
    for bookmark, figure in marks:
        etree.SubElement(root, f"{{{namespace}}}m", b=bookmark, f=figure)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def custom_xml_properties(item_id: str, namespace: str) -> bytes:
    """``customXml/itemProps1.xml``: the data store item id of a custom XML part and its schema."""
    ds = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
    root = etree.Element(f"{{{ds}}}datastoreItem", nsmap={"ds": ds})
    root.set(f"{{{ds}}}itemID", item_id)
    refs = etree.SubElement(root, f"{{{ds}}}schemaRefs")
    etree.SubElement(refs, f"{{{ds}}}schemaRef").set(f"{{{ds}}}uri", namespace)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def strip_revision_ids(root: etree._Element) -> None:
    """Remove ``w:rsid*`` attributes (template leftovers; Word writes fresh ones per session)."""
    for element in root.iter():
        for attr in [a for a in element.attrib if a.startswith(f"{{{W_NS}}}rsid")]:
            del element.attrib[attr]


# --- a letter's parts (GB/T 9704): direct geometry, borders, tabs, the seal, the 版记 ----------

_WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_PIC_NS = "http://schemas.openxmlformats.org/drawingml/2006/picture"
EMU_PER_TWIP = 635


def paragraph_properties(paragraph: etree._Element) -> etree._Element:
    """The ``w:pPr`` of ``paragraph``, created first in it if missing."""
    return _ppr(paragraph)


def _ppr(paragraph: etree._Element) -> etree._Element:
    ppr = paragraph.find(_PPR)
    if ppr is None:
        ppr = etree.SubElement(paragraph, _PPR)
        paragraph.insert(0, ppr)
    return ppr


def set_spacing(
    paragraph: etree._Element,
    *,
    before: int | None = None,
    after: int | None = None,
    line: int | None = None,
) -> None:
    """Direct ``w:spacing`` of one paragraph in twips; ``line`` is an exact line height."""
    spacing = _child(_ppr(paragraph), "spacing", _PPR_ORDER)
    if before is not None:
        _set(spacing, before=before)
    if after is not None:
        _set(spacing, after=after)
    if line is not None:
        _set(spacing, line=line, lineRule="exact")


def set_paragraph_indent(
    paragraph: etree._Element,
    *,
    left: int = 0,
    right: int = 0,
    hanging: int = 0,
    first_line: int = 0,
) -> None:
    """Direct ``w:ind`` of one paragraph in twips (absolute values, which LibreOffice reads)."""
    ind = _child(_ppr(paragraph), "ind", _PPR_ORDER)
    ind.attrib.clear()
    _set(ind, left=left, right=right)
    if hanging:
        _set(ind, hanging=hanging)
    else:
        _set(ind, firstLine=first_line)


def set_tabs(paragraph: etree._Element, stops: Sequence[tuple[str, int]]) -> None:
    """Tab stops ``(alignment, position in twips)`` of one paragraph."""
    tabs = _child(_ppr(paragraph), "tabs", _PPR_ORDER)
    for align, position in stops:
        _set(etree.SubElement(tabs, qn("w:tab")), val=align, pos=position)


def set_border(
    paragraph: etree._Element, side: str, eighths: int, color: str, space_pt: int = 0
) -> None:
    """A single-line paragraph border on ``side`` (``top``, ``bottom``, ``between``)."""
    borders = _child(_ppr(paragraph), "pBdr", _PPR_ORDER)
    _set(
        etree.SubElement(borders, qn(f"w:{side}")),
        val="single",
        sz=eighths,
        space=space_pt,
        color=color,
    )


def set_alignment(paragraph: etree._Element, align: str) -> None:
    _set(_child(_ppr(paragraph), "jc", _PPR_ORDER), val=align)


def set_keep_next(paragraph: etree._Element) -> None:
    _set(_child(_ppr(paragraph), "keepNext", _PPR_ORDER), val=1)


def set_run_look(
    run: etree._Element,
    *,
    east_asian: str | None = None,
    latin: str | None = None,
    size_half_points: int | None = None,
    color: str | None = None,
) -> None:
    """Direct run properties: faces, size, colour."""
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run.insert(0, rpr)
    if east_asian is not None:
        set_fonts(rpr, east_asian, latin or east_asian)
    if color is not None:
        _set(_child(rpr, "color", _RPR_ORDER), val=color)
    if size_half_points is not None:
        _set(_child(rpr, "sz", _RPR_ORDER), val=size_half_points)
        _set(_child(rpr, "szCs", _RPR_ORDER), val=size_half_points)


def set_style_color(style: etree._Element, color: str) -> None:
    _set(_child(style_rpr(style), "color", _RPR_ORDER), val=color)


def set_style_page_break_before(style: etree._Element) -> None:
    _set(_child(style_ppr(style), "pageBreakBefore", _PPR_ORDER), val=1)


def anchored_picture(
    run: etree._Element,
    rid: str,
    *,
    picture_id: int,
    name: str,
    size_twips: tuple[int, int],
    offset_twips: tuple[int, int],
) -> None:
    """A picture anchored behind the text (``behindDoc``), placed ``offset_twips`` from the left
    margin and from the top of its paragraph, with no wrapping: the seal over a signature."""
    cx, cy = (v * EMU_PER_TWIP for v in size_twips)
    x, y = (v * EMU_PER_TWIP for v in offset_twips)
    xml = (
        f"<w:drawing {nsdecls('w', 'wp', 'a', 'pic', 'r')}>"
        f'<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="1" '
        f'behindDoc="1" locked="0" layoutInCell="1" allowOverlap="1">'
        f'<wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="margin"><wp:posOffset>{x}</wp:posOffset></wp:positionH>'
        f'<wp:positionV relativeFrom="paragraph"><wp:posOffset>{y}</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f"<wp:wrapNone/>"
        f'<wp:docPr id="{picture_id}" name="{name}" descr="{name}"/>'
        f"<wp:cNvGraphicFramePr/>"
        f'<a:graphic><a:graphicData uri="{_PIC_NS}"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{picture_id}" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr>'
        f'<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>'
        f"</pic:pic></a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )
    run.append(parse_xml(xml))


def anchored_text_box(
    run: etree._Element, *, box_id: int, name: str, size_twips: tuple[int, int]
) -> etree._Element:
    """A text box anchored to the bottom edge of the text block of its page, full width, text
    kept above and below it (``wrapTopAndBottom``); returns its ``w:txbxContent`` to fill.

    (A floating table or a framed paragraph would say the same, but LibreOffice 7 sets a
    full-width one in the flow of the text.)"""
    cx, cy = (v * EMU_PER_TWIP for v in size_twips)
    wps = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
    xml = (
        f'<w:drawing {nsdecls("w", "wp", "a")} xmlns:wps="{wps}">'
        f'<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="2" '
        f'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="0">'
        f'<wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="margin"><wp:align>left</wp:align></wp:positionH>'
        f'<wp:positionV relativeFrom="margin"><wp:align>bottom</wp:align></wp:positionV>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f"<wp:wrapTopAndBottom/>"
        f'<wp:docPr id="{box_id}" name="{name}"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="{wps}">'
        f'<wps:wsp><wps:cNvSpPr txBox="1"/>'
        f'<wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln>'
        f"</wps:spPr><wps:txbx><w:txbxContent/></wps:txbx>"
        f'<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" '
        f'anchor="b" anchorCtr="0"><a:noAutofit/></wps:bodyPr>'
        f"</wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )
    drawing = parse_xml(xml)
    run.append(drawing)
    content = drawing.find(".//" + qn("w:txbxContent"))
    assert content is not None
    return content


def set_table_rules(
    tbl: etree._Element, outer_eighths: int, inner_eighths: int, color: str = "000000"
) -> None:
    """Horizontal rules only, the table's full width: ``outer`` above and below, ``inner``
    between rows; no cell margins at the sides (paragraph indents place the text)."""
    tbl_pr = _required(tbl, _TBLPR)
    borders = _child(tbl_pr, "tblBorders", _TBLPR_ORDER)
    for child in list(borders):
        borders.remove(child)
    for side, size in (
        ("top", outer_eighths),
        ("left", 0),
        ("bottom", outer_eighths),
        ("right", 0),
        ("insideH", inner_eighths),
        ("insideV", 0),
    ):
        element = etree.SubElement(borders, qn(f"w:{side}"))
        if size:
            _set(element, val="single", sz=size, space=0, color=color)
        else:
            _set(element, val="nil")
    margins = _child(tbl_pr, "tblCellMar", _TBLPR_ORDER)
    for side in ("left", "right"):
        _set(etree.SubElement(margins, qn(f"w:{side}")), w=0, type="dxa")


def set_row_height(tr: etree._Element, twips: int) -> None:
    """An exact row height (``w:trHeight hRule="exact"``)."""
    trpr = tr.find(qn("w:trPr"))
    if trpr is None:
        trpr = OxmlElement("w:trPr")
        tr.insert(0, trpr)
    _set(etree.SubElement(trpr, qn("w:trHeight")), val=twips, hRule="exact")
