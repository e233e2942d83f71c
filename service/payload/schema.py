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
from typing import Annotated, Any, Final, Literal

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
REPORT_LABEL: Final = "消费者权益保护工作重大信息披露"

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
MAX_REPORT_YEAR = 2100
ReportYear = Annotated[Year, Field(ge=2019, le=MAX_REPORT_YEAR)]
"""The year a disclosure reports on."""
Date = Annotated[date, _only(str, date, code="date_type")]
"""A date written ``YYYY-MM-DD``; an integer is not a date."""
SchemaVersion = Annotated[Literal[1], _only(int, code="int_type")]
LadderStart = Annotated[Literal[1, 2], _only(int, code="int_type")]
CompanyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


ReportPeriod = Literal["year", "H1", "H2", "Q1", "Q2", "Q3", "Q4"]
"""A report period within its year: the whole year, a half-year or a quarter."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Company(_Model):
    id: CompanyId = Field(
        title="公司标识",
        description="公司标识（小写字母、数字、连字符），用于访问控制与存档，如 xiaokang-life",
    )
    full_name: ShortText = Field(
        title="公司全称", description="公司全称，如 小康人寿保险有限责任公司"
    )
    short_name: ShortText = Field(title="公司简称", description="公司简称，如 小康人寿")


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
    ] = Field(title="生成内容名称", description="由模板按数据生成的段落或表格")


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
    key: ColumnKey = Field(title="列标识", description="列标识，行数据以此为键")
    title: ShortText = Field(title="列标题", description="列标题，如 件数、同比增减")


class TextColumn(_Column):
    type: Literal["text"] = Field(title="列类型")


class CountColumn(_Column):
    type: Literal["count"] = Field(title="列类型")


class AmountColumn(_Column):
    type: Literal["amount"] = Field(title="列类型")
    unit: ShortText = Field(title="单位", description="单位，印在列标题后，如 万元")


class DecimalColumn(_Column):
    type: Literal["decimal"] = Field(title="列类型")
    places: Annotated[int, Strict(), Field(ge=0, le=4)] = Field(
        title="小数位数", description="印出的小数位数"
    )
    unit: ShortText | None = Field(None, title="单位", description="单位，印在列标题后，如 件/亿元")


class PercentColumn(_Column):
    type: Literal["percent"] = Field(title="列类型")


class ShareColumn(_Column):
    type: Literal["share"] = Field(title="列类型")
    of: ColumnKey = Field(
        title="占比所据列",
        description="据以计算占比的件数列：本行件数÷合计，四舍五入到两位小数",
    )


class ChangeColumn(_Column):
    type: Literal["change"] = Field(title="列类型")
    of: ColumnKey = Field(title="本期列", description="本期数值所在列")
    base: ColumnKey = Field(
        title="上期列", description="上期数值所在列；增减=（本期−上期）÷上期，两位小数"
    )


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
    label: ShortText = Field(title="名称")
    values: dict[ColumnKey, CellValue] = Field(
        title="数值", description="各给定列的数值，以列标识为键"
    )


class TableRowSpec(_Model):
    label: ShortText = Field(title="名称")
    values: dict[ColumnKey, CellValue] = Field(
        title="数值", description="各给定列的数值，以列标识为键"
    )
    subrows: list[TableSubRow] = Field(default_factory=list, max_length=50, title="其中")
    subrows_partial: bool = Field(
        False,
        title="“其中”只列部分子项",
        description="“其中”只列出部分子项时为 true（不校验合计）；缺省时子项之和须等于本行",
    )
    summed: bool = Field(
        True, title="计入合计", description="false 表示不计入合计的行，如 行业中位数"
    )


class TableTotal(_Model):
    label: Literal["合计", "总计"] = Field("合计", title="名称")
    figure: TotalFigure | None = Field(
        None,
        title="须等于的披露数据",
        description="合计须等于的披露数据（第一个件数列），如 complaints.total",
    )
    values: dict[ColumnKey, CellValue] | None = Field(
        None, title="数值", description="给定的合计（排名表）：各行之外的部分印为“其他”行"
    )


class TableSpec(_Model):
    title: ShortText = Field(title="表题", description="表题（不含“表N”，编号由系统生成）")
    label_title: ShortText = Field(
        title="首列标题", description="首列（行名）标题，如 险种、公司名称"
    )
    columns: list[TableColumnSpec] = Field(min_length=1, max_length=8, title="列")
    rows: list[TableRowSpec] = Field(min_length=1, max_length=MAX_ROWS, title="行")
    other_label: ShortText | None = Field(
        None,
        title="“其他”行名称",
        description="排名表：前N行之外合为一行的名称，如 其他；须同时给出 total.values",
    )
    total: TableTotal | None = Field(None, title="合计行", description="合计行；缺省时不印合计行")
    notes: list[Text] = Field(
        default_factory=list, max_length=10, title="表注", description="表下注释"
    )


class TableBlock(_Model):
    """A statistics table placed in a section's content."""

    table: TableSpec = Field(title="统计表")


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
    title: ShortText = Field(title="标题", description="标题文字，不含序号（序号由系统生成）")
    content: list[Block] = Field(default_factory=list, max_length=200, title="内容")
    sections: list[Section] = Field(default_factory=list, max_length=100, title="下级章节")


