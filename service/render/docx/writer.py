"""Document model + house style -> DOCX bytes.

In: a frozen :class:`~service.model.Document` and a :class:`~service.style.HouseStyle`. Out: the
bytes of a Word document whose look lives in styles (see :mod:`.styles`), whose heading numbers
are live Word numbering agreeing with the model's labels, with odd/even page-number footers,
embedded fonts (see :mod:`.fonts`) and reproducible bytes (see :mod:`.package`).

python-docx does the friendly parts (template, styles, table grids, sections, footers, core
properties); raw XML is in :mod:`.oxml` only. Body paragraphs, runs and cell styles are written
there too, by style id: python-docx resolves a style name through the styles part on every use,
which was most of a render's body time.

Everything that depends only on the house style (template, styles, numbering, settings, page
setup) is built once per process and deep-copied per render (:func:`_skeleton`).
"""

from __future__ import annotations

import copy
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time
from typing import Protocol

import docx
from docx.document import Document as DocxDocument
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part, XmlPart
from docx.opc.rel import Relationships
from docx.shared import Twips
from lxml import etree

from service import __version__
from service.errors import RenderFailed
from service.model.document import Document, Heading, Paragraph, Table
from service.model.letter import Letter
from service.model.numbering import LADDER, CounterKind, Rung, heading_label
from service.render import columns
from service.render.coverage import check_coverage
from service.render.docx import letter as letter_parts
from service.render.docx import oxml
from service.render.docx.fonts import EmbeddedFont, EmbedMode, embed_face, warm_cache
from service.render.docx.fonts.runs import OverflowFont, embed_modes, split_runs_by_font
from service.render.docx.marks import MarkWriter, cell_figure
from service.render.docx.package import repack
from service.render.docx.styles import (
    COLUMN_STYLE,
    FIRST_ROW_STYLE,
    HEADING_STYLE_IDS,
    PARAGRAPH_STYLE_OF_ROLE,
    TABLE_STYLE,
    define_letter_styles,
    define_styles,
    heading_indent,
    roles_by_style_id,
    style_id,
)
from service.render.docx.units import (
    char_twips,
    text_width_twips,
    twips_from_mm,
    twips_from_pt,
)
from service.render.letter import SIGNER_LABEL
from service.style.coverage import covered_codepoints
from service.style.house_style import FontFace, HouseStyle

HEADING_LIST_ID = 1
"""``w:numId`` of the heading list."""

NUMBER_FORMATS: dict[CounterKind, str] = {"chinese": "chineseCounting", "decimal": "decimal"}
"""Word's ``w:numFmt`` for each kind of ladder counter."""

_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


class NumberingMismatch(RenderFailed):
    """A heading's number or label is not what Word's list numbering would show for it."""

    code = "docx_numbering_mismatch"


def render_docx(document: Document, style: HouseStyle) -> bytes:
    """The DOCX of ``document`` in house style ``style``; the same input gives the same bytes.

    Raises :class:`NumberingMismatch` when the model's heading numbers do not follow the
    ladder's sequence (Word would print other numbers), and
    :class:`~service.render.docx.fonts.FontEmbeddingForbidden` for a face that may not be
    embedded.
    """
    check_heading_numbers(document.headings)
    check_coverage(document, style)
    style = _with_installed_fonts(style)
    doc = _skeleton(style, document.meta.language, letter=document.letter is not None)
    marks = MarkWriter()
    _write_body(doc, document, style, marks)
    section = doc.sections[0]
    overflow = split_runs_by_font(
        [doc.element.body, section.footer._element, section.even_page_footer._element],
        style,
        roles_by_style_id(style),
        embed_modes(style),
    )
    _set_properties(doc, document)
    marks.attach(doc, document.meta.report_kind)
    _set_theme(doc, style)
    fonts = _embed_fonts(doc, document, style, overflow)
    oxml.strip_revision_ids(doc.element)
    buffer = io.BytesIO()
    doc.save(buffer)
    return repack(buffer.getvalue(), fonts, document.meta.created)


def _with_installed_fonts(style: HouseStyle) -> HouseStyle:
    """``style`` with its faces named as ``docx.installed_fonts`` says (nothing embedded)."""
    names = style.docx.installed_fonts
    if not names:
        return style
    faces = {
        key: face.model_copy(update={"family": names[key], "alt_name": ""})
        if key in names
        else face
        for key, face in style.faces.items()
    }
    return style.model_copy(update={"faces": faces})


