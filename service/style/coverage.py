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
import operator
from collections.abc import Iterable, Iterator, Set
from functools import cache, reduce
from pathlib import Path

import uharfbuzz

from service.style.house_style import HouseStyle, font_path

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


class CodepointSet(Set[int]):
    """A set of code points held as a bitmap of every plane (139 KB, whatever it holds).

    The faces map 10,000 to 45,000 characters each; as frozensets of ints the nine of a house
    style, their unions and the intersection took ~20 MiB of every worker (~30 MiB at peak).
    """

    __slots__ = ("_bits", "drawn")

    def __init__(self, bits: bytes) -> None:
        self._bits = bits
        self.drawn: set[str] = set()
        """The characters of the set met so far (by :func:`uncovered_characters`): a text
        whose every character is among them is checked by one set operation."""

    @classmethod
    def of(cls, codes: Iterable[int]) -> CodepointSet:
        bits = bytearray(CODE_SPACE >> 3)
        for code in codes:
            bits[code >> 3] |= 1 << (code & 7)
        return cls(bytes(bits))

    @classmethod
    def _from_iterable(cls, codes: Iterable[int]) -> frozenset[int]:  # type: ignore[override]
        # what Set's operators build from a mix with another set: a plain frozenset
        return frozenset(codes)

    @classmethod
    def _of_mask(cls, mask: int) -> CodepointSet:
        return cls(mask.to_bytes(CODE_SPACE >> 3, "little"))

    def _mask(self) -> int:
        return int.from_bytes(self._bits, "little")

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, int) or not 0 <= code < CODE_SPACE:
            return False
        return bool(self._bits[code >> 3] & (1 << (code & 7)))

    def __iter__(self) -> Iterator[int]:
        for index, byte in enumerate(self._bits):
            if byte:
                yield from (index * 8 + bit for bit in range(8) if byte >> bit & 1)

    def __len__(self) -> int:
        return self._mask().bit_count()

    @staticmethod
    def union_of(sets: Iterable[CodepointSet]) -> CodepointSet:
        return CodepointSet._of_mask(reduce(operator.or_, (s._mask() for s in sets), 0))

    @staticmethod
    def intersection_of(sets: Iterable[CodepointSet]) -> CodepointSet:
        return CodepointSet._of_mask(reduce(operator.and_, (s._mask() for s in sets)))


CODE_SPACE = 0x110000
"""Code points U+0000..U+10FFFF."""


@cache
def _cmap(path: str) -> CodepointSet:
    try:
        face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
    except uharfbuzz.HarfBuzzError as exc:
        raise UnreadableFont(f"{path}: {exc}") from exc
    if face.glyph_count == 0:  # HarfBuzz reads any file; one that is not a font has no glyphs
        raise UnreadableFont(f"{path}: not a font")
    return CodepointSet.of(face.unicodes)


def covered_codepoints(style: HouseStyle) -> CodepointSet:
    """Code points drawn in every face of ``style`` (any text may end up in any role's face),
    by the face itself or one of its fallbacks."""
    return _intersection(
        tuple(tuple(f.file for f in style.faces_drawing(face)) for face in style.used_faces())
    )


def face_codepoints(path: str) -> CodepointSet:
    """The code points the font file at ``path`` maps to a glyph."""
    return _cmap(path)


@cache
def _intersection(file_groups: tuple[tuple[str, ...], ...]) -> CodepointSet:
    """Keyed by the faces' file names (under ``fonts/``): a path per face and call was most of
    the cost of a payload's checks."""
    return CodepointSet.intersection_of(
        CodepointSet.union_of(_cmap(str(font_path(file))) for file in group)
        for group in file_groups
    )


def uncovered_characters(text: str, style: HouseStyle) -> list[str]:
    """The distinct characters of ``text`` that some face of ``style`` lacks, in first-seen order."""
    covered = covered_codepoints(style)
    unseen = set(text).difference(covered.drawn, ALWAYS_DRAWN)
    if not unseen:
        return []
    lacking = {char for char in unseen if ord(char) not in covered}
    covered.drawn.update(unseen - lacking)
    return [char for char in dict.fromkeys(text) if char in lacking] if lacking else []


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
