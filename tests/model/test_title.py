"""Titles broken at words (jieba), in a trapezoid or a diamond, the same for both writers."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from service.model import title
from service.model.document import width_in_chars
from service.model.title import SLACK_CHARS, _shaped, break_title, words

LINE = 20.1
"""二号 characters in the 156 mm text block."""


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        # The title the issue reports broken as "…关于2022年第 / 一季度…".
        (
            "小康人寿保险有限责任公司关于2022年第一季度消费投诉情况的公告",
            "小康人寿保险有限责任公司关于\n2022年第一季度消费投诉情况的公告",
        ),
        (
            "小康人寿保险有限责任公司2023年度消费者权益保护工作重大信息披露",
            "小康人寿保险有限责任公司2023年度\n消费者权益保护工作重大信息披露",
        ),
        (
            "中国人民财产保险股份有限公司关于2022年第一季度消费者权益保护工作情况的报告",
            "中国人民财产保险股份有限公司关于\n2022年第一季度消费者权益保护\n工作情况的报告",
        ),
        (
            "安和人寿保险股份有限公司2024年度消费投诉情况披露",
            "安和人寿保险股份有限公司\n2024年度消费投诉情况披露",
        ),
    ],
)
def test_breaks_at_words(title: str, expected: str) -> None:
    assert break_title(title, LINE) == expected


def test_never_inside_protected_words_and_every_line_fits() -> None:
    title = "小康人寿保险有限责任公司关于报送2022年第一季度消费者权益保护工作情况及消费投诉处理情况的报告"
    lines = break_title(title, LINE).split("\n")
    assert "".join(lines) == title
    assert all(width_in_chars(line) <= LINE - SLACK_CHARS for line in lines)
    joined = "\n".join(lines)
    assert "第一\n季度" not in joined and "2022年\n第一季度" not in joined
    for phrase in ("第一季度", "消费者权益保护", "2022年第一季度"):
        assert any(phrase in line for line in lines), (phrase, lines)
    assert _shaped([width_in_chars(line) for line in lines])


def test_a_title_that_fits_or_holds_a_break_is_kept() -> None:
    assert break_title("关于报送信息披露的报告", LINE) == "关于报送信息披露的报告"
    chosen = "小康人寿保险有限责任公司\n关于2022年第一季度消费投诉情况的公告"
    assert break_title(chosen, LINE) == chosen


def test_segmenter_keeps_numbers_with_their_units() -> None:
    assert "2022年第一季度" in words("关于2022年第一季度消费投诉")
    assert "消费者权益保护" in words("消费者权益保护工作")


def test_shapes() -> None:
    assert _shaped([14, 13, 11]) and _shaped([10, 14, 16])  # trapezoids
    assert _shaped([8, 15, 14])  # diamond
    assert not _shaped([15, 8, 14])  # hourglass


def test_a_very_long_title_is_broken_quickly_and_every_line_fits() -> None:
    import time

    title = "小康人寿保险有限责任公司关于报送2022年第一季度消费者权益保护工作情况的报告" * 6
    started = time.perf_counter()
    lines = break_title(title, LINE).split("\n")
    assert time.perf_counter() - started < 1
    assert "".join(lines) == title
    assert all(width_in_chars(line) <= LINE - SLACK_CHARS for line in lines)


def test_the_prefix_dictionary_is_cached_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jieba

    monkeypatch.setattr(title, "DICTIONARY_CACHE_DIR", tmp_path / "jieba")
    built = title._prefix_dictionary(jieba.Tokenizer(), jieba.__version__)
    (cache_file,) = (tmp_path / "jieba").iterdir()
    assert cache_file.name.startswith(f"dict-{jieba.__version__}-")
    assert cache_file.stat().st_mode & 0o777 == 0o644
    cache_file.write_bytes(marshal.dumps(({"披露": 7}, 7)))
    assert title._prefix_dictionary(jieba.Tokenizer(), jieba.__version__) == ({"披露": 7}, 7)
    cache_file.write_bytes(b"not marshal")
    assert title._prefix_dictionary(jieba.Tokenizer(), jieba.__version__) == built
    assert marshal.loads(cache_file.read_bytes()) == built


def test_an_unwritable_cache_folder_only_costs_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jieba

    (tmp_path / "file").write_text("")
    monkeypatch.setattr(title, "DICTIONARY_CACHE_DIR", tmp_path / "file" / "jieba")
    freq, total = title._prefix_dictionary(jieba.Tokenizer(), jieba.__version__)
    assert freq["信息"] > 0 and freq["信"] >= 0 and total > 10**6