_SKELETONS: dict[tuple[str, str, str, bool], tuple[HouseStyle, DocxDocument]] = {}
"""Per process: (house style name, version, language, letter) -> (the style, its skeleton)."""


def _skeleton(style: HouseStyle, language: str, letter: bool = False) -> DocxDocument:
    """A fresh copy of the document every render in ``style`` and ``language`` starts from:
    python-docx's template without its extras, our styles, the heading list, settings, page
    setup and footers; no body text.

    Building it costs ~45 ms (loading the template and defining the styles are python-docx's
    slowest parts) and depends only on the style and the language, so it is built once per
    process and deep-copied per render (~1 ms, cheaper than re-opening a saved copy). The
    style stored with it is compared too: a style changed in memory (tests'
    ``model_copy``) keeps its name and version but needs its own skeleton.
    """
    key = (style.name, style.version, language, letter)
    cached = _SKELETONS.get(key)
    if cached is None or cached[0] != style:
        cached = _SKELETONS[key] = (style, _build_skeleton(style, language, letter))
    return copy.deepcopy(cached[1])


def _build_skeleton(style: HouseStyle, language: str, letter: bool = False) -> DocxDocument:
    """The skeleton :func:`_skeleton` copies.

    A deep copy is a true copy only because python-docx's objects keep no element but the root
    of each part (a copied sub-element would be detached from its copied tree);
    ``test_skeleton_copies_share_nothing`` checks that for the python-docx installed.
    """
    doc = docx.Document()
    _drop_template_extras(doc)
    define_styles(doc, style, language, HEADING_LIST_ID)
    if letter:
        define_letter_styles(doc, style, language)
    _fill_numbering(doc, style)
    mode = style.docx.embed_fonts
    oxml.fill_settings(
        doc.settings.element,
        embed_fonts=mode != "none",
        subset_fonts=mode == "used",
        default_tab_twips=2 * char_twips(style, "body"),
        east_asian_language=language,
    )
    _page_setup(doc, style)
    return doc


def check_heading_numbers(headings: Iterable[Heading]) -> None:
    """Check each heading's number and label against Word's list sequence.

    Word counts each level and restarts it after any heading of a higher rung, which is how the
    model numbers headings within their parent. A heading that disagrees would print a number
    other than the model's, so the writer refuses rather than ship a wrong label.
    """
    counters = [0] * (len(LADDER) + 1)
    for heading in headings:
        counters[heading.level] += 1
        for deeper in range(heading.level + 1, len(counters)):
            counters[deeper] = 0
        expected = counters[heading.level]
        if heading.number != expected or heading.label != heading_label(heading.level, expected):
            raise NumberingMismatch(
                f"标题“{heading.full_text}”的编号与Word自动编号不一致（应为"
                f"{heading_label(heading.level, expected)}）",
                details={
                    "heading": heading.full_text,
                    "expected": heading_label(heading.level, expected),
                },
            )


# --- package parts --------------------------------------------------------------------------


def _drop_template_extras(doc: DocxDocument) -> None:
    """Drop python-docx template parts that say nothing true of our document: a thumbnail of an
    empty page, a custom XML item, Word 2010 style effects and web settings."""
    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package.rels[rid]
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in (RT.CUSTOM_XML, RT.WEB_SETTINGS, _STYLES_WITH_EFFECTS):
            del doc.part.rels[rid]


class _RelationshipOwner(Protocol):
    """A python-docx part or the package: both own relationships to parts."""

    @property
    def rels(self) -> Relationships: ...

    def relate_to(self, target: Part, reltype: str, /) -> str: ...


def _replace_part(owner: _RelationshipOwner, reltype: str, part: Part) -> None:
    """Point ``reltype`` of the document part (or package) at ``part`` instead of the template's
    (the replaced part is then unreachable and python-docx does not write it)."""
    rels = owner.rels
    for rid, rel in list(rels.items()):
        if rel.reltype == reltype:
            del rels[rid]
    owner.relate_to(part, reltype)


def list_level_text(rung: Rung) -> str:
    """Word's ``w:lvlText`` of ``rung``: its prefix, ``%level`` (the number) and its suffix."""
    return f"{rung.prefix}%{rung.level}{rung.suffix}"


