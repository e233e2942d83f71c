"""Which characters an embedded face holds besides a document's own: the fixed sets per mode."""

from __future__ import annotations

from functools import cache
from typing import Literal

EmbedMode = Literal["editable", "display", "used", "exact", "full", "none"]
"""Which glyphs an embedded face carries: the house style's ``docx.embed_fonts``; ``display``,
what an ``editable`` document embeds of a face the body does not use; ``exact``, the given
characters alone (an overflow font)."""


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
    return reserve_characters() | gb2312_characters(GB2312_LEVEL1_ROWS)


@cache
def reserve_characters() -> frozenset[str]:
    """The small reserve of a display face (title, headings, captions) besides the document's
    own characters: ASCII, CJK symbols and punctuation, full-width forms, general punctuation
    and GB2312's symbol rows (~500 glyphs), so that numbers and punctuation typed into a heading
    stay in its face; and the Chinese numerals, which Word's list numbering draws in the
    heading's face (一、 （十二） 一百零五、)."""
    ranges = [(0x20, 0x7E), (0x3000, 0x303F), (0xFF01, 0xFF5E), (0x2010, 0x2027)]
    chars = {chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)}
    return frozenset(chars | gb2312_characters(GB2312_SYMBOL_ROWS) | set(CHINESE_NUMERALS))


CHINESE_NUMERALS = "〇零一二三四五六七八九十百千"


def fixed_characters(mode: EmbedMode) -> frozenset[str] | None:
    """The characters every subset of ``mode`` holds whatever the document (``None``: the whole
    face, for ``full``)."""
    if mode == "full":
        return None
    if mode == "editable":
        return editable_characters()
    if mode == "display":
        return reserve_characters()
    if mode == "used":
        return label_characters()
    return frozenset()


@cache
def label_characters() -> frozenset[str]:
    """What a ``used`` subset holds whatever the document: the characters of heading numbers,
    which Word's list numbering draws in the paragraph style's face, and the space."""
    return frozenset(CHINESE_NUMERALS + "0123456789.、（） ")
