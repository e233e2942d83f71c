"""Payload schema, version 1, for the report kind ``consumer-protection-annual``.

Narrative (what the company writes) is a ladder of sections with paragraphs; structured
figures (review counts, training, outreach, complaints and their breakdowns, relative metrics,
group complaints) are numbers the report template turns into standard sentences and tables.
A paragraph may quote a figure by name, ``{training.participants}``, so a number printed in
prose is the same number the tables and checks use.

Limits (lengths, counts) keep one payload to what a disclosure can hold; they are part of the
schema so that a caller learns them from ``docs/payload.schema.json``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
)
from pydantic_core import PydanticCustomError

MAX_TEXT_CHARS = 5_000
"""Characters in one paragraph."""
MAX_SECTIONS = 200
"""Sections (headings) in one document, all levels together."""
MAX_ROWS = 500
"""Rows in one breakdown, sub-rows included."""
MAX_TOTAL_CHARS = 200_000
"""Characters of narrative in one document."""

REPORT_KIND: Final = "consumer-protection-annual"

FORBIDDEN_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
"""Control characters XML cannot hold, lone surrogates and bidirectional overrides."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Count = Annotated[int, Strict(), Field(ge=0, le=100_000_000)]
"""A count: a JSON integer only, as the schema says (``true``, ``"12"`` and ``12.0`` are not)."""
Percent = Annotated[Decimal, Field(ge=-100, le=1_000_000, max_digits=12, decimal_places=4)]
"""A percentage as the company states it, in percent (11.56 means 11.56%)."""


def _only(*types: type, code: str) -> BeforeValidator:
    """Refuse a value that is not one of ``types`` (``bool`` never counts as ``int``) before
    pydantic's lax conversions (an integer read as a timestamp, ``true`` as ``1``) can take it;
    ``code`` is the pydantic error type whose message :mod:`service.payload.messages` prints."""

    def check(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, types):
            raise PydanticCustomError(code, code)
        return value

    return BeforeValidator(check)


Year = Annotated[int, Strict()]
Date = Annotated[date, _only(str, date, code="date_type")]
"""A date written ``YYYY-MM-DD``; an integer is not a date."""
SchemaVersion = Annotated[Literal[1], _only(int, code="int_type")]
LadderStart = Annotated[Literal[1, 2], _only(int, code="int_type")]
CompanyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Company(_Model):
    id: CompanyId = Field(
        description="公司标识（小写字母、数字、连字符），用于访问控制与存档，如 xiaokang-life"
    )
    full_name: ShortText = Field(description="公司全称，如 小康人寿保险有限责任公司")
    short_name: ShortText = Field(description="公司简称，如 小康人寿")


class Insert(_Model):
    """A place in the narrative where the template writes standard text or tables from figures."""

    insert: Literal[
        "review",
        "training",
        "outreach",
        "complaints.regulator.summary",
        "complaints.regulator.tables",
        "complaints.direct.summary",
        "complaints.direct.tables",
        "complaints.sources.table",
        "complaints.relative_metrics",
        "complaints.group",
        "basis",
    ] = Field(description="由模板按数据生成的段落或表格")


# --- Statistics tables written in the payload ------------------------------------------------
# A table block declares its columns (each with a key and a type) and gives, per row, a value for
# every column that is not computed; shares, changes, the 合计 row and a ranking's 其他 row are
# computed (service/report/table_block.py) and checked (service/payload/table_rules.py).

ColumnKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
CellValue = Annotated[int | Decimal | str, _only(int, Decimal, float, str, code="cell_type")]
"""A given cell: an integer for a count, a number for an amount, decimal or percent, a text for a
text column (each checked against its column's type by the table rules)."""
TotalFigure = Literal["complaints.total", "complaints.regulator.total", "complaints.direct.total"]


class _Column(_Model):
    key: ColumnKey = Field(description="列标识，行数据以此为键")
    title: ShortText = Field(description="列标题，如 件数、同比增减")


class TextColumn(_Column):
    type: Literal["text"]


class CountColumn(_Column):
    type: Literal["count"]


class AmountColumn(_Column):
    type: Literal["amount"]
    unit: ShortText = Field(description="单位，印在列标题后，如 万元")


