"""House style -> stylesheet: fonts, page box, page numbers, roles and heading counters.

Every size, font and margin comes from the :class:`~service.style.HouseStyle`; the template
``templates/pdf/document.css.j2`` only arranges them. Lengths are written in the units the
profile uses: mm for the page, pt for type.

Two things the standard asks for that CSS does not give for free:

- **The character grid.** GB/T 9704 sets 28 characters of 三号 (16 pt) on a 156 mm line, which is
  only 442.2 pt: 27.6 full-width characters. Word squeezes them onto its document grid; we do the
  same with a small negative ``letter-spacing`` on every role set in the body size, and measure
  first-line indents in grid characters, so a full line holds exactly ``chars_per_line``.
- **Chinese heading numbers.** WeasyPrint has no correct Chinese counter style (``cjk-decimal``
  gives 一〇 for 10), so :func:`chinese_additive_symbols` writes an additive one: 一…九十九 and
  一百…九百九十九. Each heading sets its counter from the model's ``number`` and the counter style
  draws the marker, so the model stays the one source of numbers.
"""

from __future__ import annotations

import math
from typing import Final

from service.model.numbering import LADDER, CounterKind, Rung
from service.render.pdf.templating import template
from service.style.house_style import MM_PER_PT, FontFace, HouseStyle

CHINESE_COUNTER_STYLE: Final = "pilu-chinese"
CHINESE_COUNTER_MAX = 999
"""Largest number the Chinese counter style draws; the writer refuses larger heading numbers."""

COUNTER_STYLES: Final[dict[CounterKind, str]] = {
    "chinese": CHINESE_COUNTER_STYLE,
    "decimal": "decimal",
}
"""The CSS counter style drawing each kind of ladder counter."""

_DIGITS = "一二三四五六七八九"
_BOLD_FILE_MARK = "-Bold."


def counter_name(level: int) -> str:
    """The CSS counter a heading of ``level`` sets (``pilu-h1`` … ``pilu-h4``)."""
    return f"pilu-h{level}"


def marker(rung: Rung) -> dict[str, str]:
    """How the stylesheet draws ``rung``'s marker: ``prefix`` counter(``counter``, ``style``)
    ``suffix`` on the elements of class ``role``."""
    return {
        "role": rung.role,
        "counter": counter_name(rung.level),
        "style": COUNTER_STYLES[rung.counter],
        "prefix": rung.prefix,
        "suffix": rung.suffix,
    }


def family_name(face_key: str) -> str:
    """The ``font-family`` name we register face ``face_key`` under (``pilu-fangsong`` …).

    Our own names, so a request can never match a system font of the same name.
    """
    return f"pilu-{face_key}"


def face_weight(face: FontFace) -> int:
    """CSS weight of a face: 700 for a ``-Bold`` file, else 400.

    Fandol's bold faces call themselves regular (OS/2 weight 400); registering them as 700 and
    asking for 700 keeps fontconfig from synthesising a second, fake emboldening.
    """
    return 700 if _BOLD_FILE_MARK in face.file else 400


def chinese_additive_symbols() -> list[tuple[int, str]]:
    """``(weight, symbol)`` pairs, largest first, for an additive Chinese counter style.

    An additive style writes a number greedily as a sum of the largest weights that fit. Chinese
    counting depends on context (十一 but 一百一十一, 一百零五), so the hundreds come as whole
    tokens: 一百, 一百零一…一百零九, 一百一十…一百九十, then the units. 10…19 come out as 十, 十一….
    """
    symbols: list[tuple[int, str]] = []
    for h in range(1, 10):
        hundreds = f"{_DIGITS[h - 1]}百"
        symbols.append((h * 100, hundreds))
        symbols += [(h * 100 + u, f"{hundreds}零{_DIGITS[u - 1]}") for u in range(1, 10)]
        symbols += [(h * 100 + t * 10, f"{hundreds}{_DIGITS[t - 1]}十") for t in range(1, 10)]
    symbols.append((10, "十"))
    symbols += [(t * 10, f"{_DIGITS[t - 1]}十") for t in range(2, 10)]
    symbols += [(u, _DIGITS[u - 1]) for u in range(1, 10)]
    return sorted(symbols, reverse=True)


def grid_advance_pt(style: HouseStyle) -> float:
    """Width of one grid character in pt: the text width over ``chars_per_line``.

    Rounded down to 0.01 pt so that rounding inside Pango never pushes the last character of a
    full line onto the next one.
    """
    text_width_pt = style.page.text_width_mm / MM_PER_PT
    return math.floor(text_width_pt / style.page.chars_per_line * 100) / 100


def char_width_pt(style: HouseStyle, role: str) -> float:
    """One character of ``role`` in pt: the grid advance for body-size text, else its size."""
    size = style.role(role).size_pt
    return grid_advance_pt(style) if size == style.role("body").size_pt else size


def page_number_parts(style: HouseStyle) -> tuple[str, str]:
    """The page-number format split around ``{n}``: ``("— ", " —")`` for ``— {n} —``."""
    before, sep, after = style.page_number.format.partition("{n}")
    if not sep:
        raise ValueError(f"page number format {style.page_number.format!r} has no {{n}}")
    return before, after


def _role_context(style: HouseStyle, name: str) -> dict[str, object]:
    """What the template needs of role ``name``; lengths in pt.

    ``families`` lists the Latin face first, so letters and digits take it and Chinese falls
    through to the role's face, then to the face's fallbacks for what it lacks; with no
    ``latin`` face it starts with the role's face.
    """
    role = style.role(name)
    fallbacks = style.fallbacks.get(role.face, ())
    faces = [family_name(key) for key in (role.latin or role.face, role.face, *fallbacks)]
    char = char_width_pt(style, name)
    return {
        "families": list(dict.fromkeys(faces)),
        "weight": face_weight(style.face_of(name)),
        "size_pt": role.size_pt,
        "line_pitch_pt": style.line_pitch_of(name),
        "align": role.align,
        "letter_spacing_pt": char - role.size_pt,
        "indent_pt": role.first_line_indent_chars * char,
        "right_indent_pt": role.right_indent_chars * char,
        "char_pt": char,
    }


def build_css(style: HouseStyle) -> str:
    """The whole stylesheet for ``style`` as text (deterministic: same style, same text)."""
    before, after = page_number_parts(style)
    number = style.page_number
    roles = {name: _role_context(style, name) for name in style.roles}
    return template("document.css.j2").render(
        style=style,
        page=style.page,
        faces=[
            {"family": family_name(key), "url": face.path.as_uri(), "weight": face_weight(face)}
            for key, face in style.faces.items()
        ],
        roles=roles,
        page_number={
            "font": {**roles[number.role], "line_pitch_pt": style.role(number.role).size_pt},
            "before": before,
            "after": after,
            "odd_side": number.odd_side,
            "even_side": number.even_side,
            "inset_pt": number.inset_chars * char_width_pt(style, number.role),
            "below_mm": number.below_text_mm,
        },
        chinese_style=CHINESE_COUNTER_STYLE,
        chinese_max=CHINESE_COUNTER_MAX,
        chinese_symbols=chinese_additive_symbols(),
        markers=[marker(rung) for rung in LADDER.values()],
        table=style.table,
        letter={
            "red": style.letter.red,
            "outer_line_pt": style.letter.record_outer_line_mm / MM_PER_PT,
            "inner_line_pt": style.letter.record_inner_line_mm / MM_PER_PT,
        },
        seal={"diameter_pt": style.letter.seal_diameter_mm / MM_PER_PT},
    )
