"""``POST /console/tables/import`` through the console: pasted cells and uploaded files as rows
of a table, JSON errors for what cannot be read, the session and its CSRF token required."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import openpyxl
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.console.conftest import KEY_XIAOKANG, sign_in

URL = "/console/tables/import"
BREAKDOWN = "$.figures.complaints.direct.breakdowns[0]"


def form(csrf: str, **fields: Any) -> FormData:
    data = FormData()
    data.add_field("csrf", csrf)
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content = value
            data.add_field(name, content, filename=filename)
        else:
            data.add_field(name, value)
    return data


async def test_pasted_cells_become_rows(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    text = '渠道\t件数\r\n个险\t"1,200"\r\n其中：续期\t200\r\n银保\tabc\r\n'
    response = await client.post(
        URL, data=form(csrf, kind="consumer-protection-annual", target=BREAKDOWN, text=text)
    )
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert body["rows"] == [
        {"label": "个险", "count": 1200, "subrows": [{"label": "续期", "count": 200}]},
        {"label": "银保"},
    ]
    assert body["errors"] == [
        {
            "row": 4,
            "column": "件数",
            "path": BREAKDOWN + ".rows[1].count",
            "message": "第4行「件数」：须为非负整数，“abc”不是",
        }
    ]


async def test_workbook_upload_with_table_columns_from_the_payload(
    client: TestClient[Any, Any],
) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["险种", "件数", "金额（万元）"], ["寿险", 3, 12.5], ["健康险", 4, 1000]):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    columns = [
        {"key": "n", "title": "件数", "type": "count"},
        {"key": "amt", "title": "金额", "type": "amount", "unit": "万元"},
    ]
    payload = {"sections": [{"title": "一", "content": [
        "说明", {"table": {"title": "表", "label_title": "险种", "columns": columns, "rows": []}}]}]}  # fmt: skip
    response = await client.post(
        URL,
        data=form(
            csrf,
            kind="complaint-disclosure",
            target="$.sections[0].content[1]",
            payload=json.dumps(payload, ensure_ascii=False),
            file=("分布.xlsx", out.getvalue()),
        ),
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body == {
        "rows": [
            {"label": "寿险", "values": {"n": 3, "amt": 12.5}},
            {"label": "健康险", "values": {"n": 4, "amt": 1000}},
        ],
        "errors": [],
        "sheets": ["Sheet"],
    }


async def test_gb18030_csv_upload(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    data = "名称,件数\r\n北京,6\r\n合计,7\r\n".encode("gb18030")
    response = await client.post(URL, data=form(csrf, target=BREAKDOWN, file=("地区.csv", data)))
    body = await response.json()
    assert body["rows"] == [{"label": "北京", "count": 6}]
    assert [e["message"] for e in body["errors"]] == ["第3行「件数」：合计7与各行之和6不符"]


async def test_unreadable_requests_are_json_errors_in_chinese(
    client: TestClient[Any, Any],
) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"target": BREAKDOWN, "file": ("x.xlsx", bomb.getvalue())}, 413, "sheet_too_large", "压缩"),
        ({"target": BREAKDOWN, "file": ("old.xls", b"\xd0\xcf\x11\xe0....")}, 422,
         "sheet_unreadable", "另存为"),
        ({"target": BREAKDOWN, "file": ("t.xlsx", b"not a zip")}, 422, "sheet_unreadable", "不是"),
        ({"target": "$.figures.training", "text": "a\t1"}, 422, "import_invalid", "不是"),
        ({"target": BREAKDOWN, "kind": "nope", "text": "a\t1"}, 422, "import_invalid", "未知"),
        ({"target": BREAKDOWN, "text": "  "}, 422, "import_invalid", "请粘贴"),
        ({"target": "", "text": "a\t1"}, 422, "import_invalid", "target"),
        ({"target": "$.sections[0].content[0]", "columns": "[", "text": "a\t1"}, 422,
         "import_invalid", "columns"),
    ]  # fmt: skip
    for fields, status, code, words in cases:
        response = await client.post(URL, data=form(csrf, **fields))
        assert response.status == status, (fields, await response.text())
        assert response.content_type == "application/json"
        error = (await response.json())["error"]
        assert error["code"] == code and words in error["message"], (fields, error)


async def test_session_and_csrf_required(client: TestClient[Any, Any]) -> None:
    anonymous = await client.post(URL, data=form("x", target=BREAKDOWN, text="a\t1"))
    assert anonymous.status == 403
    assert (await anonymous.json())["error"]["code"] == "sign_in_required"
    csrf = await sign_in(client, KEY_XIAOKANG)
    forged = await client.post(URL, data=form("wrong", target=BREAKDOWN, text="a\t1"))
    assert forged.status == 403
    assert (await forged.json())["error"]["code"] == "csrf_failed"
    by_header = await client.post(
        URL, data={"target": BREAKDOWN, "text": "名称\t件数\na\t1"}, headers={"X-CSRF-Token": csrf}
    )
    assert by_header.status == 200
    assert (await by_header.json())["rows"] == [{"label": "a", "count": 1}]
