"""Statistics tables from complaint breakdowns: 件数, 占比 (two decimals), a 合计 row.

Every share, a "其中" sub-row's too, is its own count over the headline total, rounded half up
on its own (:func:`service.model.figures.share`), so a reader can recompute each cell. The 合计
row prints the total's own share (100.00%); where the printed shares of the top rows do not add
up to it, :func:`shares_add_up` says so and the report prints the house style's rounding note.
"""

from __future__ import annotations

from decimal import Decimal

from service.model import Table, TableColumn, TableRow
from service.model.figures import grouped, plain_decimal, share, share_text
from service.payload.schema import Breakdown, ComplaintSource, RelativeMetric

SOURCE_NAMES = {"regulator": "监管转办", "direct": "公司自收"}
DIMENSION_NAMES = {
    "source": "来源",
    "region": "地区",
    "channel": "业务渠道",
    "category": "业务类别",
    "product": "产品类型",
}
METRIC_NAMES = {
    "per_100m_premium": "亿元保费投诉量",
    "per_10k_policies": "万张保单投诉量",
    "per_10k_customers": "万人次投诉量",
}
METRIC_UNITS = {
    "per_100m_premium": "件/亿元",
    "per_10k_policies": "件/万张",
    "per_10k_customers": "件/万人次",
}
SUB_ROW_PREFIX = "其中："


def breakdown_table(
    number: int, source_name: str, source: ComplaintSource, breakdown: Breakdown
) -> Table:
    dimension = DIMENSION_NAMES[breakdown.dimension]
    caption_text = breakdown.title or f"{SOURCE_NAMES[source_name]}投诉{dimension}分布"
    rows: list[TableRow] = []
    for row in breakdown.rows:
        rows.append(
            TableRow((row.label, grouped(row.count), share_text(share(row.count, source.total))))
        )
        for sub in row.subrows:
            rows.append(
                TableRow(
                    (
                        f"{SUB_ROW_PREFIX}{sub.label}",
                        grouped(sub.count),
                        share_text(share(sub.count, source.total)),
                    ),
                    kind="sub",
                )
            )
    total_share = share_text(share(source.total, source.total))
    rows.append(TableRow(("合计", grouped(source.total), total_share), kind="total"))
    return Table(
        number=number,
        caption=f"表{number} {caption_text}",
        columns=(
            TableColumn(dimension, "left"),
            TableColumn("件数", "right"),
            TableColumn("占比", "right"),
        ),
        rows=tuple(rows),
    )


def shares_add_up(source: ComplaintSource, breakdown: Breakdown) -> bool:
    """Whether the printed shares of the top rows add up to the 合计 row's printed share."""
    printed = sum((share(row.count, source.total) for row in breakdown.rows), Decimal(0))
    return printed == share(source.total, source.total)


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
