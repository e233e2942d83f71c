"""Length conversions for WordprocessingML.

The house style speaks mm (page) and pt (type); WordprocessingML speaks twips (1/20 pt) for
lengths, half-points for font sizes and eighths of a point for borders. Rounding is to the
nearest unit unless a function says otherwise.
"""

from __future__ import annotations

import math

from service.style.house_style import MM_PER_PT, HouseStyle

TWIPS_PER_PT = 20


def twips_from_pt(pt: float) -> int:
    return round(pt * TWIPS_PER_PT)


def twips_from_mm(mm: float) -> int:
    return round(mm / MM_PER_PT * TWIPS_PER_PT)


def half_points(pt: float) -> int:
    return round(pt * 2)


def eighth_points(pt: float) -> int:
    return round(pt * 8)


def text_width_twips(style: HouseStyle) -> int:
    """Width of the text block: the page minus its left and right margins, as Word computes it."""
    page = style.page
    return (
        twips_from_mm(page.width_mm)
        - twips_from_mm(page.margin_left_mm)
        - twips_from_mm(page.margin_right_mm)
    )


def grid_char_twips(style: HouseStyle) -> int:
    """The advance of one grid character: the text width over ``chars_per_line``, rounded down.

    GB/T 9704 puts 28 characters of 三号 (16 pt) on a 156 mm line, which holds only 27.6 of them;
    rounding down guarantees a full line never spills its last character (315 twips = 15.75 pt).
    """
    return math.floor(text_width_twips(style) / style.page.chars_per_line)


def char_twips(style: HouseStyle, role: str) -> int:
    """One character of ``role``: the grid advance for text in the body size, else its size."""
    size = style.role(role).size_pt
    if size == style.role("body").size_pt:
        return grid_char_twips(style)
    return twips_from_pt(size)


def character_spacing_twips(style: HouseStyle, role: str) -> int:
    """Spacing added to each character of ``role`` (negative: condensed) to keep the grid."""
    return char_twips(style, role) - twips_from_pt(style.role(role).size_pt)
