"""The submission letter's payload: its elements, its rules, and every error at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service import pipeline
from service.errors import FieldError, PayloadInvalid
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


def test_a_letter_is_built_as_a_gbt9704_document() -> None:
    data = _letter()
    data["attachment"] = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text("utf-8"))
    _, document = pipeline.build(data)
    letter = document.letter
    assert letter is not None
    assert letter.head.reference == "小康人寿发〔2024〕12号"
    assert letter.head.organ_mark == "小康人寿保险有限责任公司文件"
    assert (letter.head.signers, letter.head.urgency) == (("张伟",), "加急")
    assert letter.addressee_text == "国家金融监督管理总局北京监管局："
    assert letter.note_text == "（联系人：王芳，电话：010-65432100）"
    assert letter.attachment_lines == (
        "附件：小康人寿保险有限责任公司2023年度消费者权益保护工作重大信息披露",
    )
    ((mark, _, carried),) = letter.carried
    assert mark == "附件" and carried.meta.report_kind == "consumer-protection-annual"
    assert letter.distribution is not None
    assert letter.distribution.printed_on_text == "2024年1月12日印发"
    assert document.signature is not None
    assert document.signature.date_text == "2024年1月12日"
    assert "\n" in document.title and document.title.replace("\n", "") == data["title"]
    assert document.meta.subject.startswith("报告：")


def test_a_classified_request_carries_its_copy_number_and_secrecy() -> None:
    _, document = pipeline.build(_letter("kangning-property-request-2022.json"))
    assert document.letter is not None
    assert document.letter.head.corner_lines == ("000012", "秘密★1年", "特急")
    assert document.letter.attachments == ()


@pytest.mark.slow
@pytest.mark.parametrize("path", LETTERS, ids=lambda p: p.name)
def test_every_letter_example_renders_in_both_formats(path: Any) -> None:
    import io

    from docx import Document as Docx
    from pypdf import PdfReader

    payload, document = pipeline.build(path.read_bytes())
    outputs = pipeline.render_document(document, pipeline.FORMATS, source=path.read_bytes())
    pdf = PdfReader(io.BytesIO(outputs["pdf"]))
    text = "".join(page.extract_text() for page in pdf.pages).replace(" ", "")
    assert document.letter is not None
    assert document.letter.head.reference in text and payload.recipient in text
    assert pdf.metadata is not None and pdf.metadata.title == payload.title
    docx = "".join(p.text for p in Docx(io.BytesIO(outputs["docx"])).paragraphs)
    assert document.letter.head.reference in docx and payload.recipient in docx


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
