"""The submission letter's payload: its elements, its rules, and every error at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service import pipeline
from service.errors import FieldError, PayloadInvalid, UnknownTemplate
from tests.conftest import EXAMPLES

LETTERS = sorted((EXAMPLES / "letter").glob("*.json"))


def _letter(name: str = "xiaokang-life-report-2024.json") -> dict[str, Any]:
    return json.loads((EXAMPLES / "letter" / name).read_text(encoding="utf-8"))


def errors_of(data: dict[str, Any]) -> list[FieldError]:
    with pytest.raises(PayloadInvalid) as info:
        pipeline.parse_payload(data)
    return info.value.errors


@pytest.mark.parametrize("path", LETTERS, ids=lambda p: p.name)
def test_every_letter_example_is_valid(path: Any) -> None:
    letter = pipeline.parse_payload(path.read_bytes())
    assert letter.kind == "submission-letter" and letter.title.endswith(letter.genre)


def test_a_letter_may_carry_a_disclosure_as_its_attachment() -> None:
    data = _letter()
    data["attachment"] = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text("utf-8"))
    letter = pipeline.parse_payload(data)
    assert letter.attachment is not None and letter.attachment.report_year == 2023


@pytest.mark.parametrize(
    ("title", "code", "wanted"),
    [
        ("小康人寿保险有限责任公司关于报送2023年度披露，请审阅的报告", "title_punctuation", "“，”"),
        ("小康人寿保险有限责任公司关于报送（2023年度）披露的报告", "title_punctuation", "“（”“）”"),
        (
            "关于报送2023年度消费者权益保护工作重大信息披露的报告",
            "title_without_sender",
            "发文机关",
        ),
        ("小康人寿保险有限责任公司关于报送2023年度披露的请示", "title_genre_mismatch", "“报告”"),
    ],
)
def test_the_title_is_sender_subject_and_genre(title: str, code: str, wanted: str) -> None:
    data = _letter()
    data["title"] = title
    (error,) = errors_of(data)
    assert (error.path, error.code) == ("$.title", code)
    assert wanted in error.message


def test_book_title_marks_and_enumeration_commas_are_allowed_in_a_title() -> None:
    data = _letter()
    data["title"] = "小康人寿关于报送《2023年度消费者权益保护工作重大信息披露》、投诉情况的报告"
    assert pipeline.parse_payload(data).title.startswith("小康人寿")


def test_every_error_of_a_letter_at_once() -> None:
    data = _letter()
    data["title"] = "小康人寿保险有限责任公司关于报送披露的请示！"
    data["document_number"]["year"] = 2023
    data["classification"] = {"level": "秘密"}
    data["printed_date"] = "2024-01-02"
    data["attachment"] = json.loads((EXAMPLES / "kangning-property-2022.json").read_text("utf-8"))
    del data["note"]["phone"]
    errors = {(e.path, e.code) for e in errors_of(data)}
    assert errors >= {
        ("$.note.phone", "missing"),
        ("$.title", "title_punctuation"),
        ("$.title", "title_genre_mismatch"),
    }
    del data["title"]
    data["note"]["phone"] = "010-65432100"
    data["title"] = "小康人寿保险有限责任公司关于报送披露的报告"
    errors = {(e.path, e.code) for e in errors_of(data)}
    assert errors == {
        ("$.document_number.year", "document_number_year"),
        ("$.copy_number", "copy_number_missing"),
        ("$.printed_date", "printed_before_written"),
        ("$.attachment.company.id", "attachment_company_mismatch"),
    }


def test_the_regulators_elements_are_required() -> None:
    """保监厅发〔2013〕20号: 发文字号, 签发人, 标题, 主送单位, 正文, 成文日期, 联系人."""
    data = _letter()
    for field in ("document_number", "signers", "title", "recipient", "body", "date", "note"):
        del data[field]
    paths = {e.path for e in errors_of(data) if e.code == "missing"}
    assert paths == {
        "$.document_number", "$.signers", "$.title", "$.recipient", "$.body", "$.date", "$.note"
    }  # fmt: skip


def test_building_a_letter_is_refused_with_a_clear_error() -> None:
    """The letter's layout is still to come: a letter validates, its document is not made."""
    with pytest.raises(UnknownTemplate) as info:
        pipeline.build(_letter())
    assert "submission-letter" in info.value.message and "尚不能排版" in info.value.message


def test_the_attachments_own_rules_and_checks_are_reported_at_its_place() -> None:
    data = _letter()
    data["attachment"] = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text("utf-8"))
    data["attachment"]["figures"]["complaints"]["regulator"]["closed"] = 99
    data["attachment"]["intro"].append("引用{no.such.figure}")
    errors = {(e.path, e.code) for e in errors_of(data)}
    assert ("$.attachment.figures.complaints.regulator.closed", "closed_exceeds_total") in errors
    assert any(p.startswith("$.attachment.intro[") and c == "unknown_figure" for p, c in errors)


def test_a_letter_is_named_by_company_year_and_subject() -> None:
    letter = pipeline.parse_payload(_letter())
    assert pipeline.output_filename(letter, "pdf") == (
        "小康人寿-2024-关于报送2023年度消费者权益保护工作重大信息披露的报告.pdf"
    )


def test_a_long_letter_subject_still_fits_a_file_name() -> None:
    data = _letter()
    data["company"]["short_name"] = "小康人寿" * 20
    data["title"] = "小康人寿保险有限责任公司关于" + "报送" * 90 + "的报告"
    name = pipeline.output_filename(pipeline.parse_payload(data), "docx")
    assert len(name.encode()) <= pipeline.MAX_FILENAME_BYTES
    assert name.startswith("小康人寿" * 5) and "-2024-关于报送" in name
