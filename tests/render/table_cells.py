"""Read a table back, cell by cell, from the word boxes of a PDF (ours or LibreOffice's).

A checking tool of the render tests. Words are grouped into text lines by page and box top and
each word falls in the column its centre is in (the column edges are the writers' widths from
the left of the text block). The table's rows are then followed line by line in reading order
against the model's rows: a line adds its words to the cells of the row being read until every
cell reads as the model's, then the next row starts; a cell that wraps over several lines, or a
number centred beside a wrapped label, is read whole. On a new page the repeated header row and
the 续表N caption above it are passed over. What comes back is what was read, row by row, up to
the first row that does not read as the model's (so a test compares it with the model's rows).
The table is looked for after the first line that reads as its caption.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.model.document import Table

_SPACE = re.compile(r"\s+")
EDGE_TOLERANCE_PT = 2.0
"""How far outside the table a word's centre may be and still count as in its first or last
column."""


class WordBox(Protocol):
    @property
    def page(self) -> int: ...
    @property
    def x0(self) -> float: ...
    @property
    def y0(self) -> float: ...
    @property
    def x1(self) -> float: ...
    @property
    def text(self) -> str: ...


Cells = tuple[str, ...]


def model_rows(table: Table) -> list[Cells]:
    """The header row and every body row of ``table`` as they print, without whitespace."""
    rows = [tuple(column.title for column in table.columns)]
    rows += [row.cells for row in table.rows]
    return [tuple(_SPACE.sub("", cell) for cell in row) for row in rows]


def _lines(words: Iterable[WordBox], bottom: float) -> list[list[WordBox]]:
    rows: dict[tuple[int, int], list[WordBox]] = {}
    for word in words:
        if word.y0 < bottom:
            rows.setdefault((word.page, round(word.y0)), []).append(word)
    return [sorted(rows[key], key=lambda w: w.x0) for key in sorted(rows)]


def _columns(line: Sequence[WordBox], edges: Sequence[float]) -> list[list[WordBox]] | None:
    """The line's words per column; ``None`` when a word lies outside the table."""
    columns: list[list[WordBox]] = [[] for _ in edges[1:]]
    for word in line:
        centre = (word.x0 + word.x1) / 2
        if not edges[0] - EDGE_TOLERANCE_PT <= centre <= edges[-1] + EDGE_TOLERANCE_PT:
            return None
        columns[sum(1 for edge in edges[1:-1] if centre >= edge)].append(word)
    return columns


def _text(words: Iterable[WordBox]) -> str:
    return "".join(_SPACE.sub("", word.text) for word in words)


def _extends(read: Cells, more: Cells, target: Cells) -> bool:
    return all(t.startswith(r + m) for r, m, t in zip(read, more, target, strict=True))


@dataclass(frozen=True, slots=True)
class ReadTable:
    rows: list[Cells]
    """The rows read, header first, up to the first that does not read as the model's."""
    words: list[tuple[int, WordBox]]
    """Every word read into a cell, with its column index."""


def read_table(
    words: Iterable[WordBox],
    edges: Sequence[float],
    table: Table,
    *,
    bottom: float,
    continued: str = "",
) -> ReadTable:
    """The rows of ``table`` (header first) as the words show them; ``edges`` are the column
    edges in pt from the page's left, ``bottom`` the foot of the text block (page numbers below
    it are left out), ``continued`` the 续表N caption a new page may repeat."""
    expected = model_rows(table)
    header, empty = expected[0], ("",) * len(expected[0])
    continued = _SPACE.sub("", continued)
    caption = _SPACE.sub("", table.caption)
    texts = [(line, _text(line)) for line in _lines(words, bottom)]
    after = next((i + 1 for i, (_, text) in enumerate(texts) if text == caption), len(texts))
    lines = [c for c in (_columns(line, edges) for line, _ in texts[after:]) if c]
    start = next((i for i, c in enumerate(lines) if _extends(empty, _cells(c), header)), len(lines))
    read: list[Cells] = []
    used: list[tuple[int, WordBox]] = []
    i = start
    for target in expected:
        cells, repeat = empty, empty
        while cells != target and i < len(lines):
            line = _cells(lines[i])
            if _extends(cells, line, target):
                cells = tuple(a + b for a, b in zip(cells, line, strict=True))
                used += [(n, word) for n, column in enumerate(lines[i]) for word in column]
            elif read and cells == empty and continued and "".join(line) == continued:
                pass
            elif read and cells == empty and _extends(repeat, line, header):
                repeat = tuple(a + b for a, b in zip(repeat, line, strict=True))
                repeat = empty if repeat == header else repeat
            else:
                break
            i += 1
        read.append(cells)
        if cells != target:
            break
    return ReadTable(read, used)


def _cells(columns: list[list[WordBox]]) -> Cells:
    return tuple(_text(column) for column in columns)
