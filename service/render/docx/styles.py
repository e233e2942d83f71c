"""House style -> Word styles: one paragraph style per kind of text, nothing formatted directly.

Word's built-in styles are used where one fits, so Word's own features work: ``Heading 1``–``4``
(navigation pane, TOC, and a list linked to them so new headings number themselves), ``Title``,
``Subtitle`` for the lead line under the title, ``Caption``, ``Signature`` and ``Date``,
``Footer``. Our own: ``Note``, ``Table Text`` (with ``Center``/``Right``/``Sub`` variants, a
``First`` variant of each for a table's first body row, and ``Table Heading``), ``Footer Even``
and the table style ``Statistics Table``.

A heading's style follows the model's ladder *level*, not its depth: a document whose ladder
starts at （一） uses ``Heading 2`` (楷体) for its top headings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.shared import Pt, Twips
from docx.styles.style import ParagraphStyle

from service.model.document import HeadingLevel
from service.model.numbering import LADDER
from service.render.docx import oxml
from service.render.docx.units import (
    char_twips,
    character_spacing_twips,
    eighth_points,
    half_points,
    twips_from_pt,
)
from service.style.house_style import HouseStyle

HEADING_STYLE_IDS = {1: "Heading1", 2: "Heading2", 3: "Heading3", 4: "Heading4"}
TABLE_STYLE = "Statistics Table"
PARAGRAPH_STYLE_OF_ROLE = {"body": "Normal", "lead": "Subtitle", "note": "Note"}
COLUMN_STYLE = {"left": "Table Text", "center": "Table Text Center", "right": "Table Text Right"}
FIRST_ROW_STYLE = {align: f"{name} First" for align, name in COLUMN_STYLE.items()}
"""The cells of a table's first body row: kept with the next row, so that a table never starts
at a page foot with fewer than two body rows (the caption and the header row keep with what
follows by their own styles)."""


def style_id(name: str) -> str:
    """The ``w:styleId`` python-docx gives a style it adds: its name without spaces."""
    return name.replace(" ", "")


_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}
_KEEP_FROM_TEMPLATE = (
    "Normal",
    "DefaultParagraphFont",
    "TableNormal",
    "NoList",
    "Title",
    "Subtitle",
    "Caption",
    "Footer",
    *HEADING_STYLE_IDS.values(),
)


Align = Literal["left", "center", "right", "justify"]
Side = Literal["left", "center", "right"]


@dataclass(frozen=True, slots=True)
class _Spec:
    """How one paragraph style derives from a house-style role."""

    name: str
    role: str
    builtin: bool = True
    align: Align | None = None
    """``None``: the role's alignment."""
    left_chars: float = 0
    right_chars: float | None = None
    """``None``: the role's right indent."""
    first_line_chars: float | None = None
    """``None``: the role's first-line indent."""
    space_before_pitches: float = 0
    space_after_pitches: float = 0
    """Space in body line pitches (one blank line = 1)."""
    keep_next: bool = False
    keep_lines: bool = False
    heading_level: int | None = None
    contextual: bool = False
    line_is_size: bool = False
    """Exact line height = font size (the footer: one line, off the body grid)."""


def _specs(style: HouseStyle) -> list[_Spec]:
    number = style.page_number
    specs = [
        _Spec("Normal", "body"),
        _Spec("Title", "title"),
        _Spec("Subtitle", "lead", contextual=True, space_after_pitches=1),
        *(
            _Spec(f"Heading {n}", rung.role, keep_next=True, keep_lines=True, heading_level=n)
            for n, rung in LADDER.items()
        ),
        _Spec("Caption", "caption", keep_next=True),
        _Spec("Note", "note", builtin=False),
        _Spec("Table Text", "table", builtin=False, align="left"),
        _Spec("Table Text Center", "table", builtin=False, align="center"),
        _Spec("Table Text Right", "table", builtin=False, align="right"),
        _Spec("Table Text Sub", "table", builtin=False, align="left", left_chars=1),
        *(
            _Spec(FIRST_ROW_STYLE[align], "table", builtin=False, align=align, keep_next=True)
            for align in ("left", "center", "right")
        ),
        _Spec(
            "Table Heading",
            style.table.header_face_role,
            builtin=False,
            align="center",
            first_line_chars=0,
            right_chars=0,
            keep_next=True,
        ),
        _Spec("Signature", "signature", space_before_pitches=1, keep_next=True, first_line_chars=0),
        _Spec("Date", "signature", first_line_chars=0),
        _footer("Footer", number.role, number.odd_side, number.inset_chars, builtin=True),
        _footer("Footer Even", number.role, number.even_side, number.inset_chars, builtin=False),
    ]
    return specs


LETTER_MARK_STYLE = "Letter Mark"
ANNEX_LABEL_STYLE = "Annex Label"


def _letter_specs() -> list[_Spec]:
    """The paragraph styles of a 公文's parts (GB/T 9704 §7.2-§7.4, §8), defined in letters only:
    flush left, no first-line or right indent (the writer adds the indents that depend on text)."""

    def flush(name: str, role: str, align: Align = "left", left_chars: float = 0) -> _Spec:
        return _Spec(
            name, role, builtin=False, align=align, left_chars=left_chars,
            first_line_chars=0, right_chars=0,
        )  # fmt: skip

    return [
        flush("Letter Corner", "corner"),
        flush(LETTER_MARK_STYLE, "mark", align="center"),
        flush("Letter Reference", "body"),
        flush("Letter Addressee", "body"),
        flush("Letter Attachments", "body", left_chars=5),
        flush(ANNEX_LABEL_STYLE, "annex_label"),
        flush("Record", "record"),
    ]