class DecimalColumn(_Column):
    type: Literal["decimal"]
    places: Annotated[int, Strict(), Field(ge=0, le=4)] = Field(description="印出的小数位数")
    unit: ShortText | None = Field(None, description="单位，印在列标题后，如 件/亿元")


class PercentColumn(_Column):
    type: Literal["percent"]


class ShareColumn(_Column):
    type: Literal["share"]
    of: ColumnKey = Field(description="据以计算占比的件数列：本行件数÷合计，四舍五入到两位小数")


class ChangeColumn(_Column):
    type: Literal["change"]
    of: ColumnKey = Field(description="本期数值所在列")
    base: ColumnKey = Field(description="上期数值所在列；增减=（本期−上期）÷上期，两位小数")


COLUMN_TYPES = {
    "text": TextColumn,
    "count": CountColumn,
    "amount": AmountColumn,
    "decimal": DecimalColumn,
    "percent": PercentColumn,
    "share": ShareColumn,
    "change": ChangeColumn,
}


def _column_kind(value: object) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"column-{kind}" if kind in COLUMN_TYPES else None


TableColumnSpec = Annotated[
    Annotated[TextColumn, Tag("column-text")]
    | Annotated[CountColumn, Tag("column-count")]
    | Annotated[AmountColumn, Tag("column-amount")]
    | Annotated[DecimalColumn, Tag("column-decimal")]
    | Annotated[PercentColumn, Tag("column-percent")]
    | Annotated[ShareColumn, Tag("column-share")]
    | Annotated[ChangeColumn, Tag("column-change")],
    Discriminator(
        _column_kind,
        custom_error_type="column_type",
        custom_error_message="column_type",
    ),
]


class TableSubRow(_Model):
    label: ShortText
    values: dict[ColumnKey, CellValue] = Field(description="各给定列的数值，以列标识为键")


class TableRowSpec(_Model):
    label: ShortText
    values: dict[ColumnKey, CellValue] = Field(description="各给定列的数值，以列标识为键")
    subrows: list[TableSubRow] = Field(default_factory=list, max_length=50)
    subrows_partial: bool = Field(
        False, description="“其中”只列出部分子项时为 true（不校验合计）；缺省时子项之和须等于本行"
    )
    summed: bool = Field(True, description="false 表示不计入合计的行，如 行业中位数")


class TableTotal(_Model):
    label: Literal["合计", "总计"] = "合计"
    figure: TotalFigure | None = Field(
        None, description="合计须等于的披露数据（第一个件数列），如 complaints.total"
    )
    values: dict[ColumnKey, CellValue] | None = Field(
        None, description="给定的合计（排名表）：各行之外的部分印为“其他”行"
    )


class TableSpec(_Model):
    title: ShortText = Field(description="表题（不含“表N”，编号由系统生成）")
    label_title: ShortText = Field(description="首列（行名）标题，如 险种、公司名称")
    columns: list[TableColumnSpec] = Field(min_length=1, max_length=8)
    rows: list[TableRowSpec] = Field(min_length=1, max_length=MAX_ROWS)
    other_label: ShortText | None = Field(
        None, description="排名表：前N行之外合为一行的名称，如 其他；须同时给出 total.values"
    )
    total: TableTotal | None = Field(None, description="合计行；缺省时不印合计行")
    notes: list[Text] = Field(default_factory=list, max_length=10, description="表下注释")


class TableBlock(_Model):
    """A statistics table placed in a section's content."""

    table: TableSpec


def _block_kind(value: object) -> str:
    if isinstance(value, str):
        return "paragraph"
    if isinstance(value, TableBlock) or (isinstance(value, dict) and "table" in value):
        return "statistics-table"
    return "generated"


Block = Annotated[
    Annotated[Text, Tag("paragraph")]
    | Annotated[Insert, Tag("generated")]
    | Annotated[TableBlock, Tag("statistics-table")],
    Discriminator(_block_kind),
    Field(
        description="一段正文（可用 {training.participants} 之类引用数据），"
        "一处模板生成内容，或一张统计表"
    ),
]


