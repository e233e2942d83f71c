"""Check, before layout, that the house style's fonts draw every character of a document.

Pango silently falls back to any system font for a character our faces lack, and the search can
be very slow (one U+2011 once cost 55 s of layout). Refusing such a document up front, naming the
characters, is both faster and the only way a missing glyph cannot ship unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from service.errors import RenderFailed
from service.model.document import Document, Heading, Paragraph
from service.style.house_style import HouseStyle

_LAYOUT_ONLY = frozenset("\n\r\t")
"""Characters that only break or pad lines and are never drawn."""


@cache
def _covered(*paths: Path) -> frozenset[int]:
    """The code points the font files at ``paths`` map to glyphs (read once per process)."""
    points: set[int] = set()
    for path in paths:
        font = TTFont(path, lazy=True)
        try:
            points.update(font.getBestCmap())
        finally:
            font.close()
    return frozenset(points)


def role_texts(document: Document, style: HouseStyle) -> Iterator[tuple[str, str]]:
    """Every drawn text of ``document`` with the house-style role it is set in."""
    yield "title", document.title
    for block in document.blocks:
        if isinstance(block, Heading):
            yield f"heading{block.level}", block.full_text
        elif isinstance(block, Paragraph):
            yield block.role, block.text
        else:
            yield "caption", block.caption
            yield style.table.header_face_role, "".join(c.title for c in block.columns)
            yield "table", "".join("".join(row.cells) for row in block.rows)
    if document.signature:
        yield "signature", document.signature.signer + document.signature.date_text
    yield style.page_number.role, style.page_number.format.replace("{n}", "0123456789")


def check_coverage(document: Document, style: HouseStyle) -> None:
    """Raise :class:`RenderFailed` naming each character no face of its role can draw."""
    missing: dict[str, set[str]] = {}
    for role_name, text in role_texts(document, style):
        covered = _covered(style.face_of(role_name).path, style.latin_face_of(role_name).path)
        for char in set(text) - _LAYOUT_ONLY:
            if ord(char) not in covered:
                missing.setdefault(char, set()).add(role_name)
    if missing:
        listed = [
            f"U+{ord(c):04X} {c!r} ({', '.join(sorted(r))})" for c, r in sorted(missing.items())
        ]
        raise RenderFailed(
            "characters the house-style fonts cannot draw: " + "; ".join(listed), details=listed
        )
