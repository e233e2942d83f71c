"""The letter model: 发文字号, 附件说明, 版记 lines and the signature's place (GB/T 9704)."""

from __future__ import annotations

import pytest

from service.model import Attachment, Distribution, Letter, LetterHead, Signature, reference_number


def test_reference_number_six_corner_brackets_no_leading_zeros() -> None:
    assert reference_number("小康人寿发", 2024, 12) == "小康人寿发〔2024〕12号"
    assert reference_number("小康人寿发", 2024, 1) == "小康人寿发〔2024〕1号"
    with pytest.raises(ValueError):
        reference_number("小康人寿发", 2024, 0)


def head(**changes: object) -> LetterHead:
    return LetterHead("小康人寿保险有限责任公司文件", "小康人寿发〔2024〕12号", **changes)  # type: ignore[arg-type]


def test_head_corner_lines_in_order_absent_ones_left_out() -> None:
    assert head().corner_lines == ()
    assert head(urgency="特急", copy_number="000001").corner_lines == ("000001", "特急")
    assert head(secrecy="秘密★1年", urgency="加急").corner_lines == ("秘密★1年", "加急")
    assert not head().upward and head(signers=("张三",)).upward


def test_attachment_lines_one_or_numbered() -> None:
    one = Letter(head(), "国家金融监督管理总局北京监管局", (Attachment("甲"),))
    assert one.attachment_lines == ("附件：甲",) and one.attachment_label(0) == "附件"
    two = Letter(head(), "某局", (Attachment("甲"), Attachment("乙")))
    assert two.attachment_lines == ("附件：1. 甲", "2. 乙")
    assert [two.attachment_label(i) for i in (0, 1)] == ["附件1", "附件2"]
    assert two.carried == ()  # named only, none carried
    assert one.addressee_text == "国家金融监督管理总局北京监管局："


def test_record_lines() -> None:
    record = Distribution("小康人寿保险有限责任公司办公室", "2024年1月12日", ("甲局", "乙局"))
    assert record.copies_to_text == "抄送：甲局，乙局。"
    assert record.printed_on_text == "2024年1月12日印发"
    assert Distribution("办公室", "2024年1月12日").copies_to_text is None


def test_signature_placement_unsealed_and_sealed() -> None:
    signature = Signature("小康人寿保险有限责任公司", "2024年1月12日")  # 12 and 6.5 characters
    place = signature.placement()
    assert (place.signer_right_chars, place.date_right_chars) == (2, 5.5)
    assert place.blank_lines_before == 1
    # A date longer than the signer stands two characters in; the signer moves left with it.
    short = Signature("某公司", "2024年12月12日").placement()
    assert short.date_right_chars == 2 and short.signer_right_chars == pytest.approx(8.0)
    sealed = signature.placement(sealed=True)
    assert sealed.date_right_chars == 4
    assert sealed.signer_right_chars == pytest.approx(4 + (6.5 - 12) / 2)
    assert sealed.blank_lines_before == 2