def roles_by_style_id(style: HouseStyle) -> dict[str, str]:
    """The house-style role of each paragraph style, by style id."""
    return {style_id(spec.name): spec.role for spec in [*_specs(style), *_letter_specs()]}


def define_letter_styles(doc: DocxDocument, style: HouseStyle, language: str) -> None:
    """Add the letter's paragraph styles: the 标志 in the letter's red, the 附件 mark starting a
    new page."""
    for spec in _letter_specs():
        _define(doc, spec, style, language, num_id=0)
    oxml.set_style_color(doc.styles[LETTER_MARK_STYLE].element, style.letter.red.lstrip("#"))
    oxml.set_style_page_break_before(doc.styles[ANNEX_LABEL_STYLE].element)


def _footer(name: str, role: str, side: Side, inset_chars: float, builtin: bool) -> _Spec:
    """A footer style: its own line height, ``inset_chars`` in from the side the number stands
    on (no inset when centred)."""
    return _Spec(
        name,
        role,
        builtin=builtin,
        align=side,
        line_is_size=True,
        first_line_chars=0,
        left_chars=inset_chars if side == "left" else 0,
        right_chars=inset_chars if side == "right" else 0,
    )


def define_styles(doc: DocxDocument, style: HouseStyle, language: str, num_id: int) -> None:
    """Replace python-docx's template styles with the house style's.

    ``language`` is the document's East Asian language (``zh-CN``); ``num_id`` the list the
    heading styles are linked to (see :func:`oxml.fill_numbering`).
    """
    styles_element = doc.styles.element
    oxml.prune_styles(styles_element, _KEEP_FROM_TEMPLATE)
    oxml.strip_revision_ids(styles_element)
    body = style.role("body")
    oxml.set_doc_defaults(
        styles_element,
        east_asian=style.face_of("body").family,
        latin=style.latin_face_of("body").family,
        size_half_points=half_points(body.size_pt),
        language=language,
    )
    for spec in _specs(style):
        _define(doc, spec, style, language, num_id)
    _define_table_style(doc, style)


def _define(doc: DocxDocument, spec: _Spec, style: HouseStyle, language: str, num_id: int) -> None:
    names = {s.name for s in doc.styles}
    if spec.name in names:
        word_style = doc.styles[spec.name]
        oxml.clear_style(word_style.element)
    else:
        word_style = doc.styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH, builtin=spec.builtin)
    assert isinstance(word_style, ParagraphStyle)
    if spec.name != "Normal":
        word_style.base_style = doc.styles["Normal"]
    word_style.quick_style = True
    if spec.name.startswith("Footer"):
        word_style.quick_style = False
    if spec.heading_level or spec.name in ("Title", "Subtitle", "Caption", "Signature"):
        word_style.next_paragraph_style = doc.styles["Normal"]

    role = style.role(spec.role)
    element = word_style.element
    fmt = word_style.paragraph_format
    fmt.alignment = _ALIGN[spec.align or role.align]
    line = twips_from_pt(role.size_pt if spec.line_is_size else style.line_pitch_of(spec.role))
    fmt.line_spacing = Twips(line)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    body_pitch = twips_from_pt(style.line_pitch_of("body"))
    fmt.space_before = Twips(round(spec.space_before_pitches * body_pitch))
    fmt.space_after = Twips(round(spec.space_after_pitches * body_pitch))
    if spec.keep_next:
        fmt.keep_with_next = True
    if spec.keep_lines:
        fmt.keep_together = True
    if spec.name == "Normal":
        # GB/T 9704 counts 22 lines on every page: no line may move to keep a widow company.
        fmt.widow_control = False
        oxml.set_overflow_punctuation(oxml.style_ppr(element))
        oxml.set_no_auto_space(oxml.style_ppr(element))
    word_style.font.size = Pt(role.size_pt)

    rpr = oxml.style_rpr(element)
    oxml.set_fonts(rpr, style.face_of(spec.role).family, style.latin_face_of(spec.role).family)
    oxml.set_plain(rpr)
    oxml.set_character_spacing(rpr, character_spacing_twips(style, spec.role))
    oxml.set_language(rpr, language)

    ppr = oxml.style_ppr(element)
    char = char_twips(style, spec.role)
    first = role.first_line_indent_chars if spec.first_line_chars is None else spec.first_line_chars
    right = role.right_indent_chars if spec.right_chars is None else spec.right_chars
    oxml.set_indent(
        ppr,
        first_line_twips=round(first * char),
        first_line_chars=round(first * 100),
        left_twips=round(spec.left_chars * char),
        left_chars=round(spec.left_chars * 100),
        right_twips=round(right * char),
        right_chars=round(right * 100),
    )
    on_grid = not spec.line_is_size and style.line_pitch_of(spec.role) == style.page.line_pitch_pt
    oxml.set_snap_to_grid(ppr, on_grid)
    if spec.contextual:
        oxml.set_contextual_spacing(ppr)
    if spec.heading_level:
        oxml.set_outline_level(ppr, spec.heading_level - 1)
        oxml.set_style_numbering(ppr, num_id, spec.heading_level - 1)


def _define_table_style(doc: DocxDocument, style: HouseStyle) -> None:
    table_style = doc.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.TABLE)
    table_style.base_style = doc.styles["Normal Table"]
    oxml.set_table_style_properties(
        table_style.element,
        border_eighths=eighth_points(style.table.border_pt),
        cell_margin_twips=twips_from_pt(style.table.cell_padding_pt),
    )


def heading_indent(style: HouseStyle, level: HeadingLevel) -> tuple[int, int]:
    """``(twips, hundredths of a character)`` of a heading level's first-line indent."""
    role = LADDER[level].role
    chars = style.role(role).first_line_indent_chars
    return round(chars * char_twips(style, role)), round(chars * 100)
