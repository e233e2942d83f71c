"""Next year's draft from a stored payload, and 同比 computed or checked against last year's."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest

from service import PROJECT_ROOT
from service.kinds import parse_payload
from service.payload.parse import decode_json
from service.report.next_year import NoNextYear, next_year, tables, year_on_year

EXAMPLES = PROJECT_ROOT / "examples"
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def example(name: str) -> dict[str, Any]:
    obj = decode_json((EXAMPLES / name).read_bytes())
    assert isinstance(obj, dict)
    return obj


def put(payload: dict[str, Any], path: str, value: Any) -> None:
    steps = [m.group(1) or int(m.group(2)) for m in _STEP.finditer(path[1:])]
    node: Any = payload
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_the_draft_is_last_years_document_less_its_figures(name: str) -> None:
    stored = example(name)
    if stored.get("kind") == "submission-letter":
        pytest.skip("a letter has no next year (tested below)")
    draft = next_year(stored)
    assert draft.payload["report_year"] == stored["report_year"] + 1
    assert "publish_date" not in draft.payload
    assert draft.payload.get("period") == stored.get("period")
    assert draft.payload["sections"] == _without_numbers(stored)["sections"] or any(
        _changes(t) for _, t in tables(stored)
    )
    assert draft.payload.get("intro") == stored.get("intro")
    # last year's values put back where they were listed give last year's document again
    restored = copy.deepcopy(draft.payload)
    for path, value in draft.previous.items():
        put(restored, path, value)
    restored["report_year"] = stored["report_year"]
    restored["publish_date"] = stored["publish_date"]
    if "title" in stored:
        restored["title"] = stored["title"]
    assert restored == stored or any(_changes(t) for _, t in tables(stored))
    assert stored == example(name), "the stored payload is not changed"
    # and with a publish date in the next year, the draft filled so is valid
    restored["report_year"] = draft.payload["report_year"]
    restored["publish_date"] = f"{draft.payload['report_year'] + 1}-01-20"
    parse_payload(restored)


def _changes(table: dict[str, Any]) -> bool:
    return any(c.get("type") == "change" for c in table.get("columns", []))


def _without_numbers(node: Any) -> Any:
    """``node`` less the given cells of its table blocks (what the draft empties there)."""
    out = copy.deepcopy(node)
    for _, table in tables(out):
        rows = [*table.get("rows", [])]
        rows += [s for r in table.get("rows", []) for s in r.get("subrows", [])]
        if isinstance(table.get("total"), dict) and "values" in table["total"]:
            rows.append(table["total"])
        for row in rows:
            row["values"] = {k: v for k, v in row["values"].items() if isinstance(v, str)}
    return out


def test_figures_emptied_and_listed_by_path() -> None:
    stored = example("xiaokang-life-2023.json")
    draft = next_year(stored)
    assert draft.payload["figures"]["training"] == {}
    assert draft.previous["$.figures.training.participants"] == 1486
    assert draft.previous["$.figures.training.yoy"] == Decimal("11.56")
    regulator = draft.payload["figures"]["complaints"]["regulator"]
    assert regulator["period"] == "前三季度", "texts among the figures are carried over"
    assert regulator["breakdowns"][0]["rows"] == [{"label": "经代"}, {"label": "互联网"}]
    path = "$.figures.complaints.direct.breakdowns[0].rows[0].subrows[1].count"
    assert draft.previous[path] == 2


def test_the_period_and_the_title_advance() -> None:
    quarter = example("xiaokang-life-complaints-2022-q1.json")
    quarter["title"] = "小康人寿2022年第一季度消费投诉情况（2022年报）"
    draft = next_year(quarter)
    assert (draft.payload["report_year"], draft.payload["period"]) == (2023, "Q1")
    assert draft.payload["title"] == "小康人寿2023年第一季度消费投诉情况（2023年报）"
    half = example("changxin-property-complaints-2024-h1.json")
    assert next_year(half).payload["period"] == "H1"
    last = {**quarter, "report_year": 2100}
    with pytest.raises(NoNextYear, match="2100"):
        next_year(last)


def test_a_letter_has_no_next_year() -> None:
    letters = sorted((EXAMPLES / "letter").glob("*.json"))
    assert letters
    letter = decode_json(letters[0].read_bytes())
    with pytest.raises(NoNextYear, match="报送函"):
        next_year(letter)


CHANGE_TABLE: dict[str, Any] = {
    "title": "投诉量变化",
    "label_title": "险种",
    "columns": [
        {"key": "n", "title": "本期", "type": "count"},
        {"key": "last", "title": "上期", "type": "count"},
        {"key": "yoy", "title": "同比增减", "type": "change", "of": "n", "base": "last"},
    ],
    "rows": [
        {"label": "寿险", "values": {"n": 10, "last": 8},
         "subrows": [{"label": "其他", "values": {"n": 4, "last": 1}}]},
        {"label": "健康险", "values": {"n": 5, "last": 5},
         "subrows": [{"label": "其他", "values": {"n": 5, "last": 5}}]},
    ],
    "total": {"label": "合计", "values": {"n": 15, "last": 13}},
}  # fmt: skip


def with_table(table: dict[str, Any]) -> dict[str, Any]:
    payload = example("xiaokang-life-2023.json")
    payload["sections"][0]["content"].append({"table": copy.deepcopy(table)})
    return payload


def test_a_tables_base_column_is_last_years_current() -> None:
    stored = with_table(CHANGE_TABLE)
    index = len(stored["sections"][0]["content"]) - 1
    draft = next_year(stored)
    table = draft.payload["sections"][0]["content"][index]["table"]
    assert [r["values"] for r in table["rows"]] == [{"last": 10}, {"last": 5}]
    assert [s["values"] for r in table["rows"] for s in r["subrows"]] == [{"last": 4}, {"last": 5}]
    assert table["total"]["values"] == {"last": 15}
    prefix = f"$.sections[0].content[{index}].table"
    assert draft.previous[prefix + ".rows[0].values.n"] == 10
    assert prefix + ".rows[0].values.last" not in draft.previous
    assert draft.previous[prefix + ".total.values.n"] == 15


def test_yoy_computed_where_left_out() -> None:
    base = example("xiaokang-life-2023.json")
    payload = next_year(base).payload
    payload["figures"]["training"] = {"participants": 1600, "coverage": 100}
    payload["figures"]["outreach"] = {"reach": 595500}
    checked, errors = year_on_year(payload, base)
    assert errors == []
    assert checked["figures"]["training"]["yoy"] == Decimal("7.67")  # (1600−1486)÷1486
    assert checked["figures"]["outreach"]["yoy"] == Decimal("0.00")
    assert "yoy" not in payload["figures"]["training"], "the payload given is not changed"
    no_base = copy.deepcopy(base)
    del no_base["figures"]["training"]
    unchanged, _ = year_on_year(payload, no_base)
    assert "yoy" not in unchanged["figures"]["training"], "no last-year figure: nothing computed"


def test_yoy_given_is_checked_at_its_precision() -> None:
    base = example("xiaokang-life-2023.json")
    payload = next_year(base).payload
    for given, ok in ((Decimal("7.67"), True), (Decimal("7.7"), True), (8, True),
                      (Decimal("7.66"), False), (Decimal("7.6"), False), (-7, False)):  # fmt: skip
        payload["figures"]["training"] = {"participants": 1600, "coverage": 100, "yoy": given}
        checked, errors = year_on_year(payload, base)
        assert checked["figures"]["training"]["yoy"] == given
        if ok:
            assert errors == [], given
        else:
            assert [(e.path, e.code) for e in errors] == [
                ("$.figures.training.yoy", "yoy_mismatch")
            ]
            assert errors[0].message == (
                f"参训人次同比增长为{given}%，与上年存档数据不符：上年参训人次1486、本年1600，"
                "同比应为7.67%"
            )


def test_a_tables_base_cells_checked_or_filled_by_row_label() -> None:
    base = with_table(CHANGE_TABLE)
    index = len(base["sections"][0]["content"]) - 1
    table = copy.deepcopy(CHANGE_TABLE)
    table["rows"].reverse()  # rows are matched by label, not by place
    table["rows"][0]["values"] = {"n": 6, "last": 4}  # 健康险: last year 5
    table["rows"][0]["subrows"][0]["values"] = {"n": 6}  # 其他 under 健康险: 5, filled
    table["rows"][1]["values"] = {"n": 12, "last": 10}
    table["rows"][1]["subrows"][0]["values"] = {"n": 3, "last": 4}
    table["total"]["values"] = {"n": 18, "last": 15}
    payload = {**with_table(table), "report_year": 2024}
    del payload["figures"]["training"], payload["figures"]["outreach"]
    checked, errors = year_on_year(payload, base)
    prefix = f"$.sections[0].content[{index}].table"
    assert [(e.path, e.message) for e in errors] == [
        (prefix + ".rows[0].values.last", "“健康险”的上期为4，与上年存档的本期5不符")
    ]
    rows = checked["sections"][0]["content"][index]["table"]["rows"]
    assert rows[0]["subrows"][0]["values"] == {"n": 6, "last": 5}
    renamed = copy.deepcopy(table)
    renamed["title"] = "另一张表"
    other = {**with_table(renamed), "report_year": 2024}
    del other["figures"]["training"], other["figures"]["outreach"]
    assert year_on_year(other, base)[1] == [], "no table of that title last year"


def test_the_base_must_be_the_same_period_a_year_before() -> None:
    base = example("xiaokang-life-complaints-2022-q1.json")
    draft = next_year(base).payload
    assert year_on_year(draft, base)[1] == []
    for change in ({"report_year": 2024}, {"period": "Q2"}, {"kind": "consumer-protection-annual"}):
        payload = {**draft, **change}
        checked, errors = year_on_year(payload, base)
        assert checked == payload
        assert [(e.path, e.code) for e in errors] == [("$.report_year", "base_period_mismatch")]
        assert "2022年度" in errors[0].message


def test_a_computed_yoy_prints_in_the_document() -> None:
    from service.console.replies import json_dumps
    from service.kinds import compute_figures, kind_named

    base = example("xiaokang-life-2023.json")
    payload = next_year(base).payload
    for path, value in next_year(base).previous.items():
        if not path.endswith(".yoy"):
            put(payload, path, value)
    payload["figures"]["training"]["participants"] = 1600
    payload["publish_date"] = "2025-01-15"
    checked, errors = year_on_year(payload, base)
    assert errors == []
    parsed = parse_payload(json_dumps(checked).encode())
    figures = compute_figures(kind_named("consumer-protection-annual"), parsed)
    assert figures["training.yoy"] == "7.67%"
    assert figures["outreach.yoy"] == "0%"
