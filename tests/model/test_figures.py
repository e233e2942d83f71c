from datetime import date
from decimal import Decimal

import pytest

from service.model.figures import (
    chinese_date,
    grouped,
    percent,
    share,
    share_text,
    wan,
)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (999, "999"), (1000, "1,000"), (12345, "12,345"), (1234567, "1,234,567")],
)
def test_grouped(n: int, text: str) -> None:
    assert grouped(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(1486, "1486"), (9999, "9999"), (10000, "1万"), (595500, "59.55万"), (595549, "59.55万"),
     (595550, "59.56万"), (120000, "12万"), (123400, "12.34万"), (105000, "10.5万")],
)  # fmt: skip
def test_wan(n: int, text: str) -> None:
    assert wan(n) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("11.56"), "11.56%"),
        (100, "100%"),
        (Decimal("3896.64"), "3896.64%"),
        (Decimal("98.5"), "98.5%"),
        (Decimal("-0.0"), "0.0%"),
        (Decimal("-0"), "0%"),
        (Decimal("-0.00"), "0.00%"),
        (Decimal("-2.5"), "-2.5%"),
    ],
)
def test_percent_keeps_the_given_digits(value: Decimal, text: str) -> None:
    assert percent(value) == text


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (2, 3, "66.67%"),
        (1, 3, "33.33%"),
        (1, 8, "12.50%"),
        (0, 5, "0.00%"),
        (0, 0, "0.00%"),
        (5, 5, "100.00%"),
        (7, 12, "58.33%"),
        (1377, 12345, "11.15%"),
        (1, 200, "0.50%"),
        (1, 80_000, "0.00%"),
        (1, 40_000, "0.00%"),
        (1, 20_000, "0.01%"),
    ],
)
def test_share_is_its_own_count_over_the_total_rounded_half_up(
    part: int, whole: int, text: str
) -> None:
    assert share_text(share(part, whole)) == text


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (date(2024, 1, 12), "2024年1月12日"),
        (date(2023, 10, 1), "2023年10月1日"),
        (date(2025, 12, 31), "2025年12月31日"),
    ],
)
def test_chinese_date_has_no_leading_zeros(d: date, text: str) -> None:
    assert chinese_date(d) == text
