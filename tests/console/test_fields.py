"""JSON paths in words, and errors placed on the rows of their fields."""

from __future__ import annotations

from typing import Any

import pytest

from service.console.fields import field_rows, figure_label, label, near_errors
from service.errors import FieldError


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.figures.complaints.regulator.closed", "监管转办投诉 · 已办结件数"),
        ("$.figures.complaints.direct.total", "公司自收投诉 · 投诉件数"),
        ("$.figures.review.total", "消保审查 · 合计次数"),
        ("$.figures.training.coverage", "消保培训 · 培训覆盖率（%）"),
        ("$.figures.outreach.reach", "消保教育宣传 · 触达人次"),
        ("$.figures.complaints.group.major_cases", "群诉群访 · 社会影响较大的投诉案件数"),
        ("$.company.full_name", "公司全称"),
        ("$.company.nickname", "公司 · 字段“nickname”"),
        ("$.report_year", "报告年度"),
        ("$.publish_date", "发布日期"),
        ("$.intro[2]", "导语 · 第3段"),
        ("$.sections", "正文"),
        ("$.sections[0].sections[0].content[0]", "正文 · 章节1.1「重要政策」 · 第1段"),
        (
            "$.sections[1].sections[1].sections[0].content[0]",
            "正文 · 章节2.2.1「监管转办投诉案件」 · 第1项（生成内容）",
        ),
        ("$.sections[4].title", "正文 · 章节5 · 标题"),
        (
            "$.figures.complaints.direct.breakdowns[0].rows[0].subrows",
            "公司自收投诉 · 来源分布表 · 第1行「来电」 · 其中各项",
        ),
        (
            "$.figures.complaints.direct.breakdowns[0].rows[0].subrows[1].count",
            "公司自收投诉 · 来源分布表 · 第1行「来电」 · 其中第2项「分支机构」 · 件数",
        ),
        (
            "$.figures.complaints.regulator.breakdowns[7].dimension",
            "监管转办投诉 · 第8个分布表 · 统计维度",
        ),
        ("$", "报送数据（整体）"),
        ("$.surprise", "字段“surprise”"),
    ],
)
def test_labels(reference_example: dict[str, Any], path: str, expected: str) -> None:
    assert label(path, reference_example) == expected


def test_labels_without_the_payload() -> None:
    assert label("$.figures.complaints.direct.breakdowns[1].rows[2].count") == (
        "公司自收投诉 · 第2个分布表 · 第3行 · 件数"
    )
    assert label("$.figures.complaints.relative_metrics[0].value") == "相对指标 · 第1项 · 数值"


def test_figure_labels() -> None:
    """A figure is named as its kind's figures registry names it."""
    assert figure_label("complaints.regulator.closed_rate") == "监管转办投诉办结率"
    assert figure_label("training.yoy") == "参训人次同比增长"
    assert figure_label("complaints.relative_metrics.per_100m_premium") == "亿元保费投诉量"
    assert figure_label("complaints.total") == "投诉合计件数"
    assert figure_label("period") == "报告期"


def test_every_error_gets_a_row_in_its_group(reference_example: dict[str, Any]) -> None:
    del reference_example["company"]["full_name"]
    reference_example["figures"]["complaints"]["regulator"]["closed"] = 4
    errors = [
        FieldError("$.company.full_name", "missing", "缺少必填项"),
        FieldError("$.figures.complaints.regulator.closed", "closed_exceeds_total", "已办结4件"),
        FieldError(
            "$.figures.complaints.direct.breakdowns[0].rows[0].subrows",
            "subrow_sum_mismatch",
            "不符",
        ),
        FieldError("$.sections[0].sections[0].content[0]", "unknown_figure", "未知数据"),
        FieldError("$.figures.complaints.regulator.closed", "other", "第二个问题"),
    ]
    groups = {g.key: g for g in field_rows(reference_example, errors)}
    basic = [r.path for r in groups["basic"].rows]
    assert basic.index("$.company.full_name") == basic.index("$.company.short_name") + 1
    missing = next(r for r in groups["basic"].rows if r.path == "$.company.full_name")
    assert (missing.value, missing.present) == ("（缺少）", False)
    closed = next(r for r in groups["regulator"].rows if r.path.endswith("regulator.closed"))
    assert closed.value == "4" and [e.message for e in closed.errors] == ["已办结4件", "第二个问题"]
    assert (closed.context, closed.name) == ("监管转办投诉", "已办结件数")
    direct = [r.path for r in groups["direct"].rows]
    subrows = direct.index("$.figures.complaints.direct.breakdowns[0].rows[0].subrows")
    assert direct[subrows + 1].startswith(
        "$.figures.complaints.direct.breakdowns[0].rows[0].subrows[0]"
    )
    narrative = groups["narrative"].rows
    assert [r.path for r in narrative] == ["$.sections[0].sections[0].content[0]"]
    assert sum(g.error_count for g in groups.values()) == len(errors)
    assert closed.anchor == "field-figures-complaints-regulator-closed"


def test_rows_of_something_that_is_not_an_object() -> None:
    groups = field_rows([1, 2], [FieldError("$", "model_type", "须为对象")])
    assert [(g.key, [r.path for r in g.rows]) for g in groups] == [("whole", ["$"])]


def test_near_errors_keeps_siblings_and_counts_the_rest(reference_example: dict[str, Any]) -> None:
    errors = [
        FieldError("$.figures.complaints.regulator.closed", "closed_exceeds_total", "x"),
        FieldError("$.figures.complaints.direct.breakdowns[0].rows[0].subrows", "sum", "y"),
    ]
    groups = {g.key: g for g in near_errors(field_rows(reference_example, errors))}
    assert set(groups) == {"regulator", "direct"}
    regulator = [r.path.rsplit(".", 1)[1] for r in groups["regulator"].rows]
    assert regulator == ["total", "closed", "period"]
    assert groups["regulator"].hidden == 15
    direct = [r.path for r in groups["direct"].rows]
    prefix = "$.figures.complaints.direct.breakdowns[0].rows[0]"
    assert direct[:3] == [f"{prefix}.label", f"{prefix}.count", f"{prefix}.subrows"]
    assert all(p.startswith(prefix) for p in direct) and len(direct) == 7


def test_labels_inside_a_table_block() -> None:
    import json

    from tests.conftest import EXAMPLES

    payload = json.loads((EXAMPLES / "heyu-life-sources-2024.json").read_text("utf-8"))
    table = "$.sections[0].sections[0].content[1].table"
    assert label(f"{table}.rows[1].values.n", payload) == (
        "正文 · 章节1.1「投诉来源」 · 第2项（统计表「投诉来源分布」） · 行 · 第2项「公司自收」"
        " · 数值 · 列“n”"
    )
    assert label(f"{table}.columns[2].base", payload).endswith("列 · 第3项「上年件数」 · 上期列")