def _fill_numbering(doc: DocxDocument, style: HouseStyle) -> None:
    levels = []
    for level, rung in LADDER.items():
        twips, chars = heading_indent(style, level)
        levels.append(
            oxml.ListLevel(
                NUMBER_FORMATS[rung.counter],
                list_level_text(rung),
                HEADING_STYLE_IDS[level],
                twips,
                chars,
            )
        )
    oxml.fill_numbering(doc.part.numbering_part.element, levels, HEADING_LIST_ID)


def _set_theme(doc: DocxDocument, style: HouseStyle) -> None:
    theme = doc.part.part_related_by(RT.THEME)
    blob = oxml.theme_with_fonts(
        theme.blob,
        major=(style.face_of("heading1").family, style.latin_face_of("heading1").family),
        minor=(style.face_of("body").family, style.latin_face_of("body").family),
    )
    new = Part(theme.partname, theme.content_type, blob, doc.part.package)
    _replace_part(doc.part, RT.THEME, new)


def _set_properties(doc: DocxDocument, document: Document) -> None:
    """Core properties from the model's meta; modified = created so a re-render is identical."""
    meta = document.meta
    props = doc.core_properties
    stamp = datetime.combine(meta.created, time())
    props.title = meta.title
    props.author = meta.author
    props.subject = meta.subject
    props.keywords = ", ".join(meta.keywords)
    props.language = meta.language
    props.category = meta.report_kind
    props.comments = ""
    props.last_modified_by = meta.author
    props.revision = 1
    props.created = stamp
    props.modified = stamp
    package = doc.part.package
    app = Part(
        PackURI("/docProps/app.xml"),
        CT.OFC_EXTENDED_PROPERTIES,
        oxml.extended_properties(f"Pilu {__version__}", meta.author),
        package,
    )
    _replace_part(package, RT.EXTENDED_PROPERTIES, app)


# --- page -----------------------------------------------------------------------------------


def _page_setup(doc: DocxDocument, style: HouseStyle) -> None:
    """A4 and margins from the house style, the line grid, odd/even page-number footers.

    The footer distance puts the top of the page number's line (one line of its own size) the
    house style's ``below_text_mm`` under the text block, as GB/T 9704 measures it.
    """
    page, number = style.page, style.page_number
    section = doc.sections[0]
    section.page_width = Twips(twips_from_mm(page.width_mm))
    section.page_height = Twips(twips_from_mm(page.height_mm))
    section.top_margin = Twips(twips_from_mm(page.margin_top_mm))
    section.bottom_margin = Twips(twips_from_mm(page.margin_bottom_mm))
    section.left_margin = Twips(twips_from_mm(page.margin_left_mm))
    section.right_margin = Twips(twips_from_mm(page.margin_right_mm))
    number_line = twips_from_pt(style.role(number.role).size_pt)
    section.footer_distance = Twips(
        twips_from_mm(page.margin_bottom_mm - number.below_text_mm) - number_line
    )
    section.gutter = Twips(0)
    oxml.set_document_grid(doc.element.body.sectPr, twips_from_pt(page.line_pitch_pt))

    doc.settings.odd_and_even_pages_header_footer = True
    before, _, after = number.format.partition("{n}")
    for footer, style_name in (
        (section.footer, "Footer"),
        (section.even_page_footer, "Footer Even"),
    ):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.style = doc.styles[style_name]
        if before:
            paragraph.add_run(before)
        oxml.append_page_field(paragraph._p)
        if after:
            paragraph.add_run(after)


# --- body -----------------------------------------------------------------------------------


def _write_body(
    doc: DocxDocument, document: Document, style: HouseStyle, marks: MarkWriter
) -> None:
    """Title, blocks and signature, each paragraph by style id (see :func:`oxml.add_paragraph`:
    python-docx's ``add_paragraph(text, style=name)`` resolves the name through the styles part
    for every paragraph); for a letter its 公文 parts around them (:mod:`.letter`)."""
    body = doc.element.body
    letter = document.letter
    if letter is None:
        _write_text(doc, document, style, marks)
        return
    letter_parts.write_head(body, letter.head, style)
    title = _write_text(doc, document, style, marks, letter=letter)
    oxml.set_spacing(title, before=letter_parts.title_spacing_after_head(style))
    letter_parts.write_note(body, letter)
    for label, _, annex in letter.carried:
        letter_parts.write_annex_head(body, label, style)
        _write_text(doc, annex, style, marks)
    if letter.distribution is not None:
        letter_parts.write_record(doc, letter.distribution, style)


