"""Column widths of a statistics table, shared by both writers so the PDF and the DOCX agree.

A column needs its widest cell (full-width characters count one em of table text, others
0.55 em, a "其中" row one more em in the first column, never under two ems) plus the cell's
padding; the text width is then shared in proportion to need, so spare width goes where the
text is. Where the text width is too little, number columns (aligned right) keep their whole
need, so a figure is never broken over two lines (12,/003), and only the text columns give
width back, their long labels wrapping inside them. Fixing the widths up front also spares the
PDF writer WeasyPrint's automatic table layout, which lays every cell out twice to measure it.
"""

from __future__ import annotations

import unicodedata

from service.model.document import Table

NARROW_CHARACTER_EM = 0.55
"""Average advance of a Latin letter, digit or sign in ems of table text."""


def column_widths(table: Table, total: float, em: float, padding: float) -> list[float]:
    """Widths summing to ``total``, in the unit of ``total``, ``em`` and ``padding`` (both sides
    of a cell together)."""
    needs = [need_ems * em + padding for need_ems in column_needs(table)]
    if sum(needs) <= total:
        return [need * total / sum(needs) for need in needs]
    fixed = [column.align == "right" for column in table.columns]
    kept = sum(need for need, keep in zip(needs, fixed, strict=True) if keep)
    shared = sum(needs) - kept
    if not shared or kept >= total:
        return [need * total / sum(needs) for need in needs]
    scale = (total - kept) / shared
    return [need if keep else need * scale for need, keep in zip(needs, fixed, strict=True)]


def column_needs(table: Table) -> list[float]:
    """What each column's widest text needs, in ems of table text."""
    has_sub_rows = any(row.kind == "sub" for row in table.rows)
    needs = []
    for i, column in enumerate(table.columns):
        texts = [column.title, *(row.cells[i] for row in table.rows)]
        indent = 1 if i == 0 and has_sub_rows else 0
        needs.append(max(2.0, max(map(display_width, texts)) + indent))
    return needs


def display_width(text: str) -> float:
    """Advance of ``text`` in ems: one for a wide (CJK) character, 0.55 for any other."""
    return sum(
        1.0 if unicodedata.east_asian_width(c) in "WF" else NARROW_CHARACTER_EM for c in text
    )
