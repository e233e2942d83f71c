"""Rules beyond types: one row per rule, each proven to fire and to name its field."""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import PayloadInvalid
from service.pipeline import build, parse_payload
from tests.payload.test_schema import DELETE, _set

REG = "figures.complaints.regulator"
DIR = "figures.complaints.direct"


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"publish_date": "2023-12-31"}, "$.publish_date", "publish_date_not_after_report_year"),
        ({"sections.0.title": "一、消费者权益保护重大信息"}, "$.sections[0].title",
         "heading_has_number"),
        ({"sections.1.title": "（二）消费投诉情况"}, "$.sections[1].title", "heading_has_number"),
        ({"sections.0.sections.0.title": "1.重要政策"}, "$.sections[0].sections[0].title",
         "heading_has_number"),
        ({"sections.0.sections.0.title": "（1）重要政策"}, "$.sections[0].sections[0].title",
         "heading_has_number"),
        ({"sections.0.title": "第一章 总则"}, "$.sections[0].title", "heading_has_number"),
        ({f"{DIR}.breakdowns.0.rows.0.subrows.1.label": "客服热线"},
         f"$.{DIR}.breakdowns[0].rows[0].subrows[1].label", "duplicate_row_label"),
        ({"figures.complaints.relative_metrics": [{"name": "per_10k_policies", "value": 1},
                                                  {"name": "per_10k_policies", "value": 2}]},
         "$.figures.complaints.relative_metrics[1].name", "duplicate_metric"),
        ({"figures.review.total": 236}, "$.figures.review.total", "review_total_mismatch"),
        ({"figures.training.coverage": 100.5}, "$.figures.training.coverage", "share_out_of_range"),
        ({f"{REG}.closed": 4}, f"$.{REG}.closed", "closed_exceeds_total"),
        ({f"{REG}.total": 4, f"{REG}.closed": 3}, f"$.{REG}.breakdowns[0].rows", "breakdown_sum_mismatch"),
        ({f"{DIR}.breakdowns.0.rows.0.subrows.0.count": 5}, f"$.{DIR}.breakdowns[0].rows[0].subrows",
         "subrow_sum_mismatch"),
        ({f"{DIR}.breakdowns.1.rows.1.label": "经代"}, f"$.{DIR}.breakdowns[1].rows[1].label", "duplicate_row_label"),
        ({f"{DIR}.breakdowns.2.dimension": "channel"}, f"$.{DIR}.breakdowns[2].dimension", "duplicate_breakdown"),
        ({"ladder_start": 2, "sections.1.sections.1.sections.0.sections": [{"title": "太深"}]},
         "$.sections[1].sections[1].sections[0].sections[0].title", "ladder_too_deep"),
        ({"intro.0": "正文\u202e反向"}, "$.intro[0]", "forbidden_character"),
        ({"intro.0": "控制\x07字符"}, "$.intro[0]", "forbidden_character"),
        ({"sections.0.title": "泰文\u0e01字"}, "$.sections[0].title", "glyph_not_covered"),
        ({"intro.0": "表情😀"}, "$.intro[0]", "glyph_not_covered"),
        ({"intro.0": "生僻𠀀字"}, "$.intro[0]", "glyph_not_covered"),
        ({"intro.0": "引用{review.nothing}"}, "$.intro[0]", "unknown_figure"),
        ({"intro.0": "单个{花括号"}, "$.intro[0]", "unmatched_brace"),
        ({"figures.outreach": None, "intro.0": "{outreach.reach}"}, "$.intro[0]", "unknown_figure"),
        ({f"{REG}": None}, "$.sections[1].sections[1].sections[0].content[0].insert", "insert_without_figures"),
        ({"house_style": "nobody"}, "$.house_style", "unknown_house_style"),
        ({"report_year": 2101}, "$.report_year", "less_than_equal"),
        ({"sections.0.title": "孤立\ud800代理项"}, "$.sections[0].title", "forbidden_character"),
        ({f"{DIR}.breakdowns.0.rows": [
            {"label": f"项{i}", "count": 0, "subrows": [{"label": f"子{j}", "count": 0} for j in range(49)]}
            for i in range(11)]},
         f"$.{DIR}.breakdowns[0].rows", "limit_exceeded"),
    ],
)  # fmt: skip
def test_rule(
    reference_example: dict[str, Any], changes: dict[str, Any], path: str, code: str
) -> None:
    for field, value in changes.items():
        _set(reference_example, field, value)
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    found = [(e.path, e.code) for e in info.value.errors]
    assert (path, code) in found, found


