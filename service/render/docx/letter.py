"""A letter's 公文 parts in the DOCX (GB/T 9704-2012), as paragraphs, borders and a table that
staff edit in Word: the 版头 (:func:`write_head`), the 主送机关, the 附件说明, the signature
with its seal, the 附注, the 附件 pages and the 版记 (:func:`write_record`).

The head's lengths are those of :mod:`service.render.letter` (the PDF's), turned into spacing
before paragraphs with exact line heights. The red line is the top border of an empty
paragraph one point high; the 版记 is a table of two rows, floating at the bottom edge of the
text block (``w:tblpPr``), with rules above, between and below. Where Word breaks the pages is
not known here, so unlike the PDF the DOCX does not move the 版记 to an even page or take the
page numbers off pages before it.
"""

from __future__ import annotations

from functools import cache

from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from lxml import etree

from service.model.document import Signature, width_in_chars
from service.model.letter import Distribution, Letter, LetterHead
from service.render.docx import oxml
from service.render.docx.styles import ANNEX_LABEL_STYLE, LETTER_MARK_STYLE, style_id
from service.render.docx.units import (
    char_twips,
    eighth_points,
    half_points,
    text_width_twips,
    twips_from_mm,
    twips_from_pt,
)
from service.render.letter import SIGNER_LABEL, head_layout
from service.style.house_style import MM_PER_PT, HouseStyle

RED_LINE_PARAGRAPH_PT = 1
"""Exact height of the paragraph whose top border is the red line."""


def write_head(body: etree._Element, head: LetterHead, style: HouseStyle) -> None:
    """份号, 密级, 紧急程度, 发文机关标志, 发文字号 with 签发人, and the red line."""
    layout = head_layout(head, style)
    pitch = twips_from_pt(layout.pitch_pt)
    char = char_twips(style, "body")
    used = 0  # twips from the top of the text block to the bottom of the last paragraph
    for line in head.corner_lines:
        name = "Letter Reference" if line == head.copy_number else "Letter Corner"
        oxml.add_paragraph(body, line, style_id(name))
        used += pitch
    mark = oxml.add_paragraph(body, head.organ_mark, style_id(LETTER_MARK_STYLE))
    # The 标志's line is exactly the face's own height (OS/2 win ascent + descent), so that Word
    # and LibreOffice put its baseline one win ascent below the line's top; the em box's top is
    # then (win ascent - em ascent) below it, taken off the space above.
    ascent, height, em_ascent = _win_metrics(str(style.face_of("mark").path))
    mark_line = twips_from_pt(layout.mark_size_pt * height)
    offset = twips_from_pt(layout.mark_size_pt * (ascent - em_ascent))
    mark_before = twips_from_pt(layout.mark_top_pt) - used - offset
    oxml.set_spacing(mark, before=mark_before, line=mark_line)
    oxml.set_run_look(mark[-1], size_half_points=half_points(layout.mark_size_pt))
    used += mark_before + mark_line

    rows = layout.signer_rows
    row_paragraphs = max(len(rows), 1)
    first_top = twips_from_pt(layout.reference_top_pt) - (row_paragraphs - 1) * pitch
    text_width = text_width_twips(style)
    label_twips = round(width_in_chars(SIGNER_LABEL) * char)
    widest = max((width_in_chars("\u3000".join(r)) for r in rows), default=0)
    names_at = text_width - char - round(widest * char)
    for index in range(row_paragraphs):
        last = index == row_paragraphs - 1
        paragraph = oxml.add_paragraph(body, "", style_id("Letter Reference"))
        if index == 0:
            oxml.set_spacing(paragraph, before=first_top - used, line=pitch)
        else:
            oxml.set_spacing(paragraph, line=pitch)
        if last:
            if head.upward:
                oxml.set_paragraph_indent(paragraph, left=char)
            else:
                oxml.set_alignment(paragraph, "center")
            oxml.append_run(paragraph, head.reference)
        if rows:
            oxml.set_tabs(paragraph, [("left", names_at - label_twips), ("left", names_at)])
            label = SIGNER_LABEL if index == 0 else ""
            oxml.append_run(paragraph, "\t" + label if label else "\t\t")
            names = oxml.append_run(paragraph, "\u3000".join(rows[index]))
            kai = style.face_of("signer_name")
            oxml.set_run_look(
                names, east_asian=kai.family, latin=style.latin_face_of("signer_name").family
            )
    used = twips_from_pt(layout.reference_top_pt) + pitch

    red = oxml.add_paragraph(body, "", style_id("Letter Reference"))
    red_top = twips_from_pt(layout.red_line_top_pt)
    oxml.set_spacing(red, before=red_top - used, line=twips_from_pt(RED_LINE_PARAGRAPH_PT))
    oxml.set_snap_to_grid(oxml.paragraph_properties(red), False)
    oxml.set_border(red, "top", eighth_points(layout.red_line_pt), style.letter.red.lstrip("#"))


