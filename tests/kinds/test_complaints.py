"""The complaint disclosure for a period: periods, the publish date, names and metadata."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from service import pipeline
from service.errors import FieldError, PayloadInvalid
from service.payload.rules import period_end
from tests.conftest import EXAMPLES

Q1 = EXAMPLES / "xiaokang-life-complaints-2022-q1.json"
H1 = EXAMPLES / "changxin-property-complaints-2024-h1.json"


def _example(path: Any = Q1) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def errors_of(data: dict[str, Any]) -> list[FieldError]:
    with pytest.raises(PayloadInvalid) as info:
        pipeline.parse_payload(data)
    return info.value.errors


@pytest.mark.parametrize(
    ("period", "end"),
    [("Q1", "2022-03-31"), ("Q2", "2022-06-30"), ("Q3", "2022-09-30"), ("Q4", "2022-12-31"),
     ("H1", "2022-06-30"), ("H2", "2022-12-31"), ("year", "2022-12-31")],
)  # fmt: skip
def test_period_ends(period: str, end: str) -> None:
    assert period_end(2022, period).isoformat() == end


def test_a_first_quarter_notice_published_in_june_is_valid() -> None:
    payload = pipeline.parse_payload(_example())
    assert (payload.report_year, payload.period, payload.publish_date.isoformat()) == (
        2022,
        "Q1",
        "2022-06-15",
    )


def test_the_publish_date_must_come_after_the_period() -> None:
    data = _example()
    data["publish_date"] = "2022-03-31"
    (error,) = errors_of(data)
    assert (error.path, error.code) == ("$.publish_date", "publish_date_not_after_period")
    assert error.message == "发布日期2022-03-31须晚于报告期2022年第一季度末（2022年3月31日）"


def test_the_publish_date_rule_holds_beside_a_schema_error() -> None:
    """Every error at once: a bad date and a missing field are reported together."""
    data = _example()
    data["publish_date"] = "2022-02-01"
    del data["company"]["full_name"]
    codes = {(e.path, e.code) for e in errors_of(data)}
    assert ("$.publish_date", "publish_date_not_after_period") in codes
    assert ("$.company.full_name", "missing") in codes


def test_an_unknown_period_and_an_annual_insert_are_refused() -> None:
    data = _example()
    data["period"] = "Q5"
    data["sections"][0]["content"].append({"insert": "training"})
    errors = errors_of(data)
    assert [e.path for e in errors if e.code == "literal_error"] == ["$.period"]
    data["period"] = "Q1"
    (error,) = errors_of(data)
    assert (error.path, error.code) == ("$.sections[0].content[4].insert", "insert_not_in_kind")


def test_title_file_name_and_metadata_name_the_period_and_the_kind() -> None:
    payload, document = pipeline.build(_example())
    assert "\n" in document.title  # a long title breaks (where, the title rules say)
    assert (
        document.title.replace("\n", "")
        == "小康人寿保险有限责任公司2022年第一季度消费投诉情况信息披露"
    )
    assert document.meta.subject == "2022年第一季度消费投诉情况信息披露"
    assert document.meta.keywords[:2] == ("小康人寿", "2022年第一季度")
    assert document.meta.report_kind == "complaint-disclosure"
    assert pipeline.output_filename(payload, "pdf") == "小康人寿-2022Q1-消费投诉情况信息披露.pdf"
    assert pipeline.report_period(payload) == "第一季度"
    h1, _ = pipeline.build(_example(H1))
    assert pipeline.output_filename(h1, "docx") == "长信财险-2024H1-消费投诉情况信息披露.docx"


def test_both_sources_tables_and_relative_metrics_are_printed() -> None:
    _, document = pipeline.build(_example())
    text = document.plain_text()
    assert "涉及公司的监管转办投诉案件合计1件" in text
    assert "2022年第一季度公司共受理消费投诉5件" in text
    assert [t.caption for t in document.tables] == [
        "表1 投诉来源分布",
        "表2 公司自收投诉业务类别分布",
        "表3 公司自收投诉地区分布",
        "表4 投诉相对指标",
    ]
    assert "现将公司2022年第一季度消费投诉情况披露如下。" in text  # {period} quoted
    assert "发布时间：2022年6月15日" in text


@pytest.mark.slow
@pytest.mark.parametrize("path", [Q1, H1], ids=lambda p: p.name)
def test_both_formats_carry_the_period_in_their_metadata(path: Any) -> None:
    from docx import Document as Docx
    from pypdf import PdfReader

    payload, document = pipeline.build(path.read_bytes())
    outputs = pipeline.render_document(document, pipeline.FORMATS, source=path.read_bytes())
    info = PdfReader(io.BytesIO(outputs["pdf"])).metadata
    assert info is not None
    assert info.title == document.meta.title and "消费投诉情况信息披露" in info.title
    assert info.subject == document.meta.subject
    core = Docx(io.BytesIO(outputs["docx"])).core_properties
    assert (core.title, core.subject) == (document.meta.title, document.meta.subject)
    mark = pipeline.kinds.kind_named(payload.kind).naming(payload).period_mark
    assert mark in info.subject and mark in core.subject


def test_dates_print_without_leading_zeros_unless_the_house_style_says_iso() -> None:
    from service.model.figures import printed_date
    from service.report.build import render_template_xml
    from service.report.figures import compute_figures
    from service.report.versions import version_for

    payload = pipeline.parse_payload(_example())
    assert printed_date(payload.publish_date) == "2022年6月15日"
    version = version_for(payload.kind, payload.report_year)
    xml = render_template_xml(payload, version, compute_figures(payload), dates="iso")
    assert "发布时间：2022-06-15" in xml and 'date="2022-06-15"' in xml
    _, document = pipeline.build(_example())
    assert document.signature is not None and document.signature.date_text == "2022年6月15日"
