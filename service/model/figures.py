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
    without a decimal point. A zero prints without a sign: ``-0.0`` is ``0.0``.
    """
    if isinstance(value, int):
        return str(value)
    return format(abs(value) if value == 0 else value, "f")


def percent(value: Decimal | int) -> str:
    """A percentage given by the company: ``11.56%``, ``100%``."""
    return f"{plain_decimal(value)}%"


def share(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole``, rounded half up to two decimals.

    Each share is rounded on its own, so a reader recomputes every printed share from its count
    (7 of 12 is 58.33%); the shares of a column may then add up to 99.99% or 100.01%, which the
    report then says in a note under the table (the house style's ``table.rounding_note``).
    """
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


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


DATE_STYLES = ("chinese", "iso")
DEFAULT_DATE_STYLE = "chinese"


def printed_date(d: date, style: str = DEFAULT_DATE_STYLE) -> str:
    """A date as the document prints it: ``chinese`` (GB/T 9704 §7.3.5: 2024年1月12日, no
    leading zeros) or ``iso`` (2024-01-12), the house style's choice."""
    return d.isoformat() if style == "iso" else chinese_date(d)
