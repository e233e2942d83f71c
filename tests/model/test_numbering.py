import pytest

from service.model.numbering import chinese_numeral, heading_label


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "一"), (9, "九"), (10, "十"), (11, "十一"), (19, "十九"), (20, "二十"), (21, "二十一"),
        (99, "九十九"), (100, "一百"), (101, "一百零一"), (110, "一百一十"), (111, "一百一十一"),
        (120, "一百二十"), (999, "九百九十九"), (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"),
        (2024, "二千零二十四"), (10000, "一万"), (10001, "一万零一"), (12345, "一万二千三百四十五"),
        (100000, "十万"), (110000, "十一万"),
    ],
)  # fmt: skip
def test_chinese_numeral(n: int, text: str) -> None:
    assert chinese_numeral(n) == text


@pytest.mark.parametrize("n", [0, -1, 10**8])
def test_chinese_numeral_out_of_range(n: int) -> None:
    with pytest.raises(ValueError):
        chinese_numeral(n)


@pytest.mark.parametrize(
    ("level", "number", "label"),
    [
        (1, 1, "一、"), (1, 11, "十一、"), (1, 99, "九十九、"), (1, 100, "一百、"),
        (2, 1, "（一）"), (2, 10, "（十）"), (2, 23, "（二十三）"),
        (3, 1, "1."), (3, 99, "99."), (3, 100, "100."),
        (4, 1, "（1）"), (4, 120, "（120）"),
    ],
)  # fmt: skip
def test_heading_label(level: int, number: int, label: str) -> None:
    assert heading_label(level, number) == label


def test_no_digit_repetition_in_any_numeral_below_1000() -> None:
    """The classic mistake writes 11 as 一一; no numeral may contain two digits in a row."""
    digits = set("一二三四五六七八九")
    for n in range(1, 1000):
        text = chinese_numeral(n)
        assert not any(a in digits and b in digits for a, b in zip(text, text[1:], strict=False)), (
            n,
            text,
        )


def test_heading_label_rejects_level_5() -> None:
    with pytest.raises(ValueError):
        heading_label(5, 1)
