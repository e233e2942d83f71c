"""The official heading ladder (一、（一）1.（1）), its printed labels and Chinese numerals.

:data:`LADDER` is the one description of the ladder: the model prints labels from it, the DOCX
writer translates it into Word list levels (``w:numFmt``, ``w:lvlText``) and the PDF writer into
CSS counters (``@counter-style``, ``::before``). Changing a rung here changes all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from service.model.document import HeadingLevel

CounterKind = Literal["chinese", "decimal"]
"""How a rung counts: ``chinese`` 一 二 … 十一 (:func:`chinese_numeral`), ``decimal`` 1 2 3."""


@dataclass(frozen=True, slots=True)
class Rung:
    """One level of the ladder: its marker is ``prefix`` + the number in ``counter`` + ``suffix``,
    and the heading is set in house-style role ``role`` (which names its face and size)."""

    level: HeadingLevel
    counter: CounterKind
    prefix: str
    suffix: str
    role: str

    def label(self, number: int) -> str:
        """The printed marker of heading ``number`` on this rung: ``一、``, ``（1）``."""
        shown = chinese_numeral(number) if self.counter == "chinese" else str(number)
        return f"{self.prefix}{shown}{self.suffix}"


LADDER: Final[dict[HeadingLevel, Rung]] = {
    1: Rung(1, "chinese", "", "、", "heading1"),
    2: Rung(2, "chinese", "（", "）", "heading2"),
    3: Rung(3, "decimal", "", ".", "heading3"),
    4: Rung(4, "decimal", "（", "）", "heading4"),
}
"""The GB/T 9704 ladder 一、 （一） 1. （1） (full-width parentheses), by level."""

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")


def chinese_numeral(n: int) -> str:
    """Write a positive integer below 10**8 in Chinese counting, as headings use it.

    10 is 十 (not 一十), 11 is 十一, 20 is 二十, 101 is 一百零一, 110 is 一百一十,
    10000 is 一万. Zeros inside a group collapse to one 零.
    """
    if not 0 < n < 10**8:
        raise ValueError(f"chinese_numeral takes 1..99999999, got {n}")
    high, low = divmod(n, 10_000)
    text = _four_digits(low)
    if high:
        text = _four_digits(high) + "万" + (("零" if low < 1000 else "") + text if low else "")
    if text.startswith("一十"):
        text = text[1:]  # a leading 一十 is said 十: 十一, 十万
    return text


def _four_digits(n: int) -> str:
    out: list[str] = []
    pending_zero = False
    for power in (3, 2, 1, 0):
        digit = n // 10**power % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + _SMALL_UNITS[power])
    return "".join(out)


def heading_label(level: int, number: int) -> str:
    """The printed marker of heading ``number`` on rung ``level`` of :data:`LADDER` (``（一）``)."""
    rung: Rung | None = LADDER.get(level)  # type: ignore[call-overload]
    if rung is None:
        raise ValueError(f"heading level must be 1 to 4, got {level}")
    return rung.label(number)
