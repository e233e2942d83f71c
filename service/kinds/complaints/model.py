"""The payload of a complaint disclosure for a period (消费投诉情况信息披露).

A year, a half-year or a quarter (``period``) of one company's complaints: both sources with
their breakdowns, relative metrics and group complaints, in the sections of a narrative as the
annual disclosure writes them; inserts and table blocks work as there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from service.payload.schema import (
    Complaints,
    Date,
    Disclosure,
    ReportPeriod,
    ReportYear,
    ShortText,
    _DisclosureHead,
    _Model,
)

KIND_NAME: Literal["complaint-disclosure"] = "complaint-disclosure"
KIND_LABEL = "消费投诉情况信息披露"


class ComplaintFigures(_Model):
    complaints: Complaints = Field(Complaints(), title="投诉数据")


class _PeriodOfYear(_DisclosureHead):
    period: ReportPeriod = Field(
        title="报告期",
        description="year 全年，H1 上半年，H2 下半年，Q1–Q4 第一至第四季度",
    )


# ``period`` stands after ``report_year`` by the order of the bases (see ``Disclosure``).
class ComplaintPayload(Disclosure, _PeriodOfYear):
    """One complaint disclosure for a year, a half-year or a quarter."""

    model_config = ConfigDict(title=KIND_LABEL)

    kind: Literal["complaint-disclosure"] = Field(title="报告类型")
    report_year: ReportYear = Field(title="报告年度", description="报告期所在年度")
    publish_date: Date = Field(title="发布日期", description="发布日期，须晚于报告期末")
    title: ShortText | None = Field(
        None, title="标题", description="标题；缺省为 公司全称+报告期+消费投诉情况信息披露"
    )
    figures: ComplaintFigures = Field(ComplaintFigures(), title="数据")