class Section(_Model):
    title: ShortText = Field(description="标题文字，不含序号（序号由系统生成）")
    content: list[Block] = Field(default_factory=list, max_length=200)
    sections: list[Section] = Field(default_factory=list, max_length=100)


class ReviewFigures(_Model):
    """消保审查: reviews of products and services before they reach consumers."""

    product: Count
    service: Count
    total: Count | None = Field(None, description="合计；给出时须等于产品与服务之和")


class TrainingFigures(_Model):
    participants: Count = Field(description="参训人次")
    coverage: Percent = Field(description="培训覆盖率（%）")
    yoy: Percent | None = Field(None, description="同比增长（%），负数为下降")


class OutreachFigures(_Model):
    reach: Count = Field(description="宣教活动触达人次")
    yoy: Percent | None = Field(None, description="同比增长（%）")


Dimension = Literal["source", "region", "channel", "category", "product"]


class BreakdownSubRow(_Model):
    label: ShortText
    count: Count


class BreakdownRow(_Model):
    label: ShortText
    count: Count
    subrows: list[BreakdownSubRow] = Field(
        default_factory=list, max_length=50, description="“其中”子项，合计须等于本行件数"
    )


class Breakdown(_Model):
    dimension: Dimension = Field(
        description="source 投诉来源, region 地区, channel 业务渠道, category 投诉业务类别, product 产品类型"
    )
    title: ShortText | None = Field(None, description="表题；缺省时按来源与维度生成")
    rows: list[BreakdownRow] = Field(min_length=1, max_length=MAX_ROWS)


class ComplaintSource(_Model):
    total: Count = Field(description="投诉件数")
    closed: Count | None = Field(
        None, description="已办结件数；公司不披露时省略（此时不能使用该来源的 summary 生成段落）"
    )
    period: ShortText | None = Field(None, description="统计期间，如 前三季度；缺省为全年")
    breakdowns: list[Breakdown] = Field(default_factory=list, max_length=20)


class RelativeMetric(_Model):
    name: Literal["per_100m_premium", "per_10k_policies", "per_10k_customers"] = Field(
        description="per_100m_premium 亿元保费投诉量（件/亿元），per_10k_policies 万张保单投诉量（件/万张），"
        "per_10k_customers 万人次投诉量（件/万人次）"
    )
    value: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
    industry_median: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] | None = None


class GroupComplaints(_Model):
    group_incidents: Count = Field(0, description="群诉群访事件数")
    major_cases: Count = Field(0, description="社会影响较大的投诉案件数")
    description: Text | None = Field(None, description="有事件时的说明")


class Complaints(_Model):
    regulator: ComplaintSource | None = Field(None, description="监管转办投诉")
    direct: ComplaintSource | None = Field(None, description="公司自收投诉")
    relative_metrics: list[RelativeMetric] = Field(default_factory=list, max_length=3)
    group: GroupComplaints = GroupComplaints()


class Figures(_Model):
    review: ReviewFigures | None = None
    training: TrainingFigures | None = None
    outreach: OutreachFigures | None = None
    complaints: Complaints = Complaints()


class Payload(_Model):
    """One annual consumer-protection disclosure."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="Pilu disclosure payload v1",
        json_schema_extra={"$id": "https://pilu.example/schemas/payload-v1.json"},
    )

    schema_version: SchemaVersion = 1
    kind: Literal["consumer-protection-annual"] = REPORT_KIND
    company: Company
    report_year: Year = Field(ge=2019, le=2100, description="报告年度")
    publish_date: Date = Field(description="发布日期，须晚于报告年度")
    title: ShortText | None = Field(None, description="标题；缺省为 公司全称+年度+报告名称")
    signatory: ShortText | None = Field(None, description="落款单位；给出时在文末落款并写发布日期")
    house_style: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = Field(
        "gbt9704", description="版式方案（templates/house-styles 下的文件名）"
    )
    ladder_start: LadderStart = Field(1, description="顶层标题所用层级：1 为“一、”，2 为“（一）”")
    intro: list[Text] = Field(
        default_factory=list, max_length=50, description="首个标题前的导语段落"
    )
    sections: list[Section] = Field(default_factory=list, max_length=MAX_SECTIONS)
    figures: Figures = Figures()
