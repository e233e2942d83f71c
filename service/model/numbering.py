"""Official heading labels (一、（一）1.（1）) and Chinese numerals."""

from __future__ import annotations

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
    """The printed marker of heading ``number`` on ladder ``level`` (1 一、, 2 （一）, 3 1., 4 （1））."""
    if level == 1:
        return f"{chinese_numeral(number)}、"
    if level == 2:
        return f"（{chinese_numeral(number)}）"
    if level == 3:
        return f"{number}."
    if level == 4:
        return f"（{number}）"
    raise ValueError(f"heading level must be 1 to 4, got {level}")
