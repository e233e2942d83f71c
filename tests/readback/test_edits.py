"""Proof: generated documents edited as people edit them — in python-docx, then also saved again
by LibreOffice — read back to the payload, the errors or the diff expected."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from docx.oxml.ns import qn
from lxml import etree

from service import pipeline
from service.readback import ReadBack, ReadBackFailed, read_back
from tests.conftest import EXAMPLES
from tests.readback import edits

pytestmark = pytest.mark.slow

ANNUAL = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()
NOTES = (EXAMPLES / "hengtai-property-notes-2023.json").read_bytes()
REGIONS = (EXAMPLES / "zhongan-life-regions-2024.json").read_bytes()
THROUGH = [
    "python-docx",
    pytest.param(
        "libreoffice",
        marks=pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice missing"),
    ),
]


@pytest.fixture(scope="module")
def annual_docx() -> bytes:
    return edits.render(ANNUAL)


@pytest.fixture(scope="module")
def notes_docx() -> bytes:
    return edits.render(NOTES)


@pytest.fixture(scope="module")
def regions_docx() -> bytes:
    return edits.render(REGIONS)


def _through(data: bytes, how: str, tmp_path: Path) -> bytes:
    return edits.libreoffice_round_trip(data, tmp_path) if how == "libreoffice" else data


def _model(raw: bytes) -> dict[str, Any]:
    dumped: dict[str, Any] = pipeline.parse_payload(raw).model_dump()
    return dumped


def _payload(result: ReadBack) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(result.payload)
    return loaded


def _errors(data: bytes, base: bytes) -> list[dict[str, str]]:
    with pytest.raises(ReadBackFailed) as caught:
        read_back(data, base)
    return [e.as_dict() for e in caught.value.errors]


@pytest.mark.parametrize("how", THROUGH)
def test_an_unedited_document_reads_back_to_its_payload(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    result = read_back(_through(annual_docx, how, tmp_path), ANNUAL)
    assert _model(result.payload) == _model(ANNUAL)
    assert result.diff == {"sections": [], "sentences": [], "figures": [], "cells": []}


@pytest.mark.parametrize("how", THROUGH)
def test_a_changed_sentence_is_the_new_text_and_one_sentence_in_the_diff(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(annual_docx)
    paragraph = edits.paragraph_with(doc, "数据安全和客户信息保护机制运行良好")
    edits.replace_in_paragraph(paragraph, "运行良好", "运行平稳有效")
    result = read_back(_through(edits.save(doc), how, tmp_path), ANNUAL)
    section = _payload(result)["sections"][0]["sections"][0]["sections"][3]
    assert section["title"] == "个人信息保护情况"
    assert section["content"][0].endswith("数据安全和客户信息保护机制运行平稳有效。")
    sentences = result.diff["sentences"]
    assert [s["change"] for s in sentences] == ["removed", "added"]
    assert (
        sentences[1]["text"]
        == "全年未发生一例侵害消费者信息安全权事件，数据安全和客户信息保护机制运行平稳有效。"
    )
    assert sentences[1]["section"] == "（4）个人信息保护情况"
    assert result.diff["figures"] == result.diff["sections"] == result.diff["cells"] == []


@pytest.mark.parametrize("how", THROUGH)
def test_an_added_section_is_a_new_section_with_its_text(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(annual_docx)
    last = edits.heading_block(doc, "特殊群体关爱情况")[-1]
    heading = edits.add_paragraph_after(doc, last, "消保投诉回访情况", "Heading 4")
    edits.add_paragraph_after(doc, heading, "全年对已办结投诉开展回访，客户满意度持续提升。")
    result = read_back(_through(edits.save(doc), how, tmp_path), ANNUAL)
    policies = _payload(result)["sections"][0]["sections"][0]["sections"]
    assert policies[-1] == {
        "title": "消保投诉回访情况",
        "content": ["全年对已办结投诉开展回访，客户满意度持续提升。"],
    }
    assert result.diff["sections"] == [
        {"change": "added", "title": "消保投诉回访情况", "heading": "（7）消保投诉回访情况"}
    ]


@pytest.mark.parametrize("how", THROUGH)
def test_a_moved_heading_moves_its_section(annual_docx: bytes, how: str, tmp_path: Path) -> None:
    doc = edits.open_docx(annual_docx)
    activities = edits.heading_block(doc, "重大活动")
    measures: etree._Element = edits.paragraph_with(doc, "重大举措")._p
    for element in activities:
        measures.addprevious(element)
    result = read_back(_through(edits.save(doc), how, tmp_path), ANNUAL)
    titles = [s["title"] for s in _payload(result)["sections"][0]["sections"]]
    assert titles == ["重要政策", "重大活动", "重大举措"]
    assert [s["change"] for s in result.diff["sections"]] == ["moved"]
    assert result.diff["sections"][0]["title"] in ("重大活动", "重大举措")


@pytest.mark.parametrize("how", THROUGH)
def test_a_figure_retyped_everywhere_is_the_new_value(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(annual_docx)
    runs = list(edits.figure_runs(doc, "training.participants"))
    assert runs
    for run in runs:
        edits.set_run_text(run, "1520")
    result = read_back(_through(edits.save(doc), how, tmp_path), ANNUAL)
    assert _payload(result)["figures"]["training"]["participants"] == 1520
    assert result.diff["figures"] == [
        {"name": "training.participants", "label": "参训人次", "before": "1486", "after": "1520"}
    ]


def test_a_computed_figure_retyped_alone_is_an_error_naming_its_paragraph(
    annual_docx: bytes,
) -> None:
    doc = edits.open_docx(annual_docx)
    (run,) = edits.figure_runs(doc, "review.total")
    edits.set_run_text(run, "240")
    errors = _errors(edits.save(doc), ANNUAL)
    assert [e["code"] for e in errors] == ["docx_figure_mismatch"]
    assert errors[0]["path"].startswith("第") and "段" in errors[0]["path"]
    assert "“240”" in errors[0]["message"] and "“235”" in errors[0]["message"]


@pytest.mark.parametrize("how", THROUGH)
def test_a_count_retyped_without_its_share_and_total_is_an_error_at_each(
    notes_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(notes_docx)
    table = edits.table_after(doc, "投诉险种分布")
    edits.set_cell(table, 1, 1, "8")
    errors = _errors(_through(edits.save(doc), how, tmp_path), NOTES)
    places = {e["path"] for e in errors}
    assert "表1 投诉险种分布 第1行（机动车辆保险）“占比”列" in places
    assert any("总计" in p for p in places) or any(
        e["path"].startswith("$.sections") for e in errors
    )
    assert all(e["message"] for e in errors)


@pytest.mark.parametrize("how", THROUGH)
def test_a_deleted_table_row_needs_its_shares_and_totals_retyped(
    regions_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(regions_docx)
    edits.delete_row(edits.table_after(doc, "投诉地区分布"), 1)
    errors = _errors(_through(edits.save(doc), how, tmp_path), REGIONS)
    places = {e["path"] for e in errors}
    assert "表1 投诉地区分布 第1行（天津分公司）“占比”列" in places
    assert "表1 投诉地区分布 第36行（合计）“件数”列" in places

    # The officer retypes what the table and the summary then print: 北京分公司's 97 cases
    # gone from the total, three of them still open.
    expected = json.loads(REGIONS)
    rows = expected["sections"][0]["content"][2]["table"]["rows"]
    assert rows.pop(0)["label"] == "北京分公司"
    expected["figures"]["complaints"]["direct"] = {"total": 7082, "closed": 7079}
    _, printed = pipeline.build(expected)
    doc = edits.open_docx(regions_docx)
    table = edits.table_after(doc, "投诉地区分布")
    edits.delete_row(table, 1)
    edits.retype_table(table, [list(r.cells) for r in printed.tables[0].rows])
    edits.retype_figures(
        doc, {k: v for k, v in printed.figures.items() if k.startswith("complaints.direct")}
    )
    result = read_back(_through(edits.save(doc), how, tmp_path / "fixed"), REGIONS)
    assert _model(result.payload) == _model(json.dumps(expected).encode())
    changed = {(c["row"], c["column"]) for c in result.diff["cells"]}
    assert ("北京分公司", "件数") in changed and ("合计", "件数") in changed
    assert {f["name"] for f in result.diff["figures"]} >= {
        "complaints.direct.total",
        "complaints.direct.closed",
    }


@pytest.mark.parametrize("how", THROUGH)
def test_tracked_changes_are_refused_until_accepted_or_rejected(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(annual_docx)
    paragraph = edits.paragraph_with(doc, "数据安全和客户信息保护机制运行良好")
    edits.tracked_insert(paragraph, "公司未发生数据泄露事件。")
    tracked = edits.save(doc)
    errors = _errors(_through(tracked, how, tmp_path), ANNUAL)
    assert {e["code"] for e in errors} == {"docx_tracked_changes"}
    assert "接受所有修订" in errors[0]["message"]

    accepted = edits.open_docx(tracked)
    edits.accept_all(accepted)
    result = read_back(_through(edits.save(accepted), how, tmp_path / "a"), ANNUAL)
    section = _payload(result)["sections"][0]["sections"][0]["sections"][3]
    assert section["content"][0].endswith("运行良好。公司未发生数据泄露事件。")

    rejected = edits.open_docx(tracked)
    edits.reject_all(rejected)
    result = read_back(_through(edits.save(rejected), how, tmp_path / "r"), ANNUAL)
    assert _model(result.payload) == _model(ANNUAL)


@pytest.mark.parametrize("how", THROUGH)
def test_a_breakdown_retyped_with_its_shares_is_taken(
    annual_docx: bytes, how: str, tmp_path: Path
) -> None:
    doc = edits.open_docx(annual_docx)
    table = edits.table_after(doc, "公司自收投诉来源分布")
    # 来电 8 = 客服热线 6 + 分支机构 2 becomes 7 = 5 + 2; 网络 3 becomes 4; the 合计 stays 12.
    edits.retype_table(
        table,
        [
            ["来电", "7", "58.33%"],
            ["其中：客服热线", "5", "41.67%"],
            ["其中：分支机构", "2", "16.67%"],
            ["网络", "4", "33.33%"],
            ["来访", "1", "8.33%"],
            ["合计", "12", "100.00%"],
        ],
    )
    result = read_back(_through(edits.save(doc), how, tmp_path), ANNUAL)
    breakdown = _payload(result)["figures"]["complaints"]["direct"]["breakdowns"][0]
    assert [(r["label"], r["count"]) for r in breakdown["rows"]] == [
        ("来电", 7),
        ("网络", 4),
        ("来访", 1),
    ]
    assert breakdown["rows"][0]["subrows"] == [
        {"label": "客服热线", "count": 5},
        {"label": "分支机构", "count": 2},
    ]
    changed = {(c["row"], c["column"]): (c["before"], c["after"]) for c in result.diff["cells"]}
    assert changed[("来电", "件数")] == ("8", "7")
    assert changed[("网络", "占比")] == ("25.00%", "33.33%")


def test_a_heading_by_outline_level_with_a_typed_number_is_read_as_a_heading(
    annual_docx: bytes,
) -> None:
    doc = edits.open_docx(annual_docx)
    last = edits.heading_block(doc, "特殊群体关爱情况")[-1]
    heading = edits.add_paragraph_after(doc, last, "（7）消保投诉回访情况")
    ppr = heading.find(qn("w:pPr"))
    if ppr is None:
        ppr = etree.SubElement(heading, qn("w:pPr"))
        heading.insert(0, ppr)
    etree.SubElement(ppr, qn("w:outlineLvl")).set(qn("w:val"), "3")
    edits.add_paragraph_after(doc, heading, "全年对已办结投诉开展回访。")
    result = read_back(edits.save(doc), ANNUAL)
    policies = _payload(result)["sections"][0]["sections"][0]["sections"]
    assert policies[-1] == {"title": "消保投诉回访情况", "content": ["全年对已办结投诉开展回访。"]}


def test_a_payload_rule_broken_by_the_document_is_named_by_its_place(notes_docx: bytes) -> None:
    doc = edits.open_docx(notes_docx)
    table = edits.table_after(doc, "投诉险种分布")
    edits.delete_row(table, 3)
    # Shares and total retyped for the two rows left; the total must still be the 12 complaints.
    edits.retype_table(
        table,
        [
            ["机动车辆保险", "7", "70.00%", "38.6", "85.7%"],
            ["健康险", "3", "30.00%", "12.25", "100%"],
            ["总计", "10", "100.00%", "50.85", "—"],
        ],
    )
    errors = _errors(edits.save(doc), NOTES)
    assert errors and all(e["path"] == "表1 投诉险种分布" for e in errors), errors
    assert any("$.sections[0].content[1].table" in e["message"] for e in errors)
