"""Statistics tables: counts, shares a reviewer can recompute, sub-rows, the 合计 row, the
rounding note; every figure of every example recomputed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from service.errors import PayloadInvalid
from service.kinds import parse_payload
from service.model import Block, Document, Paragraph, Table, TableRow
from service.payload.schema import Breakdown, ComplaintSource
from service.pipeline import build
from service.pipeline import parse_payload as parse_with_checks
from service.report import build_document
from service.report.table_block import table_blocks
from service.report.tables import breakdown_spec
from service.style import house_style, load_house_style
from service.style.house_style import HOUSE_STYLES_DIR
from tests.conftest import EXAMPLE_FILES
from tests.recompute import payload_errors, recomputation_errors, table_block_errors
from tests.render import docx_fixtures, pdf_fixtures


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
    (table,) = table_blocks(3, breakdown_spec("direct", source, source.breakdowns[0]), NOTE)
    assert isinstance(table, Table)
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


NOTE = "注：因四舍五入，占比合计可能不等于100%。"


def source_of(counts: list[int]) -> ComplaintSource:
    rows = [{"label": f"地区{i}", "count": c} for i, c in enumerate(counts)]
    return ComplaintSource.model_validate(
        {"total": sum(counts), "closed": 0, "breakdowns": [{"dimension": "region", "rows": rows}]}
    )


@pytest.mark.parametrize(
    ("counts", "shares", "adds_up"),
    [
        ([7, 5], ["58.33%", "41.67%"], True),
        ([1, 1, 1], ["33.33%", "33.33%", "33.33%"], False),
        ([2, 2, 2], ["33.33%", "33.33%", "33.33%"], False),
        ([1, 1, 1, 1, 1, 1, 1], ["14.29%"] * 7, False),
        ([1, 7], ["12.50%", "87.50%"], True),
        ([0, 4], ["0.00%", "100.00%"], True),
    ],
)
def test_each_share_is_rounded_on_its_own(
    counts: list[int], shares: list[str], adds_up: bool
) -> None:
    source = source_of(counts)
    table, *notes = table_blocks(1, breakdown_spec("regulator", source, source.breakdowns[0]), NOTE)
    assert isinstance(table, Table)
    assert [r.cells[2] for r in table.rows if r.kind == "data"] == shares
    assert table.rows[-1].cells == ("合计", str(sum(counts)), "100.00%")
    assert notes == ([] if adds_up else [Paragraph(NOTE, "note")])


def payload_with_regulator_rows(example: dict[str, Any], counts: list[int]) -> dict[str, Any]:
    rows = [{"label": f"渠道{i}", "count": c} for i, c in enumerate(counts)]
    example["figures"]["complaints"]["regulator"] = {
        "total": sum(counts),
        "closed": sum(counts),
        "breakdowns": [{"dimension": "channel", "rows": rows}],
    }
    return example


def blocks_after_first_table(document: Document) -> tuple[Block, Block]:
    index = document.blocks.index(document.tables[0])
    return document.blocks[index], document.blocks[index + 1]


def test_the_rounding_note_follows_a_table_whose_shares_miss_100(
    reference_example: dict[str, Any],
) -> None:
    _, document = build(payload_with_regulator_rows(reference_example, [1, 1, 1]))
    table, after = blocks_after_first_table(document)
    assert isinstance(table, Table)
    assert [r.cells[2] for r in table.rows] == ["33.33%"] * 3 + ["100.00%"]
    assert after == Paragraph("注：因四舍五入，占比合计可能不等于100%。", "note")


def test_no_rounding_note_where_the_shares_add_up(reference_example: dict[str, Any]) -> None:
    _, document = build(payload_with_regulator_rows(reference_example, [1, 3]))
    _, after = blocks_after_first_table(document)
    assert not (isinstance(after, Paragraph) and after.role == "note")


def test_a_house_style_without_a_rounding_note_prints_none(
    reference_example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gbt9704.toml").write_text((HOUSE_STYLES_DIR / "gbt9704.toml").read_text("utf-8"))
    (tmp_path / "plain.toml").write_text(
        'name = "plain"\nextends = "gbt9704"\n[table]\nrounding_note = ""\n', "utf-8"
    )
    monkeypatch.setattr(house_style, "HOUSE_STYLES_DIR", tmp_path)
    load_house_style.cache_clear()
    try:
        payload = parse_payload(payload_with_regulator_rows(reference_example, [1, 1, 1]))
        document = build_document(payload, house_style="plain")
    finally:
        load_house_style.cache_clear()
    notes = [b for b in document.blocks if isinstance(b, Paragraph) and b.role == "note"]
    assert notes == []


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_figure_of_every_example_recomputes(path: Path) -> None:
    payload = json.loads(path.read_text("utf-8"))
    _, document = build(path.read_bytes())
    assert document.tables
    assert recomputation_errors(document) == []
    assert payload_errors(payload, document) == []
    assert table_block_errors(payload, document) == []


@pytest.mark.parametrize(
    "document",
    [docx_fixtures.sample_document(), pdf_fixtures.sample_document()],
    ids=["docx-sample", "pdf-sample"],
)
def test_every_share_of_the_writer_test_documents_recomputes(document: Document) -> None:
    assert recomputation_errors(document) == []


def test_the_recomputation_catches_a_forced_share(reference_example: dict[str, Any]) -> None:
    """7 of 12 printed as 58.34% (what forcing the column to 100.00% printed) is caught."""
    _, document = build(reference_example)
    (forced,) = [t for t in document.tables if any(r.cells[1] == "7" for r in t.rows)]
    rows = tuple(
        TableRow((r.cells[0], r.cells[1], "58.34%"), r.kind) if r.cells[1] == "7" else r
        for r in forced.rows
    )
    blocks = tuple(
        replace(b, rows=rows) if b is forced else b
        for b in document.blocks
        if not (isinstance(b, Paragraph) and b.role == "note")
    )
    errors = recomputation_errors(replace(document, blocks=blocks))
    assert any("58.34%，应为58.33%" in e for e in errors), errors


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


def test_one_table_over_both_sources(reference_example: dict[str, Any]) -> None:
    reference_example["sections"][0]["content"] = [{"insert": "complaints.sources.table"}]
    _, document = build(reference_example)
    table = document.tables[0]
    assert table.caption == "表1 投诉来源分布"
    assert [r.cells for r in table.rows] == [
        ("监管转办", "3", "20.00%"),
        ("公司自收", "12", "80.00%"),
        ("合计", "15", "100.00%"),
    ]


def test_the_table_over_both_sources_needs_both(reference_example: dict[str, Any]) -> None:
    reference_example["sections"][0]["content"] = [{"insert": "complaints.sources.table"}]
    reference_example["figures"]["complaints"]["regulator"] = None
    with pytest.raises(PayloadInvalid) as info:
        parse_with_checks(reference_example)
    found = [(e.path, e.code, e.message) for e in info.value.errors]
    assert any(
        p == "$.sections[0].content[0].insert"
        and c == "insert_without_figures"
        and "$.figures.complaints.regulator" in m
        for p, c, m in found
    ), found


def test_a_breakdown_prints_as_the_table_block_it_is_short_for(
    reference_example: dict[str, Any],
) -> None:
    """The 公司自收 来源 breakdown and a table block of the same rows print the same table."""
    breakdown = reference_example["figures"]["complaints"]["direct"]["breakdowns"][0]
    rows = [
        {"label": r["label"], "values": {"n": r["count"]},
         "subrows": [{"label": s["label"], "values": {"n": s["count"]}} for s in r.get("subrows", [])]}
        for r in breakdown["rows"]
    ]  # fmt: skip
    block = {"table": {
        "title": "公司自收投诉来源分布", "label_title": "来源", "rows": rows,
        "columns": [{"key": "n", "title": "件数", "type": "count"},
                    {"key": "share", "title": "占比", "type": "share", "of": "n"}],
        "total": {"label": "合计", "figure": "complaints.direct.total"}}}  # fmt: skip
    reference_example["sections"][0]["content"] = [block]
    _, document = build(reference_example)
    written = document.tables[0]
    (expanded,) = [t for t in document.tables[1:] if t.caption.endswith("公司自收投诉来源分布")]
    assert (written.columns, written.rows) == (expanded.columns, expanded.rows)