def test_glyph_error_names_the_character(reference_example: dict[str, Any]) -> None:
    _set(reference_example, "sections.0.title", "泰文\u0e01字符")
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    (error,) = info.value.errors
    assert "U+0E01" in error.message


def test_rule_errors_are_all_reported_together(reference_example: dict[str, Any]) -> None:
    _set(reference_example, "publish_date", "2023-06-01")
    _set(reference_example, f"{REG}.closed", 9)
    _set(reference_example, "intro.0", "{nothing}")
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    assert {e.code for e in info.value.errors} >= {
        "publish_date_not_after_report_year",
        "closed_exceeds_total",
        "unknown_figure",
    }


def test_literal_braces_are_allowed(reference_example: dict[str, Any]) -> None:
    _set(reference_example, "intro.0", "集合{{甲，乙}}")
    parse_payload(reference_example)


@pytest.mark.parametrize(
    "title", ["1.5亿元保费投诉", "2023年度消保工作", "3·15活动", "一体化建设", "第一季度"]
)
def test_a_title_that_only_starts_with_a_number_is_kept(
    reference_example: dict[str, Any], title: str
) -> None:
    _set(reference_example, "sections.0.title", title)
    parse_payload(reference_example)


def test_a_typed_heading_number_says_numbers_are_generated(
    reference_example: dict[str, Any],
) -> None:
    _set(reference_example, "sections.0.title", "一、消费者权益保护重大信息")
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    (error,) = info.value.errors
    assert "“一、”" in error.message and "序号由系统按层级生成" in error.message


def test_rules_run_on_every_part_that_parsed(reference_example: dict[str, Any]) -> None:
    """A missing field and wrong sums elsewhere come back in one round."""
    _set(reference_example, "company.short_name", DELETE)
    _set(reference_example, "figures.training.coverage", "全部")
    _set(reference_example, f"{REG}.closed", 9)
    _set(reference_example, f"{DIR}.breakdowns.0.rows.0.count", 99)
    _set(reference_example, "publish_date", "2023-06-01")
    _set(reference_example, "sections.0.title", "一、消费者权益保护重大信息")
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    assert {(e.path, e.code) for e in info.value.errors} == {
        ("$.company.short_name", "missing"),
        ("$.figures.training.coverage", "decimal_parsing"),
        (f"$.{REG}.closed", "closed_exceeds_total"),
        (f"$.{DIR}.breakdowns[0].rows", "breakdown_sum_mismatch"),
        (f"$.{DIR}.breakdowns[0].rows[0].subrows", "subrow_sum_mismatch"),
        ("$.publish_date", "publish_date_not_after_report_year"),
        ("$.sections[0].title", "heading_has_number"),
    }


def test_a_part_that_does_not_parse_is_left_to_its_schema_error(
    reference_example: dict[str, Any],
) -> None:
    _set(reference_example, "company.short_name", DELETE)
    _set(reference_example, f"{REG}.closed", "九")
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    assert {(e.path, e.code) for e in info.value.errors} == {
        ("$.company.short_name", "missing"),
        (f"$.{REG}.closed", "int_type"),
    }


SUMMARY = "sections.1.sections.1.sections.0.content.0"


def test_an_undisclosed_closed_count_may_be_left_out(reference_example: dict[str, Any]) -> None:
    """已办结 not disclosed: the payload is valid where nothing needs it, and the figures that
    would print it do not exist."""
    _set(reference_example, f"{REG}.closed", DELETE)
    _set(reference_example, SUMMARY, "监管转办投诉{complaints.regulator.total}件。")
    payload, document = build(reference_example)
    regulator = payload.figures.complaints.regulator
    assert regulator is not None and regulator.closed is None
    assert "监管转办投诉3件。" in document.plain_text()
    assert "complaints.regulator.closed" not in document.figures
    assert "complaints.regulator.closed_rate" not in document.figures


def test_an_insert_that_needs_an_undisclosed_figure_says_so(
    reference_example: dict[str, Any],
) -> None:
    _set(reference_example, f"{REG}.closed", DELETE)
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(reference_example)
    (error,) = info.value.errors
    assert (error.path, error.code) == (
        "$.sections[1].sections[1].sections[0].content[0].insert",
        "insert_without_figures",
    )
    assert f"$.{REG}.closed" in error.message


def test_a_source_without_complaints_needs_no_closed_count(
    reference_example: dict[str, Any],
) -> None:
    _set(reference_example, REG, {"total": 0})
    _set(
        reference_example,
        "sections.1.sections.1.sections.0.content",
        [{"insert": f"{REG[8:]}.summary"}],
    )
    _, document = build(reference_example)
    assert "公司无监管转办投诉案件。" in document.plain_text()
