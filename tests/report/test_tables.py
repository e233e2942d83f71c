"""Statistics tables: counts, two-decimal shares summing to 100.00%, sub-rows, the 合计 row."""

from __future__ import annotations

from typing import Any

import pytest

from service.payload.schema import Breakdown, ComplaintSource
from service.pipeline import build
from service.report.tables import breakdown_table


def test_table_rows_shares_and_total() -> None:
    source = ComplaintSource(
        total=12345,
        closed=12345,
        breakdowns=[
            Breakdown.model_validate(
                {
                    "dimension": "source",
                    "rows": [
                        {
                            "label": "来电",
                            "count": 8234,
                            "subrows": [
                                {"label": "客服热线", "count": 7020},
                                {"label": "分支机构", "count": 1214},
                            ],
                        },
                        {"label": "网络", "count": 2711},
                        {"label": "来信", "count": 356},
                        {"label": "来访", "count": 1044},
                    ],
                }
            )
        ],
    )
    table = breakdown_table(3, "direct", source, source.breakdowns[0])
    assert table.caption == "表3 公司自收投诉来源分布"
    assert [c.title for c in table.columns] == ["来源", "件数", "占比"]
    assert [c.align for c in table.columns] == ["left", "right", "right"]
    assert [(r.cells, r.kind) for r in table.rows] == [
        (("来电", "8,234", "66.70%"), "data"),
        (("其中：客服热线", "7,020", "56.87%"), "sub"),
        (("其中：分支机构", "1,214", "9.83%"), "sub"),
        (("网络", "2,711", "21.96%"), "data"),
        (("来信", "356", "2.88%"), "data"),
        (("来访", "1,044", "8.46%"), "data"),
        (("合计", "12,345", "100.00%"), "total"),
    ]


@pytest.mark.parametrize("counts", [[1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [3, 3, 3, 3, 3, 3]])
def test_shares_column_adds_up_to_the_total_row(counts: list[int]) -> None:
    source = ComplaintSource.model_validate(
        {"total": sum(counts), "closed": 0, "breakdowns": [
            {"dimension": "region", "rows": [{"label": f"地区{i}", "count": c} for i, c in enumerate(counts)]}
        ]}
    )  # fmt: skip
    table = breakdown_table(1, "regulator", source, source.breakdowns[0])
    data = [r for r in table.rows if r.kind == "data"]
    total = sum(float(r.cells[2].rstrip("%")) for r in data)
    assert round(total, 2) == 100.00
    assert table.rows[-1].cells == ("合计", str(sum(counts)), "100.00%")


def test_reference_tables_total_equals_headline_figures(reference_example: dict[str, Any]) -> None:
    _, document = build(reference_example)
    assert [t.number for t in document.tables] == list(range(1, 8))
    for table in document.tables:
        total = table.rows[-1]
        expected = "3" if "监管转办" in table.caption else "12"
        assert total.kind == "total" and total.cells[1] == expected, table.caption


def test_custom_title_and_metrics_table() -> None:
    from tests.conftest import EXAMPLES

    _, document = build((EXAMPLES / "anhe-life-complaints-2024.json").read_bytes())
    captions = [t.caption for t in document.tables]
    assert captions[-1] == "表5 投诉相对指标"
    metrics = document.tables[-1]
    assert metrics.rows[2].cells == ("万人次投诉量", "件/万人次", "0.41", "—")