class ReviewFigures(_Model):
    """消保审查: reviews of products and services before they reach consumers."""

    product: Count = Field(title="涉及产品审查次数")
    service: Count = Field(title="涉及服务审查次数")
    total: Count | None = Field(
        None, title="合计次数", description="合计；给出时须等于产品与服务之和"
    )


class TrainingFigures(_Model):
    participants: Count = Field(title="参训人次")
    coverage: Percent = Field(title="培训覆盖率（%）")
    yoy: Percent | None = Field(None, title="参训人次同比增长（%）", description="负数为下降")


class OutreachFigures(_Model):
    reach: Count = Field(title="触达人次")
    yoy: Percent | None = Field(None, title="触达人次同比增长（%）", description="负数为下降")


Dimension = Literal["source", "region", "channel", "category", "product"]


class BreakdownSubRow(_Model):
    label: ShortText = Field(title="名称")
    count: Count = Field(title="件数")


class BreakdownRow(_Model):
    label: ShortText = Field(title="名称")
    count: Count = Field(title="件数")
    subrows: list[BreakdownSubRow] = Field(
        default_factory=list,
        max_length=50,
        title="其中各项",
        description="“其中”子项，合计须等于本行件数",
    )


class Breakdown(_Model):
    dimension: Dimension = Field(
        title="统计维度",
        description="source 投诉来源, region 地区, channel 业务渠道, category 投诉业务类别, product 产品类型",
    )
    title: ShortText | None = Field(None, title="表题", description="表题；缺省时按来源与维度生成")
    rows: list[BreakdownRow] = Field(min_length=1, max_length=MAX_ROWS, title="各行")


class ComplaintSource(_Model):
    total: Count = Field(title="投诉件数")
    closed: Count | None = Field(
        None,
        title="已办结件数",
        description="已办结件数；公司不披露时省略（此时不能使用该来源的 summary 生成段落）",
    )
    period: ShortText | None = Field(
        None, title="统计期间", description="统计期间，如 前三季度；缺省为全年"
    )
    breakdowns: list[Breakdown] = Field(default_factory=list, max_length=20, title="分布表")


class RelativeMetric(_Model):
    name: Literal["per_100m_premium", "per_10k_policies", "per_10k_customers"] = Field(
        title="指标",
        description="per_100m_premium 亿元保费投诉量（件/亿元），per_10k_policies 万张保单投诉量（件/万张），"
        "per_10k_customers 万人次投诉量（件/万人次）",
    )
    value: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] = Field(title="数值")
    industry_median: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] | None = (
        Field(None, title="行业中位数")
    )


class GroupComplaints(_Model):
    group_incidents: Count = Field(0, title="群诉群访事件数")
    major_cases: Count = Field(0, title="社会影响较大的投诉案件数")
    description: Text | None = Field(None, title="说明", description="有事件时的说明")


class Complaints(_Model):
    regulator: ComplaintSource | None = Field(None, title="监管转办投诉")
    direct: ComplaintSource | None = Field(None, title="公司自收投诉")
    relative_metrics: list[RelativeMetric] = Field(
        default_factory=list, max_length=3, title="相对指标"
    )
    group: GroupComplaints = Field(GroupComplaints(), title="群诉群访")


class Figures(_Model):
    review: ReviewFigures | None = Field(None, title="消保审查")
    training: TrainingFigures | None = Field(None, title="消保培训")
    outreach: OutreachFigures | None = Field(None, title="消保教育宣传")
    complaints: Complaints = Field(Complaints(), title="投诉数据")


def house_style_field() -> Any:
    return Field(
        "gbt9704",
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        title="版式方案",
        description="版式方案（templates/house-styles 下的文件名）",
    )


class _DisclosureHead(_Model):
    """The fields a disclosure payload opens with; a kind's model narrows ``kind`` to its name."""

    schema_version: SchemaVersion = Field(1, title="数据格式版本")
    kind: str = Field(title="报告类型")
    company: Company = Field(title="公司")
    report_year: ReportYear = Field(title="报告年度", description="报告年度")


class Disclosure(_DisclosureHead):
    """What every disclosure kind's payload holds: the company, the year, the narrative and how it
    is printed. A kind's model adds its ``kind`` and ``figures``, and restates the description of a
    field that names its period (``report_year``, ``publish_date``, ``title``).

    Pydantic orders fields by base class, the last base first: a model that puts a field of its
    own after ``report_year`` (where the schema lists it and its errors are reported) declares it
    on a subclass of :class:`_DisclosureHead` that it names after this class in its bases.
    """

    publish_date: Date = Field(title="发布日期", description="发布日期，须晚于报告年度")
    title: ShortText | None = Field(
        None, title="标题", description="标题；缺省为 公司全称+年度+报告名称"
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


class AnnualPayload(Disclosure):
    """One annual consumer-protection disclosure (report kind ``consumer-protection-annual``)."""

    model_config = ConfigDict(title=REPORT_LABEL)

    kind: Literal["consumer-protection-annual"] = Field(REPORT_KIND, title="报告类型")
    figures: Figures = Field(Figures(), title="数据")


Payload = AnnualPayload
"""The version-1 payload as it was before there were kinds: the annual disclosure."""
