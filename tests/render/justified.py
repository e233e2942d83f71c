"""The lines of a PDF's justified paragraphs, found from word boxes (``pdftotext -bbox``).

A checking tool of the render tests. Words are grouped into text lines by page and box top;
each justified paragraph of the model is then followed through those lines in reading order
(its text, without whitespace, is the concatenation of its lines). What a test checks is where
each line ends: every line but a paragraph's last must reach the right edge of the text block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from service.model import Document
from service.model.document import Paragraph
from service.style import HouseStyle
from service.style.house_style import MM_PER_PT
from tests.render import pdf_reading as rd

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Line:
    page: int
    top: float
    x0: float
    x1: float
    text: str
    """The line's words joined without whitespace."""


def text_lines(pdf: bytes, style: HouseStyle) -> list[Line]:
    """Every text line of ``pdf`` inside the text block (words sharing a page and a box top; the
    page numbers below the block left out), in reading order."""
    bottom = (style.page.height_mm - style.page.margin_bottom_mm) / MM_PER_PT
    rows: dict[tuple[int, float], list[rd.Box]] = {}
    for box in rd.words(pdf):
        if box.y0 < bottom:
            rows.setdefault((box.page, round(box.y0)), []).append(box)
    lines = []
    for (page, top), boxes in sorted(rows.items()):
        boxes.sort(key=lambda b: b.x0)
        text = _SPACE.sub("", "".join(b.text for b in boxes))
        lines.append(Line(page, top, boxes[0].x0, boxes[-1].x1, text))
    return lines


def justified_texts(document: Document, style: HouseStyle) -> list[str]:
    """The text of every paragraph whose role the house style justifies, in document order."""
    return [
        block.text
        for block in document.blocks
        if isinstance(block, Paragraph) and style.role(block.role).align == "justify"
    ]


def paragraph_lines(lines: list[Line], texts: Iterable[str]) -> list[list[Line]]:
    """The lines of each paragraph of ``texts`` (in document order), followed through ``lines``.

    Raises ``ValueError`` naming a paragraph whose lines are not found one after another.
    """
    out: list[list[Line]] = []
    i = 0
    for text in texts:
        target = _SPACE.sub("", text)
        while i < len(lines) and not (lines[i].text and target.startswith(lines[i].text)):
            i += 1
        found: list[Line] = []
        done = ""
        while i < len(lines) and done != target:
            if not target.startswith(done + lines[i].text):
                break
            done += lines[i].text
            found.append(lines[i])
            i += 1
        if done != target:
            raise ValueError(f"paragraph not found line by line: {text[:30]}…")
        out.append(found)
    return out


def text_block_right(style: HouseStyle) -> float:
    """The right edge of the text block in pt from the page's left edge."""
    return (style.page.margin_left_mm + style.page.text_width_mm) / MM_PER_PT
