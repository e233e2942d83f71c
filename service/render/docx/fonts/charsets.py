"""Which characters an embedded face holds besides a document's own: the fixed sets per mode."""

from __future__ import annotations

from functools import cache
from typing import Literal

EmbedMode = Literal["editable", "used", "full", "none"]
"""The house style's ``docx.embed_fonts``: which glyphs an embedded face carries."""


@cache
def gb2312_characters(rows: tuple[int, ...]) -> frozenset[str]:
    """The characters of GB2312 rows ``rows`` (lead bytes 0xA1…0xF7), decoded with Python's codec."""
    chars: set[str] = set()
    for lead in rows:
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


GB2312_LEVEL1_ROWS = tuple(range(0xB0, 0xD8))
"""Lead bytes of the 3,755 level-1 hanzi (0xB0A1–0xD7F9)."""
GB2312_SYMBOL_ROWS = (0xA1, 0xA3)
"""Row 1 (、。·—…“”《》【】 …) and row 3 (full-width ASCII)."""


@cache
def editable_characters() -> frozenset[str]:
    """What an "editable" subset holds besides the document's own characters.

    GB2312 level 1, ASCII, CJK symbols and punctuation (U+3000–303F), full-width forms
    (U+FF01–FF5E), general punctuation (U+2010–2027) and GB2312's symbol rows: enough for a user
    to type on in the same face, and enough glyphs that LibreOffice keeps the font for editing
    (it drops small subsets, tdf#162002).
    """
    ranges = [(0x20, 0x7E), (0x3000, 0x303F), (0xFF01, 0xFF5E), (0x2010, 0x2027)]
    chars = {chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)}
    return frozenset(
        chars | gb2312_characters(GB2312_LEVEL1_ROWS) | gb2312_characters(GB2312_SYMBOL_ROWS)
    )
