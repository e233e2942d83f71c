"""Which characters the shipped fonts can draw.

A character no face covers would print as an empty box (or, in WeasyPrint, cost seconds of
fallback search), so payload text is checked before rendering.
"""

from __future__ import annotations

from functools import cache

from fontTools.ttLib import TTFont

from service.style.house_style import HouseStyle

COMMON_SYMBOLS = (
    "®©™㎡㎏㎎㎝㎞㎜℃℉−²³¹‰×÷±≤≥≠≈∞°′″№§¥€£¢·•…—–‐‑①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ〇"
)
"""Symbols common in these reports that every role draws (listed in docs/fonts.md; a test
renders them with 通用规范汉字表 and GB2312 in every role)."""

ALWAYS_DRAWN = frozenset("\n\t")
"""Characters that never reach a font as glyphs."""


@cache
def _cmap(path: str) -> frozenset[int]:
    # opened here: TTFont(path) leaves its file open when the file is not a font
    with open(path, "rb") as file, TTFont(file, lazy=True) as font:
        return frozenset(font.getBestCmap())


def covered_codepoints(style: HouseStyle) -> frozenset[int]:
    """Code points drawn in every face of ``style`` (any text may end up in any role's face),
    by the face itself or one of its fallbacks."""
    return _intersection(
        tuple(tuple(str(f.path) for f in style.faces_drawing(face)) for face in style.used_faces())
    )


def face_codepoints(path: str) -> frozenset[int]:
    """The code points the font file at ``path`` maps to a glyph."""
    return _cmap(path)


@cache
def _intersection(path_groups: tuple[tuple[str, ...], ...]) -> frozenset[int]:
    return frozenset.intersection(
        *(frozenset().union(*(_cmap(path) for path in group)) for group in path_groups)
    )


def uncovered_characters(text: str, style: HouseStyle) -> list[str]:
    """The distinct characters of ``text`` that some face of ``style`` lacks, in first-seen order."""
    covered = covered_codepoints(style)
    missing: dict[str, None] = {}
    for char in text:
        if ord(char) not in covered and char not in ALWAYS_DRAWN:
            missing.setdefault(char, None)
    return list(missing)
