"""Which characters the shipped fonts can draw.

A character no face covers would print as an empty box (or, in WeasyPrint, cost seconds of
fallback search), so payload text is checked before rendering.

A face's character map is read with HarfBuzz (uharfbuzz), not fontTools: fontTools builds a
glyph name per glyph and a Python dict per subtable, which for the nine faces (the Noto and
LXGW fallbacks map 29,000–45,000 characters each) cost ~350 ms and ~150 MiB of a worker's
first render; HarfBuzz gives the same sets in ~15 ms.
"""

from __future__ import annotations

import bz2
from functools import cache
from pathlib import Path

import uharfbuzz

from service.style.house_style import HouseStyle

COMMON_SYMBOLS = (
    "®©™㎡㎏㎎㎝㎞㎜℃℉−²³¹‰×÷±≤≥≠≈∞°′″№§¥€£¢·•…—–‐‑①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ〇"
)
"""Symbols common in these reports that every role draws (listed in docs/fonts.md; a test
renders them with 通用规范汉字表 and GB2312 in every role)."""

UNIHAN_MAPPINGS = Path("/usr/share/unicode/Unihan_OtherMappings.txt.bz2")
"""Debian's unicode-data: Unihan's ``kTGH`` field lists 通用规范汉字表 (2013)."""

ALWAYS_DRAWN = frozenset("\n\t")
"""Characters that never reach a font as glyphs."""


class UnreadableFont(ValueError):
    """A face's file that is missing, unreadable or not a font."""


@cache
def _cmap(path: str) -> frozenset[int]:
    try:
        face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
    except uharfbuzz.HarfBuzzError as exc:
        raise UnreadableFont(f"{path}: {exc}") from exc
    if face.glyph_count == 0:  # HarfBuzz reads any file; one that is not a font has no glyphs
        raise UnreadableFont(f"{path}: not a font")
    return frozenset(face.unicodes)


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


@cache
def tgh_characters() -> str:
    """The 8,105 characters of 通用规范汉字表 in code point order, from Unihan's ``kTGH``
    (empty when Debian's unicode-data is not installed)."""
    if not UNIHAN_MAPPINGS.exists():
        return ""
    chars = []
    with bz2.open(UNIHAN_MAPPINGS, "rt", encoding="utf-8") as fh:
        for line in fh:
            if "\tkTGH\t" in line:
                chars.append(chr(int(line.split("\t", 1)[0][2:], 16)))
    return "".join(sorted(chars))


def gb2312_all() -> frozenset[str]:
    """Every character of GB2312 (rows 0xA1-0xF7), decoded with Python's codec."""
    chars = set()
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def promised_characters() -> str:
    """Every character every role draws (docs/fonts.md): 通用规范汉字表, GB2312, the symbols."""
    return "".join(sorted(set(tgh_characters()) | gb2312_all() | set(COMMON_SYMBOLS)))
