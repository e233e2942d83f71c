"""Document model -> HTML text for WeasyPrint (``templates/pdf/document.html.j2``, autoescaped).

The HTML holds text and structure only. Heading markers are not in it: each heading sets its
CSS counter from the model's ``number`` and the stylesheet draws 一、（一）1.（1）. Tables carry
their column widths (:mod:`service.render.columns`, the DOCX writer's widths too) for the
stylesheet's fixed table layout.
"""

from __future__ import annotations

from typing import Literal

from service import __version__
from service.model.document import Block, Document, Heading, Paragraph, Table
from service.model.numbering import LADDER
from service.render.columns import column_widths
from service.render.pdf.continued import continued_caption
from service.render.pdf.css import counter_name
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


def heading_tags(document: Document) -> dict[int, str]:
    """Structure type by ladder rung: ``H1`` for the document's top rung, one more per rung.

    A tagged PDF may not skip a heading level, and a ladder may start at （一）: its （一）
    headings are then ``H1``. The title is ``H1`` too (PDF 1.7 has no title type).
    """
    levels = sorted({heading.level for heading in document.headings})
    return {level: f"H{depth}" for depth, level in enumerate(levels, start=1)}


def build_html(
    document: Document, style: HouseStyle, continued_tables: frozenset[int] = frozenset()
) -> str:
    """The HTML of ``document`` in ``style``; the same input always gives the same text.

    The tables numbered in ``continued_tables`` carry the 续表N row of :mod:`.continued`.
    """
    tags = heading_tags(document)
    return template("document.html.j2").render(
        heading_tag=lambda heading: tags[heading.level],
        meta=document.meta,
        title=document.title,
        blocks=[(_kind(block), block) for block in document.blocks],
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