@cache
def _win_metrics(path: str) -> tuple[float, float, float]:
    """``(win ascent, win ascent + win descent, typographic ascent)`` of a font, in ems."""
    with TTFont(path, lazy=True) as font:
        upm = font["head"].unitsPerEm
        os2 = font["OS/2"]
        return (
            os2.usWinAscent / upm,
            (os2.usWinAscent + os2.usWinDescent) / upm,
            os2.sTypoAscender / upm,
        )


def title_spacing_after_head(style: HouseStyle) -> int:
    """Space before a letter's title: two empty lines under the red line (twips)."""
    pitch = twips_from_pt(style.line_pitch_of("body"))
    return 2 * pitch - twips_from_pt(RED_LINE_PARAGRAPH_PT)


def write_addressee(body: etree._Element, letter: Letter) -> None:
    oxml.add_paragraph(body, letter.addressee_text, style_id("Letter Addressee"))


def write_attachment_note(body: etree._Element, letter: Letter, style: HouseStyle) -> None:
    """附件说明: one line under the body, 附件： two characters in, later names under the first."""
    char = char_twips(style, "body")
    for index, line in enumerate(letter.attachment_lines):
        paragraph = oxml.add_paragraph(body, line, style_id("Letter Attachments"))
        if index == 0:
            oxml.set_spacing(paragraph, before=twips_from_pt(style.line_pitch_of("body")))
            oxml.set_paragraph_indent(paragraph, left=5 * char, hanging=3 * char)
        else:
            oxml.set_paragraph_indent(paragraph, left=5 * char)


def write_signature(
    doc: DocxDocument, body: etree._Element, signature: Signature, style: HouseStyle, sealed: bool
) -> None:
    """署名 and 成文日期 flush right with GB/T 9704 §7.3.5's indents, and the seal anchored behind
    them (§7.3.5.1), its centre a quarter line above the middle of the two lines (measured from
    the top of the 署名's paragraph, its space before included, as Word and LibreOffice do)."""
    place = signature.placement(sealed, style.role("signature").right_indent_chars)
    char = char_twips(style, "signature")
    pitch = twips_from_pt(style.line_pitch_of("signature"))
    signer = oxml.add_paragraph(body, signature.signer, style_id("Signature"))
    # The styles say one empty line above and the house style's inset: direct formatting only
    # where the text or a seal asks for other lengths (the date's indent depends on both lines).
    if place.blank_lines_before != 1:
        oxml.set_spacing(signer, before=place.blank_lines_before * pitch)
    if place.signer_right_chars != style.role("signature").right_indent_chars:
        oxml.set_paragraph_indent(signer, right=round(place.signer_right_chars * char))
    date = oxml.add_paragraph(body, signature.date_text, style_id("Date"))
    oxml.set_paragraph_indent(date, right=round(place.date_right_chars * char))
    seal = style.letter.seal_path
    if not sealed or seal is None:
        return
    rid, _ = doc.part.get_or_add_image(str(seal))
    diameter = twips_from_mm(style.letter.seal_diameter_mm)
    centre_x = text_width_twips(style) - round(
        (place.date_right_chars + width_in_chars(signature.date_text) / 2) * char
    )
    run = etree.SubElement(signer, qn("w:r"))
    oxml.anchored_picture(
        run,
        rid,
        picture_id=1,
        name="印章",
        size_twips=(diameter, diameter),
        offset_twips=(
            centre_x - diameter // 2,
            place.blank_lines_before * pitch + round(0.75 * pitch) - diameter // 2,
        ),
    )


