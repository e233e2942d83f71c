"""A table that runs onto the next page repeats its caption there as 续表N, above its header row.

WeasyPrint repeats a table's ``<thead>`` on every page the table reaches, the same rows each
time, and nothing can show on one page only. So a table known to cross a page gets one more
header row, first, holding 续表N and the title; it is laid out on every page but drawn hidden
(``visibility: hidden``), and on its first page the caption paragraph above the table is pulled
down over it (a negative bottom margin as tall as the row), so that page looks as before. After
layout, :func:`show_continued_captions` makes the row visible on every page but the first.

Which tables cross a page is only known after a layout: :func:`crossing_tables` reads it off
the laid-out pages, and the writer lays the document out again with the row in those tables
(the first pages look the same, so the same tables cross; a 续表 line may push a later table
over a page, hence the loop in the engine). A document whose tables all fit on their pages is
laid out once.

The row is a header row of the table, so the tagged PDF sees it as one (an empty one on the
first page, where nothing of it is drawn).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from weasyprint.formatting_structure import boxes

TABLE_ATTRIBUTE = "data-table"
"""The ``<table>`` attribute holding the model's table number."""
CONTINUED_CLASS = "continued"
"""The class of the header row holding 续表N."""


def continued_caption(caption: str) -> str:
    """The caption a table repeats on its next pages: 表3 投诉险种分布 -> 续表3 投诉险种分布."""
    return f"续{caption}"


def _table_fragments(document: Any) -> list[tuple[int, Any]]:
    """Every table box of the laid-out ``document`` with its table number, page by page."""
    out = []
    for page in document.pages:
        for box in _tables(page._page_box):
            number = box.element.get(TABLE_ATTRIBUTE) if box.element is not None else None
            if number is not None:
                out.append((int(number), box))
    return out


def _tables(box: Any) -> Iterator[Any]:
    """The table boxes under ``box``, not looking into lines of text (most of a page's boxes)."""
    if isinstance(box, boxes.TableBox):
        yield box
    elif isinstance(box, boxes.ParentBox) and not isinstance(box, boxes.LineBox):
        for child in box.children:
            yield from _tables(child)


def crossing_tables(document: Any) -> frozenset[int]:
    """The numbers of the tables that the laid-out ``document`` shows on more than one page."""
    seen: set[int] = set()
    crossing: set[int] = set()
    for number, _ in _table_fragments(document):
        (crossing if number in seen else seen).add(number)
    return frozenset(crossing)


def show_continued_captions(document: Any) -> None:
    """Draw the 续表N row of every table on its pages after the first."""
    seen: set[int] = set()
    for number, table in _table_fragments(document):
        if number not in seen:
            seen.add(number)
            continue
        for box in table.descendants():
            element = getattr(box, "element", None)
            if (
                isinstance(box, boxes.TableRowBox)
                and element is not None
                and CONTINUED_CLASS in (element.get("class") or "").split()
            ):
                for part in box.descendants():
                    _make_visible(part)


def _make_visible(box: Any) -> None:
    if not isinstance(box, boxes.Box) or box.style["visibility"] == "visible":
        return
    style = box.style.copy()
    style["visibility"] = "visible"
    box.style = style
