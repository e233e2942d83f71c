"""The payload of a complaint disclosure for a period (消费投诉情况信息披露).

A year, a half-year or a quarter (``period``) of one company's complaints: both sources with
their breakdowns, relative metrics and group complaints, in the sections of a narrative as the
annual disclosure writes them; inserts and table blocks work as there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from service.payload.schema import (
    MAX_SECTIONS,
    Company,
    Complaints,
    Date,
    LadderStart,
    ReportPeriod,
    SchemaVersion,
    Section,
    ShortText,
    Text,
    Year,
    _Model,
    house_style_field,
)

KIND_NAME: Literal["complaint-disclosure"] = "complaint-disclosure"


class ComplaintFigures(_Model):
    complaints: Complaints = Field(Complaints(), title="投诉数据")


class ComplaintPayload(_Model):
    """One complaint disclosure for a year, a half-year or a quarter."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, title="消费投诉情况信息披露"
    )

    schema_version: SchemaVersion = Field(1, title="数据格式版本")
    kind: Literal["complaint-disclosure"] = Field(title="报告类型")
    company: Company = Field(title="公司")
    report_year: Year = Field(ge=2019, le=2100, title="报告年度", description="报告期所在年度")
    period: ReportPeriod = Field(
        title="报告期",
        description="year 全年，H1 上半年，H2 下半年，Q1–Q4 第一至第四季度",
    )
    publish_date: Date = Field(title="发布日期", description="发布日期，须晚于报告期末")
    title: ShortText | None = Field(
        None, title="标题", description="标题；缺省为 公司全称+报告期+消费投诉情况信息披露"
    )
    signatory: ShortText | None = Field(
        None, title="落款单位", description="落款单位；给出时在文末落款并写发布日期"
    )
    house_style: str = house_style_field()
    ladder_start: LadderStart = Field(
        1, title="标题起始层级", description="顶层标题所用层级：1 为“一、”，2 为“（一）”"
    )
    intro: list[Text] = Field(
        default_factory=list, max_length=50, title="导语", description="首个标题前的导语段落"
    )
    sections: list[Section] = Field(default_factory=list, max_length=MAX_SECTIONS, title="正文")
    figures: ComplaintFigures = Field(ComplaintFigures(), title="数据")
