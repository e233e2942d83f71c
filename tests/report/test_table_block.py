"""Table blocks in a section's content: columns of every type, 其中 rows complete or partial, a
合计 checked against a disclosed figure, a ranking's 其他 row, rows not summed, notes; and the
rules that refuse what cannot be printed right."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from service.errors import PayloadInvalid
from service.model import Paragraph
from service.payload.rules import table_specs
from service.pipeline import build, parse_payload
from tests.conftest import EXAMPLES

COUNT = {"key": "n", "title": "件数", "type": "count"}
SHARE = {"key": "s", "title": "占比", "type": "share", "of": "n"}
LAST = {"key": "last", "title": "上年件数", "type": "count"}
CHANGE = {"key": "c", "title": "同比增减", "type": "change", "of": "n", "base": "last"}


def table(**spec: Any) -> dict[str, Any]:
    base = {
        "title": "投诉险种分布",
        "label_title": "险种",
        "columns": [COUNT, SHARE],
        "rows": [{"label": "寿险", "values": {"n": 7}}, {"label": "健康险", "values": {"n": 5}}],
        "total": {"label": "合计", "figure": "complaints.direct.total"},
    }
    return {"table": {**base, **spec}}


def with_table(example: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """The reference payload (公司自收 12 件) with ``block`` first under its first heading."""
    payload = copy.deepcopy(example)
    payload["sections"][0]["content"] = [block]
    return payload


def rows_of(example: dict[str, Any], block: dict[str, Any]) -> list[tuple[str, ...]]:
    _, document = build(with_table(example, block))
    return [r.cells for r in document.tables[0].rows]


def test_shares_changes_and_the_total(reference_example: dict[str, Any]) -> None:
    block = table(
        columns=[COUNT, SHARE, LAST, CHANGE],
        rows=[
            {"label": "寿险", "values": {"n": 7, "last": 5}},
            {"label": "健康险", "values": {"n": 5, "last": 8}},
        ],
    )
    assert rows_of(reference_example, block) == [
        ("寿险", "7", "58.33%", "5", "40.00%"),
        ("健康险", "5", "41.67%", "8", "-37.50%"),
        ("合计", "12", "100.00%", "13", "-7.69%"),
    ]


def test_tables_are_numbered_through_the_document(reference_example: dict[str, Any]) -> None:
    _, document = build(with_table(reference_example, table()))
    captions = [t.caption for t in document.tables]
    assert captions[0] == "表1 投诉险种分布"
    assert captions[1:] == [f"表{n} " + c.split(" ", 1)[1] for n, c in enumerate(captions[1:], 2)]
    assert len(captions) == 8


def test_a_ranking_prints_what_the_listed_rows_leave_as_other(
    reference_example: dict[str, Any],
) -> None:
    block = table(
        rows=[{"label": "寿险", "values": {"n": 7}}],
        other_label="其他",
        total={"label": "合计", "values": {"n": 12}, "figure": "complaints.direct.total"},
    )
    assert rows_of(reference_example, block) == [
        ("寿险", "7", "58.33%"),
        ("其他", "5", "41.67%"),
        ("合计", "12", "100.00%"),
    ]


def test_a_row_not_summed_and_decimals_rounded_half_up(reference_example: dict[str, Any]) -> None:
    block = table(
        columns=[COUNT, SHARE, {"key": "d", "title": "亿元保费投诉量", "type": "decimal", "places": 2,
                                "unit": "件/亿元"}],
        rows=[
            {"label": "公司", "values": {"n": 12, "d": 2.675}},
            {"label": "行业中位数", "values": {"n": 30, "d": 3.1}, "summed": False},
        ],
    )  # fmt: skip
    _, document = build(with_table(reference_example, block))
    t = document.tables[0]
    assert t.columns[3].title == "亿元保费投诉量（件/亿元）"
    assert [r.cells for r in t.rows] == [
        ("公司", "12", "100.00%", "2.68"),
        ("行业中位数", "30", "—", "3.10"),
        ("合计", "12", "100.00%", "—"),
    ]


def test_partial_sub_rows_and_notes(reference_example: dict[str, Any]) -> None:
    block = table(
        rows=[
            {"label": "寿险", "values": {"n": 7}, "subrows_partial": True,
             "subrows": [{"label": "定期寿险", "values": {"n": 2}}]},
            {"label": "健康险", "values": {"n": 5}},
        ],
        total={"label": "总计", "figure": "complaints.direct.total"},
        notes=["注：数据来源于公司内部统计。"],
    )  # fmt: skip
    _, document = build(with_table(reference_example, block))
    t = document.tables[0]
    assert [(r.cells, r.kind) for r in t.rows] == [
        (("寿险", "7", "58.33%"), "data"),
        (("其中：定期寿险", "2", "16.67%"), "sub"),
        (("健康险", "5", "41.67%"), "data"),
        (("总计", "12", "100.00%"), "total"),
    ]
    after = document.blocks[document.blocks.index(t) + 1]
    assert after == Paragraph("注：数据来源于公司内部统计。", "note")


def test_the_rounding_note_comes_before_the_tables_own_notes(
    reference_example: dict[str, Any],
) -> None:
    block = table(
        rows=[{"label": f"险种{i}", "values": {"n": 4}} for i in range(3)],
        notes=["注：自有说明。"],
    )
    _, document = build(with_table(reference_example, block))
    at = document.blocks.index(document.tables[0])
    assert [getattr(b, "text", None) for b in document.blocks[at + 1 : at + 3]] == [
        "注：因四舍五入，占比合计可能不等于100%。",
        "注：自有说明。",
    ]


T = "$.sections[0].content[0].table"


@pytest.mark.parametrize(
    ("spec", "path", "code"),
    [
        ({"rows": [{"label": "寿险", "values": {"n": 7}}, {"label": "健康险", "values": {"n": 4}}]},
         f"{T}.total", "table_total_mismatch"),
        ({"total": {"figure": "complaints.regulator.total"}}, f"{T}.total", "table_total_mismatch"),
        ({"rows": [{"label": "寿险", "values": {"n": 7}}, {"label": "寿险", "values": {"n": 5}}]},
         f"{T}.rows[1].label", "duplicate_row_label"),
        ({"rows": [{"label": "寿险", "values": {"n": 12, "x": 1}}]}, f"{T}.rows[0].values.x", "unknown_column"),
        ({"rows": [{"label": "寿险", "values": {}}]}, f"{T}.rows[0].values.n", "missing"),
        ({"rows": [{"label": "寿险", "values": {"n": "12"}}]}, f"{T}.rows[0].values.n", "cell_type"),
        ({"rows": [{"label": "寿险", "values": {"n": 1.5}}]}, f"{T}.rows[0].values.n", "cell_type"),
        ({"rows": [{"label": "寿险", "values": {"n": True}}]}, f"{T}.rows[0].values.n", "cell_type"),
        ({"columns": [COUNT, COUNT]}, f"{T}.columns[1].key", "duplicate_column"),
        ({"columns": [COUNT, {**SHARE, "of": "zz"}]}, f"{T}.columns[1].of", "column_reference"),
        ({"columns": [COUNT, {"key": "x", "title": "x", "type": "colour"}]}, f"{T}.columns[1]", "column_type"),
        ({"rows": [{"label": "寿险", "values": {"n": 12},
                    "subrows": [{"label": "甲", "values": {"n": 5}}]}]}, f"{T}.rows[0].subrows", "subrow_sum_mismatch"),
        ({"rows": [{"label": "寿险", "values": {"n": 12}, "subrows_partial": True,
                    "subrows": [{"label": "甲", "values": {"n": 13}}]}]},
         f"{T}.rows[0].subrows", "subrow_sum_mismatch"),
        ({"other_label": "其他"}, f"{T}.other_label", "ranking_without_total"),
        ({"other_label": "其他", "total": {"values": {"n": 10}}},
         f"{T}.total.values.n", "ranking_exceeds_total"),
        ({"total": {"values": {"n": 13}}}, f"{T}.total.values.n", "table_total_mismatch"),
        ({"columns": [{"key": "t", "title": "说明", "type": "text"}],
          "rows": [{"label": "寿险", "values": {"t": "甲"}}]}, f"{T}.total.figure", "column_reference"),
    ],
)  # fmt: skip
def test_table_rules(
    reference_example: dict[str, Any], spec: dict[str, Any], path: str, code: str
) -> None:
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(with_table(reference_example, table(**spec)))
    found = [(e.path, e.code) for e in info.value.errors]
    assert (path, code) in found, found
    assert all(not e.message.isascii() for e in info.value.errors)


def test_a_total_that_names_an_absent_figure_says_so(reference_example: dict[str, Any]) -> None:
    payload = with_table(reference_example, table(total={"figure": "complaints.total"}))
    payload["figures"]["complaints"] = {}
    payload["sections"] = payload["sections"][:1]
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(payload)
    assert [(e.path, e.code) for e in info.value.errors] == [
        (f"{T}.total.figure", "table_without_figures")
    ]


def test_table_texts_are_checked_like_other_text(reference_example: dict[str, Any]) -> None:
    block = table(rows=[{"label": "寿\u202e险", "values": {"n": 12}}], notes=["注：\u0e01"])
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(with_table(reference_example, block))
    assert {(e.path, e.code) for e in info.value.errors} >= {
        (f"{T}.rows[0].label", "forbidden_character"),
        (f"{T}.notes[0]", "glyph_not_covered"),
    }


@pytest.mark.parametrize(
    "name",
    ["heyu-life-sources-2024", "changxin-property-ranking-2023", "fukang-life-indicators-2024",
     "anning-health-partial-2024", "hengtai-property-notes-2023", "zhongan-life-regions-2024"],
)  # fmt: skip
def test_the_table_examples_validate(name: str) -> None:
    payload = parse_payload((EXAMPLES / f"{name}.json").read_bytes())
    assert table_specs(payload.sections)