def write_note(body: etree._Element, letter: Letter) -> None:
    if letter.note_text is not None:
        oxml.add_paragraph(body, letter.note_text, None)


def write_annex_head(body: etree._Element, label: str, style: HouseStyle) -> etree._Element:
    """The 附件 mark, top left of a new page; returns it (the title follows on the third line)."""
    paragraph = oxml.add_paragraph(body, label, style_id(ANNEX_LABEL_STYLE))
    oxml.set_spacing(paragraph, after=twips_from_pt(style.line_pitch_of("body")))
    return paragraph


def write_record(doc: DocxDocument, record: Distribution, style: HouseStyle) -> None:
    """The 版记 as a table of one column in a text box anchored to the bottom edge of the text
    block: 抄送 (one character in on both sides, later lines under the first name), then
    印发机关 left and 印发日期 right, with rules above (0.35 mm), between (0.25 mm) and below
    (0.35 mm). The box hangs on an empty paragraph, one point high, after the text."""
    width = text_width_twips(style)
    char = char_twips(style, "record")
    pitch = twips_from_pt(style.line_pitch_of("body"))
    letter = style.letter
    copies = record.copies_to_text
    printed = f"{record.printer}\t{record.printed_on_text}"
    lines = [copies, printed] if copies else [printed]
    body = doc.element.body
    anchor = oxml.add_paragraph(body, "", style_id("Letter Reference"))
    oxml.set_spacing(anchor, line=twips_from_pt(RED_LINE_PARAGRAPH_PT))
    oxml.set_snap_to_grid(oxml.paragraph_properties(anchor), False)
    run = etree.SubElement(anchor, qn("w:r"))
    rules_mm = 2 * letter.record_outer_line_mm + (letter.record_inner_line_mm if copies else 0)
    height = len(lines) * pitch + twips_from_mm(rules_mm)
    content = oxml.anchored_text_box(run, box_id=2, name="版记", size_twips=(width, height))
    tbl = doc.add_table(rows=len(lines), cols=1)._tbl
    content.append(tbl)
    oxml.set_table_rules(
        tbl,
        outer_eighths=eighth_points(letter.record_outer_line_mm / MM_PER_PT),
        inner_eighths=eighth_points(letter.record_inner_line_mm / MM_PER_PT),
    )
    oxml.set_table_geometry(tbl, [width])
    cells = oxml.table_cells(tbl)
    for index, (tr, text) in enumerate(zip(oxml.table_rows(tbl), lines, strict=True)):
        oxml.set_row_height(tr, pitch)
        cell = cells[index][0]
        oxml.fill_cell(cell, text, style_id("Record"))
        paragraph = cell.findall(qn("w:p"))[-1]
        oxml.set_spacing(paragraph, line=pitch)
        if copies and index == 0:
            oxml.set_paragraph_indent(paragraph, left=4 * char, right=char, hanging=3 * char)
        else:
            oxml.set_paragraph_indent(paragraph, left=char, right=char)
            oxml.set_tabs(paragraph, [("right", width - char)])
    # A text box's content ends with a paragraph: one point high, off the grid.
    end = oxml.add_paragraph(content, "", style_id("Letter Reference"))
    oxml.set_spacing(end, line=twips_from_pt(RED_LINE_PARAGRAPH_PT))
    oxml.set_snap_to_grid(oxml.paragraph_properties(end), False)