def _write_text(
    doc: DocxDocument,
    document: Document,
    style: HouseStyle,
    marks: MarkWriter,
    letter: Letter | None = None,
) -> etree._Element:
    """The title (returned), a letter's 主送机关, the blocks, a letter's 附件说明, the signature."""
    body = doc.element.body
    body_pitch = twips_from_pt(style.line_pitch_of("body"))
    title = oxml.add_paragraph(body, document.title, style_id("Title"))
    first = document.blocks[0] if document.blocks else None
    if not (isinstance(first, Paragraph) and first.role == "lead"):
        oxml.space_after(title, body_pitch)
    if letter is not None:
        letter_parts.write_addressee(body, letter)
    for block in document.blocks:
        if isinstance(block, Heading):
            # The label is not typed: the heading style's list numbering draws it.
            oxml.add_paragraph(body, block.text, HEADING_STYLE_IDS[block.level])
        elif isinstance(block, Paragraph):
            name = PARAGRAPH_STYLE_OF_ROLE[block.role]
            sid = None if name == "Normal" else style_id(name)
            if block.marks:
                paragraph = oxml.add_paragraph(body, "", sid)
                marks.text(paragraph, block.text, block.marks)
            else:
                paragraph = oxml.add_paragraph(body, block.text, sid)
            marks.origin(paragraph, block.origin)
        else:
            _write_table(doc, block, style, marks)
    if letter is not None and letter.attachments:
        letter_parts.write_attachment_note(body, letter, style)
    if document.signature:
        sealed = letter is not None and style.letter.seal is not None
        letter_parts.write_signature(doc, body, document.signature, style, sealed)
    return title


def _write_table(doc: DocxDocument, table: Table, style: HouseStyle, marks: MarkWriter) -> None:
    """Caption, then the grid python-docx lays out (rows of cells, one empty paragraph each),
    filled through its elements: python-docx's ``rows``/``cells`` proxies rebuild the cell grid
    on every access. Every value cell (not the label column) is marked by its place
    (:func:`.marks.cell_figure`)."""
    caption = oxml.add_paragraph(doc.element.body, table.caption, style_id("Caption"))
    marks.origin(caption, table.origin)
    tbl = doc.add_table(rows=1 + len(table.rows), cols=len(table.columns))._tbl
    oxml.set_table_style(tbl, style_id(TABLE_STYLE))
    rows = oxml.table_cells(tbl)
    for cell, column in zip(rows[0], table.columns, strict=False):
        oxml.fill_cell(cell, column.title, style_id("Table Heading"))
    for n, (cells, data) in enumerate(zip(rows[1:], table.rows, strict=False)):
        kept = n == 0 and len(table.rows) >= 2
        for i, (cell, text) in enumerate(zip(cells, data.cells, strict=False)):
            name = (FIRST_ROW_STYLE if kept else COLUMN_STYLE)[table.columns[i].align]
            if data.kind == "sub" and i == 0:
                name = "Table Text Sub"
            oxml.fill_cell(cell, text, style_id(name))
            if i and text:
                marks.cell(oxml.cell_paragraph(cell), cell_figure(table.number, n + 1, i))
    oxml.set_table_geometry(tbl, column_widths(table, style))
    for i, tr in enumerate(oxml.table_rows(tbl)):
        oxml.set_row_flags(tr, header=i == 0)


def column_widths(table: Table, style: HouseStyle) -> list[int]:
    """Column widths in whole twips summing to the text width: the PDF writer's widths
    (:func:`service.render.columns.column_widths`), the rounding put on the last column."""
    total = text_width_twips(style)
    shares = columns.column_widths(
        table,
        total=total,
        em=twips_from_pt(style.role("table").size_pt),
        padding=2 * twips_from_pt(style.table.cell_padding_pt),
    )
    widths = [int(width) for width in shares]
    widths[-1] += total - sum(widths)
    return widths


# --- fonts ----------------------------------------------------------------------------------


def characters_by_face(document: Document, style: HouseStyle) -> dict[str, set[str]]:
    """The characters each face family sets in ``document`` (East Asian and Latin faces alike).

    Heading labels count for their heading's faces (Word draws them in the heading style), the
    page-number format and all ten digits for the page-number face.
    """
    by_role: dict[str, set[str]] = defaultdict(set)
    _characters_by_role(document, style, by_role)
    by_role[style.page_number.role].update(style.page_number.format.replace("{n}", "0123456789"))
    by_face: dict[str, set[str]] = defaultdict(set)
    for role, chars in by_role.items():
        chars -= {"\n", "\r", "\t"}
        for face in (style.face_of(role), style.latin_face_of(role)):
            by_face[face.family] |= chars | {" "}
    return dict(by_face)


