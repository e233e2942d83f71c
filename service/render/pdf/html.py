"""Document model -> HTML text for WeasyPrint (``templates/pdf/document.html.j2``, autoescaped).

The HTML holds text and structure only. Heading markers are not in it: each heading sets its
CSS counter from the model's ``number`` and the stylesheet draws 一、（一）1.（1）. Tables carry
their column widths (:mod:`service.render.columns`, the DOCX writer's widths too) for the
stylesheet's fixed table layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service import __version__
from service.model.document import (
    Block,
    Document,
    Heading,
    Paragraph,
    Signature,
    Table,
    width_in_chars,
)
from service.model.numbering import LADDER
from service.render.columns import column_widths
from service.render.letter import SIGNER_LABEL, head_layout
from service.render.pdf.continued import continued_caption
from service.render.pdf.css import char_width_pt, counter_name
from service.render.pdf.templating import template
from service.style.house_style import MM_PER_PT, HouseStyle

BlockKind = Literal["heading", "paragraph", "table"]


def _kind(block: Block) -> BlockKind:
    if isinstance(block, Heading):
        return "heading"
    if isinstance(block, Paragraph):
        return "paragraph"
    if isinstance(block, Table):
        return "table"
    raise TypeError(f"unknown block {type(block).__name__}")


@dataclass(frozen=True, slots=True)
class RecordPlace:
    """Where the 版记 goes, as :mod:`.engine` found it after a first layout: ``space_pt``
    above it, on a new page (``new_page``) or on the next even page (``even_page``)."""

    space_pt: float = 0
    new_page: bool = False
    even_page: bool = False


@dataclass(frozen=True, slots=True)
class SignaturePlace:
    """The signature's lengths in pt (:meth:`Signature.placement` in this style)."""

    margin_top_pt: float
    signer_right_pt: float
    date_right_pt: float
    seal_left_pt: float
    seal_top_pt: float


def signature_place(signature: Signature, sealed: bool, style: HouseStyle) -> SignaturePlace:
    """GB/T 9704 §7.3.5 in pt; with a seal, the seal's box in the signature's box: centred over
    the date, its centre a quarter line above the middle of the 署名 and 成文日期 lines."""
    place = signature.placement(sealed, style.role("signature").right_indent_chars)
    char = char_width_pt(style, "signature")
    pitch = style.line_pitch_of("signature")
    seal = style.letter.seal_diameter_mm / MM_PER_PT
    width = style.page.text_width_mm / MM_PER_PT
    date_chars = width_in_chars(signature.date_text)
    centre_x = width - (place.date_right_chars + date_chars / 2) * char
    return SignaturePlace(
        margin_top_pt=place.blank_lines_before * style.line_pitch_of("body"),
        signer_right_pt=place.signer_right_chars * char,
        date_right_pt=place.date_right_chars * char,
        seal_left_pt=centre_x - seal / 2,
        seal_top_pt=0.75 * pitch - seal / 2,
    )


def _blocks(document: Document) -> list[tuple[BlockKind, Block]]:
    return [(_kind(block), block) for block in document.blocks]


def heading_tags(document: Document) -> dict[int, str]:
    """Structure type by ladder rung: ``H1`` for the document's top rung, one more per rung.

    A tagged PDF may not skip a heading level, and a ladder may start at （一）: its （一）
    headings are then ``H1``. The title is ``H1`` too (PDF 1.7 has no title type).
    """
    headings = list(document.headings)
    if document.letter:
        headings += [h for _, _, annex in document.letter.carried for h in annex.headings]
    levels = sorted({heading.level for heading in headings})
    return {level: f"H{depth}" for depth, level in enumerate(levels, start=1)}


def build_html(
    document: Document,
    style: HouseStyle,
    continued_tables: frozenset[int] = frozenset(),
    record_place: RecordPlace = RecordPlace(),
) -> str:
    """The HTML of ``document`` in ``style``; the same input always gives the same text.

    The tables numbered in ``continued_tables`` carry the 续表N row of :mod:`.continued`; a
    letter's 版记 goes where ``record_place`` says (see :func:`.engine.render_pdf`).
    """
    tags = heading_tags(document)
    letter = document.letter
    sealed = letter is not None and style.letter.seal is not None
    return template("document.html.j2").render(
        letter=letter,
        head_layout=head_layout(letter.head, style) if letter else None,
        signer_label=SIGNER_LABEL,
        sealed=sealed,
        seal_url=seal.as_uri() if (seal := style.letter.seal_path) else "",
        signature_place=lambda signature, sealed: signature_place(signature, sealed, style),
        annex_blocks=_blocks,
        record_place=record_place,
        heading_tag=lambda heading: tags[heading.level],
        meta=document.meta,
        title=document.title,
        blocks=_blocks(document),
        signature=document.signature,
        generator=f"Pilu {__version__}",
        counter_name=counter_name,
        ladder=LADDER,
        column_widths_pt=lambda table: table_column_widths_pt(table, style),
        continued_tables=continued_tables,
        continued_caption=continued_caption,
    )


def table_column_widths_pt(table: Table, style: HouseStyle) -> list[float]:
    """Column widths of ``table`` in pt, filling the text width."""
    return column_widths(
        table,
        total=style.page.text_width_mm / MM_PER_PT,
        em=style.role("table").size_pt,
        padding=2 * style.table.cell_padding_pt,
    )
