"""Numbers and dates as the documents print them (GB/T 15835 usage)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal


def grouped(n: int) -> str:
    """An integer with thousands separators, for table cells: 12345 -> ``12,345``."""
    return f"{n:,}"


def plain_decimal(value: Decimal | int) -> str:
    """A given figure as the company wrote it, without exponent or float noise: 11.56 -> ``11.56``.

    Trailing zeros the company typed are kept (``100.0`` stays ``100.0``); a whole number prints
    without a decimal point.
    """
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    return text


def percent(value: Decimal | int) -> str:
    """A percentage given by the company: ``11.56%``, ``100%``."""
    return f"{plain_decimal(value)}%"


def share(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole``, rounded half up to two decimals."""
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def shares_summing_to_100(parts: list[int]) -> list[Decimal]:
    """Two-decimal shares of ``parts`` that add up to exactly 100.00 (largest remainder).

    Rounding each share alone can leave the column at 99.99 or 100.01 while the 合计 row says
    100.00; a reader checking the sum would see the mismatch. Largest remainder gives each part its
    floor in hundredths and hands the missing hundredths to the largest remainders (ties go to
    the earlier row), so no share moves more than 0.01 from its exact value.
    """
    whole = sum(parts)
    if whole == 0:
        return [Decimal("0.00") for _ in parts]
    exact = [part * 10_000 for part in parts]  # in hundredths of a percent, times whole
    floors = [e // whole for e in exact]
    missing = 10_000 - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] % whole), i))
    for i in order[:missing]:
        floors[i] += 1
    return [Decimal(f) / 100 for f in floors]


def share_text(value: Decimal) -> str:
    """A computed share with two decimals and a percent sign: ``66.67%``."""
    return f"{value.quantize(Decimal('0.01'))}%"


def wan(n: int) -> str:
    """A count in 万 with up to two decimals, trailing zeros dropped: 595500 -> ``59.55万``.

    Counts below 10,000 print whole: 1486 -> ``1486``.
    """
    if n < 10_000:
        return str(n)
    value = (Decimal(n) / 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = format(value, "f").rstrip("0").rstrip(".")
    return f"{text}万"


def chinese_date(d: date) -> str:
    """A date in Arabic digits without leading zeros: 2024-01-12 -> ``2024年1月12日``."""
    return f"{d.year}年{d.month}月{d.day}日"
