"""Payload -> document model: the reference example reproduces the published text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.model import Heading, Paragraph
from service.pipeline import build
from tests.conftest import EXAMPLES, REFERENCE

FULL_WIDTH = str.maketrans({",": "，", ":": "：", "(": "（", ")": "）", ";": "；"})


def reference_sentences() -> list[str]:
    """Sentences of the published reference, punctuation restored to full width.

    The copy's last line, 返回列表, is website navigation, not document text.
    """
    lines = [
        line.strip() for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert lines[-1] == "返回列表"
    sentences: list[str] = []
    for line in lines[:-1]:
        sentences += [s for s in re.split(r"(?<=[。；])", line.translate(FULL_WIDTH)) if s]
    return sentences


def assert_in_order(sentences: list[str], text: str) -> None:
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        assert found >= 0, f"missing or out of order: {sentence}"
        position = found + len(sentence)


def test_reference_sentences_appear_in_order_in_the_model(reference_example_bytes: bytes) -> None:
    _, document = build(reference_example_bytes)
    text = document.plain_text().replace("\n", "")
    sentences = reference_sentences()
    assert len(sentences) > 40
    assert_in_order(sentences, text)


def test_reference_headings_are_numbered_as_published(reference_example_bytes: bytes) -> None:
    _, document = build(reference_example_bytes)
    labels = [(h.level, h.full_text) for h in document.headings]
    assert labels[:3] == [
        (2, "（一）消费者权益保护重大信息"),
        (3, "1.重要政策"),
        (4, "（1）消保战略制定情况"),
    ]
    assert (4, "（6）特殊群体关爱情况") in labels
    assert (2, "（二）消费投诉情况") in labels
    assert (3, "2.投诉案件处理情况") in labels
    assert labels[-1] == (4, "（2）公司自收投诉案件")


def test_figures_in_prose_come_from_the_figures(reference_example: dict[str, Any]) -> None:
    reference_example["figures"]["outreach"]["reach"] = 1_234_567
    reference_example["figures"]["training"]["participants"] = 2000
    _, document = build(reference_example)
    text = document.plain_text()
    assert "合计约123.46万人次" in text
    assert "约2000人次" in text


@pytest.mark.parametrize(
    ("closed", "sentence"),
    [
        (3, "涉及公司的监管转办投诉案件合计3件，以上案件均已按监管规定时效要求办结。"),
        (
            2,
            "涉及公司的监管转办投诉案件合计3件，其中已办结2件，办结率66.67%，其余案件正按监管规定时效要求处理。",
        ),
    ],
)
def test_complaint_sentence_follows_the_figures(
    reference_example: dict[str, Any], closed: int, sentence: str
) -> None:
    reference_example["figures"]["complaints"]["regulator"]["closed"] = closed
    _, document = build(reference_example)
    assert sentence in document.plain_text()


def test_ladder_starting_at_one(reference_example: dict[str, Any]) -> None:
    reference_example["ladder_start"] = 1
    _, document = build(reference_example)
    assert [h.full_text for h in document.headings][:3] == [
        "一、消费者权益保护重大信息",
        "（一）重要政策",
        "1.消保战略制定情况",
    ]


def test_numbers_restart_under_each_parent(reference_example: dict[str, Any]) -> None:
    _, document = build(reference_example)
    level3 = [h.label for h in document.headings if h.level == 3]
    assert level3 == ["1.", "2.", "3.", "1.", "2."]


def test_payload_text_is_never_markup(reference_example: dict[str, Any]) -> None:
    hostile = '<img src="file:///etc/passwd"> </p><heading depth="1">x</heading> &amp; url(file:///etc/passwd)'
    reference_example["intro"] = [hostile]
    _, document = build(reference_example)
    first = document.blocks[1]
    assert isinstance(first, Paragraph) and first.text == hostile
    assert not any(isinstance(b, Heading) and b.text == "x" for b in document.blocks)


def test_signature_and_meta() -> None:
    _, document = build((EXAMPLES / "kangning-property-2022.json").read_bytes())
    assert document.signature is not None
    assert (document.signature.signer, document.signature.date_text) == (
        "康宁财产保险股份有限公司",
        "2023年3月20日",
    )
    assert document.meta.author == "康宁财产保险股份有限公司"
    assert document.meta.language == "zh-CN"
    assert document.headings[0].full_text == "一、消费者权益保护工作情况"
