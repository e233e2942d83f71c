"""Where the 版头 of a 公文 stands (GB/T 9704-2012 §7.2), for both writers.

Lengths in pt from the top edge of the text block. A "line" is one pitch of body text, and a
line of body text has its em box centred in its pitch; "two lines below" an element leaves two
empty lines between it and the next. The figures follow the standard:

- the top edge of the 发文机关标志 35 mm below the top of the text block, its size reduced so
  that it fits the text width;
- the 发文字号 two empty lines under the 标志; the last 签发人 line level with it (上行文);
- the red line 4 mm under the 发文字号's em box;
- the title two empty lines under the red line (the writers' spacing after the head).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from service.model.document import width_in_chars
from service.model.letter import FULL_COLON, LetterHead
from service.style.house_style import MM_PER_PT, HouseStyle

SIGNERS_PER_ROW = 2
"""签发人 names per line (§7.2.5: 一般每行排两个姓名)."""


@dataclass(frozen=True, slots=True)
class HeadLayout:
    pitch_pt: float
    corner_tops_pt: tuple[float, ...]
    """Line-box tops of 份号, 密级, 紧急程度 (:attr:`LetterHead.corner_lines`)."""
    mark_size_pt: float
    mark_top_pt: float
    reference_top_pt: float
    """Line-box top of the 发文字号 (and of the last 签发人 line)."""
    signer_rows: tuple[tuple[str, ...], ...]
    """Names per 签发人 line; the first line carries the label."""
    signer_tops_pt: tuple[float, ...]
    red_line_top_pt: float
    red_line_pt: float

    @property
    def height_pt(self) -> float:
        """From the top of the text block to the bottom of the red line."""
        return self.red_line_top_pt + self.red_line_pt


SIGNER_LABEL = f"签发人{FULL_COLON}"


def mark_size_pt(mark: str, style: HouseStyle) -> float:
    """The 标志's size: the house style's, or less (to 0.5 pt) so that it fits the text width."""
    width_pt = style.page.text_width_mm / MM_PER_PT
    fit = math.floor(width_pt / max(width_in_chars(mark), 1) * 2) / 2
    return min(style.letter.mark_size_pt, fit)


def head_layout(head: LetterHead, style: HouseStyle) -> HeadLayout:
    pitch = style.line_pitch_of("body")
    body = style.role("body").size_pt
    mark = mark_size_pt(head.organ_mark, style)
    mark_top = style.letter.mark_top_mm / MM_PER_PT
    reference_top = mark_top + mark + 2 * pitch
    rows = tuple(
        tuple(head.signers[i : i + SIGNERS_PER_ROW])
        for i in range(0, len(head.signers), SIGNERS_PER_ROW)
    )
    signer_tops = tuple(reference_top - (len(rows) - 1 - i) * pitch for i in range(len(rows)))
    reference_em_bottom = reference_top + (pitch + body) / 2
    return HeadLayout(
        pitch_pt=pitch,
        corner_tops_pt=tuple(i * pitch for i in range(len(head.corner_lines))),
        mark_size_pt=mark,
        mark_top_pt=mark_top,
        reference_top_pt=reference_top,
        signer_rows=rows,
        signer_tops_pt=signer_tops,
        red_line_top_pt=reference_em_bottom + style.letter.red_line_below_reference_mm / MM_PER_PT,
        red_line_pt=style.letter.red_line_mm / MM_PER_PT,
    )