def _characters_by_role(
    document: Document, style: HouseStyle, by_role: dict[str, set[str]]
) -> None:
    by_role["title"].update(document.title)
    for block in document.blocks:
        if isinstance(block, Heading):
            by_role[LADDER[block.level].role].update(block.text + block.label)
        elif isinstance(block, Paragraph):
            by_role[block.role].update(block.text)
        else:
            by_role["caption"].update(block.caption)
            for column in block.columns:
                by_role[style.table.header_face_role].update(column.title)
            for row in block.rows:
                for cell in row.cells:
                    by_role["table"].update(cell)
    if document.signature:
        by_role["signature"].update(document.signature.signer + document.signature.date_text)
    letter = document.letter
    if letter is None:
        return
    head = letter.head
    by_role["mark"].update(head.organ_mark)
    by_role["corner"].update("".join(head.corner_lines))
    by_role["signer_name"].update("\u3000".join(head.signers))
    by_role["body"].update(
        head.reference + SIGNER_LABEL + letter.addressee_text + "".join(letter.attachment_lines)
    )
    by_role["body"].update(letter.note_text or "")
    for label, _, annex in letter.carried:
        by_role["annex_label"].update(label)
        _characters_by_role(annex, style, by_role)
    if letter.distribution is not None:
        record = letter.distribution
        by_role["record"].update(
            (record.copies_to_text or "") + record.printer + record.printed_on_text
        )


def _unique_faces(style: HouseStyle) -> list[FontFace]:
    return list({face.family: face for face in style.used_faces()}.values())


def _embed_fonts(
    doc: DocxDocument, document: Document, style: HouseStyle, overflow: list[OverflowFont]
) -> dict[str, EmbeddedFont]:
    """The font table, with a placeholder part per embedded font; returns the fonts by ZIP name.

    A face the document does not use is named, not embedded. A face the roles use is embedded
    with its mode's fixed set alone, the same part in every document; the ``overflow`` fonts
    with the characters they draw, under their own names (see :mod:`.fonts.runs`).
    The placeholders are empty: :func:`~service.render.docx.package.repack` writes each font's
    pre-deflated bytes in their place, so python-docx never compresses font data.
    """
    package = doc.part.package
    modes = embed_modes(style)
    chars = characters_by_face(document, style)
    root = oxml.font_table([])
    table_part = XmlPart(PackURI("/word/fontTable.xml"), CT.WML_FONT_TABLE, root, package)
    _replace_part(doc.part, RT.FONT_TABLE, table_part)
    entries: list[oxml.FontTableEntry] = []
    members: dict[str, EmbeddedFont] = {}

    def embed(face: FontFace, used: Iterable[str], mode: EmbedMode, alt_name: str) -> None:
        font = embed_face(face, used, mode)
        partname = PackURI(f"/word/fonts/font{len(members) + 1}.odttf")
        part = Part(partname, oxml.OBFUSCATED_FONT_CONTENT_TYPE, b"", package)
        rid = table_part.relate_to(part, RT.FONT)
        members[partname.membername] = font
        entries.append(
            oxml.FontTableEntry(face.family, alt_name, rid, font.font_key, font.subsetted)
        )

    for face in _unique_faces(style):
        used = chars.get(face.family, set())
        mode = modes[face.key]
        if mode == "none" or not used:
            entries.append(oxml.FontTableEntry(face.family, face.alt_name))
        else:
            embed(face, (), mode, face.alt_name)
    for font in overflow:
        if style.docx.embed_fonts == "none":
            entries.append(oxml.FontTableEntry(font.family, ""))
        else:
            embed(font.face.model_copy(update={"family": font.family}), font.chars, "exact", "")
    for element in list(oxml.font_table(entries)):
        root.append(element)
    return members


def warm_up(style: HouseStyle, workers: int = 1) -> None:
    """Load and prepare ``style``'s fonts for this process (a render worker's initializer), so
    the first document costs what the others do."""
    covered_codepoints(style)
    modes = embed_modes(style)
    by_mode: dict[EmbedMode, list[FontFace]] = defaultdict(list)
    for face in _unique_faces(style):
        by_mode[modes[face.key]].append(face)
    for mode, faces in sorted(by_mode.items()):
        warm_cache(faces, mode, workers=workers)
