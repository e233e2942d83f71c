"""Which characters the shipped fonts can draw.

A character no face covers would print as an empty box (or, in WeasyPrint, cost seconds of
fallback search), so payload text is checked before rendering.
"""

from __future__ import annotations

from functools import cache

from fontTools.ttLib import TTFont

from service.style.house_style import HouseStyle

ALWAYS_DRAWN = frozenset("\n\t")
"""Characters that never reach a font as glyphs."""


@cache
def _cmap(path: str) -> frozenset[int]:
    # opened here: TTFont(path) leaves its file open when the file is not a font
    with open(path, "rb") as file, TTFont(file, lazy=True) as font:
        return frozenset(font.getBestCmap())


def covered_codepoints(style: HouseStyle) -> frozenset[int]:
    """Code points drawn by every face of ``style`` (any text may end up in any role's face)."""
    return _intersection(tuple(str(face.path) for face in style.used_faces()))


@cache
def _intersection(paths: tuple[str, ...]) -> frozenset[int]:
    return frozenset.intersection(*(_cmap(path) for path in paths))


def uncovered_characters(text: str, style: HouseStyle) -> list[str]:
    """The distinct characters of ``text`` that some face of ``style`` lacks, in first-seen order."""
    covered = covered_codepoints(style)
    missing: dict[str, None] = {}
    for char in text:
        if ord(char) not in covered and char not in ALWAYS_DRAWN:
            missing.setdefault(char, None)
    return list(missing)
