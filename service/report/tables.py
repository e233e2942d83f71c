"""The standard tables: complaint breakdowns and the table over both sources, each written out
as the table block it is short for (printed by :mod:`service.report.table_block`, so a
breakdown and a table block of the same rows print the same), and the relative-metrics table.
"""

from __future__ import annotations

from service.kinds.complaint_figures import METRIC_NAMES, METRIC_UNITS
from service.model import Table, TableColumn, TableRow
from service.model.figures import plain_decimal
from service.payload.schema import (
    Breakdown,
    Complaints,
    ComplaintSource,
    CountColumn,
    RelativeMetric,
    ShareColumn,
    TableRowSpec,
    TableSpec,
    TableSubRow,
    TableTotal,
)

SOURCE_NAMES = {"regulator": "监管转办", "direct": "公司自收"}
DIMENSION_NAMES = {
    "source": "来源",
    "region": "地区",
    "channel": "业务渠道",
    "category": "业务类别",
    "product": "产品类型",
}
COUNT_AND_SHARE = [
    CountColumn(key="n", title="件数", type="count"),
    ShareColumn(key="share", title="占比", type="share", of="n"),
]


def breakdown_spec(source_name: str, source: ComplaintSource, breakdown: Breakdown) -> TableSpec:
    """A breakdown written out as the table block it is short for: 件数 and 占比 of the
    dimension's rows, their 其中 rows, and a 合计 equal to the source's total."""
    dimension = DIMENSION_NAMES[breakdown.dimension]
    return TableSpec(
        title=breakdown.title or f"{SOURCE_NAMES[source_name]}投诉{dimension}分布",
        label_title=dimension,
        columns=COUNT_AND_SHARE,
        rows=[
            TableRowSpec(
                label=row.label,
                values={"n": row.count},
                subrows=[TableSubRow(label=s.label, values={"n": s.count}) for s in row.subrows],
            )
            for row in breakdown.rows
        ],
        total=TableTotal(label="合计"),
    )


def sources_spec(complaints: Complaints) -> TableSpec:
    """The table over both sources: 监管转办 and 公司自收, their 合计 the complaints total."""
    return TableSpec(
        title="投诉来源分布",
        label_title="投诉来源",
        columns=COUNT_AND_SHARE,
        rows=[
            TableRowSpec(label=SOURCE_NAMES[name], values={"n": getattr(complaints, name).total})
            for name in ("regulator", "direct")
            if getattr(complaints, name) is not None
        ],
        total=TableTotal(label="合计"),
    )


def metrics_table(number: int, metrics: list[RelativeMetric]) -> Table:
    has_median = any(m.industry_median is not None for m in metrics)
    columns = [
        TableColumn("指标", "left"),
        TableColumn("单位", "left"),
        TableColumn("公司", "right"),
    ]
    if has_median:
        columns.append(TableColumn("行业中位数", "right"))
    rows = []
    for m in metrics:
        cells = [METRIC_NAMES[m.name], METRIC_UNITS[m.name], plain_decimal(m.value)]
        if has_median:
            cells.append("—" if m.industry_median is None else plain_decimal(m.industry_median))
        rows.append(TableRow(tuple(cells)))
    return Table(
        number=number, caption=f"表{number} 投诉相对指标", columns=tuple(columns), rows=tuple(rows)
    )
