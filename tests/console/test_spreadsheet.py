"""Cells from a spreadsheet as rows of a table or breakdown: the clipboard's text, CSV files in
UTF-8 and GB18030, workbooks written by openpyxl, and files that must be refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
import pytest
from openpyxl.styles import Alignment

from service.console.spreadsheet import (
    MAX_SHEET_ROWS,
    SheetTooLarge,
    SheetUnreadable,
    lines_from_csv,
    lines_from_text,
    lines_from_xlsx,
)
from service.console.table_import import (
    TargetInvalid,
    import_rows,
    parse_cell,
    target_of,
)
from service.kinds import kind_named
from service.payload.schema import MAX_ROWS

ANNUAL = kind_named("consumer-protection-annual")
COMPLAINTS = kind_named("complaint-disclosure")
BREAKDOWN = "$.figures.complaints.direct.breakdowns[0]"
COLUMNS: list[dict[str, Any]] = [
    {"key": "n", "title": "件数", "type": "count"},
    {"key": "share", "title": "占比", "type": "share", "of": "n"},
    {"key": "amount", "title": "金额", "type": "amount", "unit": "万元"},
    {"key": "rate", "title": "比例", "type": "percent"},
]


def workbook_bytes(rows: list[list[Any]], *, title: str = "Sheet1", **sheets: Any) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, more in sheets.items():
        extra = workbook.create_sheet(name)
        for row in more:
            extra.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def breakdown_rows(text: str) -> dict[str, Any]:
    return import_rows(target_of(ANNUAL, BREAKDOWN), lines_from_text(text)).as_dict()


def test_clipboard_text_as_excel_puts_it() -> None:
    text = (
        "\ufeff渠道\t件数\t占比\t\r\n"
        '来电\t"1,234"\t\t\r\n'
        "其中：客服热线\t１２００\r\n"
        "\u3000\u3000分支机构\t34\r\n"
        '"网络\t（含""APP""）"\t3\r\n'
        "\r\n"
        "合计\t1,237\t100.00%\r\n"
    )
    result = breakdown_rows(text)
    assert result["errors"] == []
    assert result["rows"] == [
        {
            "label": "来电",
            "count": 1234,
            "subrows": [{"label": "客服热线", "count": 1200}, {"label": "分支机构", "count": 34}],
        },
        {"label": '网络\t（含"APP"）', "count": 3},
    ]


def test_every_bad_cell_named_by_row_and_column_at_once() -> None:
    text = "名称\t件数\n来电\t12.5\n网络\t-3\n来访\t\n\t4\n合计\t99\n"
    result = breakdown_rows(text)
    errors = {(e["row"], e["column"]): e for e in result["errors"]}
    assert sorted(errors) == [(2, "件数"), (3, "件数"), (4, "件数"), (5, "名称")]
    assert errors[(2, "件数")]["message"] == "第2行「件数」：须为非负整数，“12.5”不是"
    assert errors[(2, "件数")]["path"] == BREAKDOWN + ".rows[0].count"
    assert errors[(3, "件数")]["path"] == BREAKDOWN + ".rows[1].count"
    assert "未填写" in errors[(4, "件数")]["message"]
    assert errors[(5, "名称")]["message"] == "第5行「名称」：缺少名称"
    # the total is not checked against a column with bad cells: that would only repeat them
    assert [r["label"] for r in result["rows"]] == ["来电", "网络", "来访"]


def test_a_total_line_is_checked_not_imported() -> None:
    good = breakdown_rows("名称\t件数\n甲\t2\n乙\t3\n合 计\t5\n")
    assert good["errors"] == [] and [r["label"] for r in good["rows"]] == ["甲", "乙"]
    bad = breakdown_rows("名称\t件数\n甲\t2\n乙\t3\n总计\t6\n")
    assert [e["message"] for e in bad["errors"]] == ["第4行「件数」：合计6与各行之和5不符"]
    assert bad["errors"][0]["path"] == BREAKDOWN


def test_header_matched_by_title_key_or_unit_in_any_order() -> None:
    target = target_of(ANNUAL, "$.sections[0].content[1]", columns=COLUMNS)
    assert target.path == "$.sections[0].content[1].table"
    text = "比例\t金额（万元）\t项目\tn\n11.56%\t1,000.25\t甲\t１０\n3\t-2\t乙\t0\n"
    result = import_rows(target, lines_from_text(text)).as_dict()
    assert result["errors"] == []
    assert result["rows"] == [
        {"label": "甲", "values": {"rate": 11.56, "amount": 1000.25, "n": 10}},
        {"label": "乙", "values": {"rate": 3, "amount": -2, "n": 0}},
    ]


def test_a_header_ending_in_a_column_title_names_it() -> None:
    result = breakdown_rows('投诉渠道\t"投诉\n件数"\t件数占比\n个险\t3\t100%\n')
    assert result == {"rows": [{"label": "个险", "count": 3}], "errors": []}


def test_unknown_and_missing_columns_are_named() -> None:
    target = target_of(ANNUAL, "$.sections[0].content[1]", columns=COLUMNS)
    result = import_rows(target, lines_from_text("项目\t件数\t备注\n甲\t1\t说明\n")).as_dict()
    messages = [e["message"] for e in result["errors"]]
    assert messages[0].startswith("第1行「备注」：不是该表的列；可导入的列有：件数、金额、比例")
    assert "第1行「金额」：表头中没有“金额”列" in messages
    assert "第1行「比例」：表头中没有“比例”列" in messages


def test_headerless_paste_follows_the_table_order() -> None:
    result = breakdown_rows("甲\t2\n乙\t3\t9\n")
    assert result["rows"] == [{"label": "甲", "count": 2}, {"label": "乙", "count": 3}]
    assert [e["row"] for e in result["errors"]] == [2]
    assert "多于该表的2列" in result["errors"][0]["message"]
    unrecognised = breakdown_rows("甲\t乙\n1\t2\n")
    assert unrecognised["rows"] == []
    assert "找不到表头" in unrecognised["errors"][0]["message"]


def test_a_subrow_before_any_row_is_named() -> None:
    result = breakdown_rows("名称\t件数\n其中：热线\t2\n甲\t2\n")
    assert result["rows"] == [{"label": "甲", "count": 2}]
    assert result["errors"][0]["message"] == "第2行「名称」：其中项“热线”之前没有所属的行"


def test_ranking_total_and_other_line() -> None:
    payload = {
        "sections": [
            {
                "title": "投诉",
                "content": [
                    {"table": {"title": "前二", "label_title": "分支机构", "columns": COLUMNS[:2],
                               "rows": [], "other_label": "其他"}},
                ],
            }
        ]
    }  # fmt: skip
    target = target_of(COMPLAINTS, "$.sections[0].content[0]", payload=payload)
    text = "分支机构\t件数\t占比\n广东\t5\t50%\n江苏\t3\t30%\n其他\t2\t20%\n合计\t10\t100%\n"
    result = import_rows(target, lines_from_text(text)).as_dict()
    assert result["errors"] == []
    assert [r["label"] for r in result["rows"]] == ["广东", "江苏"]
    assert result["total"] == {"values": {"n": 10}}
    over = import_rows(target, lines_from_text("分支机构\t件数\n广东\t11\n合计\t10\n"))
    assert [e.message for e in over.errors] == ["第3行「件数」：所列各行之和11已超过合计10"]


def test_targets_found_in_the_kind_model() -> None:
    letter = kind_named("submission-letter")
    assert target_of(letter, "$.attachment.figures.complaints.regulator.breakdowns[3]").breakdown
    with pytest.raises(TargetInvalid, match="不是"):
        target_of(ANNUAL, "$.figures.training")
    with pytest.raises(TargetInvalid, match="不是"):
        target_of(ANNUAL, "$.figures.complaints.direct.breakdowns[0].rows[0]")
    with pytest.raises(TargetInvalid, match="尚未定义列"):
        target_of(ANNUAL, "$.sections[0].content[0]", payload={"sections": []})
    with pytest.raises(TargetInvalid, match="列定义有误"):
        target_of(ANNUAL, "$.sections[0].content[0]", columns=[{"key": "n", "type": "nope"}])
    payload = {"figures": {"complaints": {"direct": {"breakdowns": [{"dimension": "region"}]}}}}
    assert target_of(ANNUAL, BREAKDOWN, payload=payload).label_title == "地区"


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("count", "1,234,567", 1234567),
        ("count", "１２", 12),
        ("count", "12.0", 12),
        ("count", "1,486人次", 1486),
        ("count", "12 件", 12),
        ("amount", "1,000.5", 1000.5),
        ("amount", "－3", -3),
        ("percent", "11.56％", 11.56),
        ("percent", "-0.5", -0.5),
        ("decimal", "0.0001", 0.0001),
        ("text", " 说明（含附件，１份） ", "说明（含附件，１份）"),
    ],
)
def test_cells_read(kind: str, text: str, value: object) -> None:
    assert parse_cell(kind, text) == (value, None)


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        ("count", "1.5", "须为非负整数"),
        ("count", "12%", "不带百分号"),
        ("count", "200000000", "超过上限"),
        ("count", "—", "未填写数值"),
        ("count", "1.2万", "须为非负整数"),
        ("amount", "1,00", "须为数字"),
        ("amount", "1234567890123456", "位数过多"),
        ("decimal", "十二", "须为数字"),
    ],
)
def test_cells_refused(kind: str, text: str, reason: str) -> None:
    value, why = parse_cell(kind, text)
    assert value is None and why is not None and reason in why


def test_gb18030_csv_as_chinese_excel_writes_it() -> None:
    text = '渠道,件数\r\n个险,"1,200"\r\n　其中：续期,200\r\n银保,3\r\n'
    for data in (text.encode("gb18030"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        result = import_rows(target_of(ANNUAL, BREAKDOWN), lines_from_csv(data)).as_dict()
        assert result["errors"] == []
        assert result["rows"] == [
            {"label": "个险", "count": 1200, "subrows": [{"label": "续期", "count": 200}]},
            {"label": "银保", "count": 3},
        ]
    utf16 = lines_from_csv("\ufeff渠道\t件数\r\n个险\t5\r\n".encode("utf-16-le"))
    assert [line.cells for line in utf16] == [("渠道", "件数"), ("个险", "5")]
    with pytest.raises(SheetUnreadable, match="GB18030"):
        lines_from_csv(b"\xff\xff\xff\x80\x80")


def test_xlsx_first_or_chosen_sheet_percents_and_indents() -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "说明"
    first.append(["本工作簿的第二张表是分布"])
    sheet = workbook.create_sheet("分布")
    for row in (
        ["项目", "件数", "比例"],
        ["甲", 1200, 0.1156],
        ["热线", 1000.0, 0.5],
        ["乙", 3, 1],
    ):
        sheet.append(row)
    sheet["C2"].number_format = "0.00%"
    sheet["C3"].number_format = "0%"
    sheet["A3"].alignment = Alignment(indent=1)
    out = io.BytesIO()
    workbook.save(out)
    lines, names = lines_from_xlsx(out.getvalue(), "分布")
    assert names == ["说明", "分布"]
    assert [line.cells for line in lines] == [
        ("项目", "件数", "比例"), ("甲", "1200", "11.56%"), ("热线", "1000", "50%"), ("乙", "3", "1"),
    ]  # fmt: skip
    assert [line.indent for line in lines] == [0, 0, 1, 0]
    target = target_of(ANNUAL, "$.sections[0].content[0]", columns=[COLUMNS[0], COLUMNS[3]])
    rows = import_rows(target, lines).as_dict()
    assert rows["errors"] == []
    assert rows["rows"] == [
        {"label": "甲", "values": {"n": 1200, "rate": 11.56},
         "subrows": [{"label": "热线", "values": {"n": 1000, "rate": 50}}]},
        {"label": "乙", "values": {"n": 3, "rate": 1}},
    ]  # fmt: skip
    first_lines, _ = lines_from_xlsx(out.getvalue())
    assert [line.cells for line in first_lines] == [("本工作簿的第二张表是分布",)]
    with pytest.raises(SheetUnreadable, match="没有工作表“汇总”；有：说明、分布"):
        lines_from_xlsx(out.getvalue(), "汇总")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_bomb_refused_unread() -> None:
    bomb = _zip({
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": b"\0" * (8 * 1024 * 1024),
    })  # fmt: skip
    assert len(bomb) < 64 * 1024
    with pytest.raises(SheetTooLarge, match="压缩比异常"):
        lines_from_xlsx(bomb)
    wide = _zip({
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        **{f"xl/media/{i}.bin": bytes(range(256)) * 4096 * 9 for i in range(4)},
    })  # fmt: skip
    with pytest.raises(SheetTooLarge, match="解压后超过上限"):
        lines_from_xlsx(wide)


def test_not_a_workbook() -> None:
    with pytest.raises(SheetUnreadable, match="不是 .xlsx 工作簿"):
        lines_from_xlsx(b"\xd0\xcf\x11\xe0 an old .xls")
    with pytest.raises(SheetUnreadable, match="缺少工作簿内容"):
        lines_from_xlsx(_zip({"a.json": b"{}"}))
    with pytest.raises(SheetUnreadable, match="ZIP 结构损坏"):
        lines_from_xlsx(b"PK\x03\x04" + b"\0" * 100)
    broken = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<not xml"})
    with pytest.raises(SheetUnreadable, match="无法读取工作簿"):
        lines_from_xlsx(broken)


def test_sheet_limits() -> None:
    rows = "".join(f"行{i}\t{i}\n" for i in range(MAX_SHEET_ROWS + 1))
    with pytest.raises(SheetTooLarge, match="超过2000行"):
        lines_from_text("名称\t件数\n" + rows)
    with pytest.raises(SheetTooLarge, match="过宽"):
        lines_from_text("\t".join(["1"] * 100))
    long = workbook_bytes([["名称", "件数"], *([f"行{i}", i] for i in range(MAX_ROWS + 1))])
    lines, _ = lines_from_xlsx(long)
    result = import_rows(target_of(ANNUAL, BREAKDOWN), lines)
    assert [e.message for e in result.errors] == [
        f"第{MAX_ROWS + 2}行：共{MAX_ROWS + 1}行（含其中项），超过一张表的上限{MAX_ROWS}行"
    ]
