"""``POST /console/tables/import``: cells pasted from a spreadsheet, or an uploaded ``.xlsx`` or
``.csv``, as rows of one table or breakdown of the payload the form is making (JSON for the
form's script; nothing is stored).

The form fields: ``kind`` (the payload's kind), ``target`` (the JSON path of the table or
breakdown), ``text`` (the cells pasted) or ``file`` (a workbook or CSV) with ``sheet`` (a
workbook's sheet, else its first), and for a table block ``columns`` (its columns, JSON) or
``payload`` (the payload so far, JSON, where the columns are read at ``target``); ``csrf`` (or
the ``X-CSRF-Token`` header). The answer: ``{"rows": […], "errors": [{"row", "column", "path",
"message"}]}`` (200, errors and all: a bad cell is for the form to show at its cell), with
``total`` for a ranking's 合计, and ``sheets`` (the workbook's sheets); a request that cannot be
read at all is a 4xx with ``{"error": …}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from service.api.state import SETTINGS
from service.console.forms import FORM_OVERHEAD_BYTES, Form, read_form
from service.console.replies import check_json_csrf, json_endpoint, json_reply, json_session
from service.console.spreadsheet import (
    MAX_SHEET_BYTES,
    Line,
    SheetUnreadable,
    lines_from_csv,
    lines_from_text,
    lines_from_xlsx,
)
from service.console.table_import import TargetInvalid, import_rows, target_of
from service.errors import PiluError
from service.kinds.registry import DEFAULT_KIND, KINDS

_OLE = b"\xd0\xcf\x11\xe0"


class ImportInvalid(PiluError):
    """An import request without what it needs (a kind, a target, cells), or with a target that
    cannot take rows."""

    status = 422
    code = "import_invalid"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/console/tables/import", import_table, name="console.table_import")


@json_endpoint
async def import_table(request: web.Request) -> web.Response:
    session = json_session(request)
    limit = MAX_SHEET_BYTES + request.app[SETTINGS].max_body_bytes + FORM_OVERHEAD_BYTES
    form = await read_form(request, limit)
    check_json_csrf(request, session, form)
    kind_name = form.get("kind") or DEFAULT_KIND
    if kind_name not in KINDS:
        raise ImportInvalid(f"未知的报告类型“{kind_name}”", details={"field": "kind"})
    path = form.get("target").strip()
    if not path:
        raise ImportInvalid("缺少导入位置（target）：要导入的表格或分布表的JSON路径")
    try:
        target = target_of(
            KINDS[kind_name],
            path,
            payload=_json_field(form, "payload", "报送数据"),
            columns=_json_field(form, "columns", "列定义"),
        )
    except TargetInvalid as exc:
        raise ImportInvalid(exc.message, details={"field": "target", "target": path}) from exc
    # reading a workbook takes up to a second or so: off the event loop
    lines, sheets = await asyncio.to_thread(_lines, form)
    result = import_rows(target, lines).as_dict()
    if sheets is not None:
        result["sheets"] = sheets
    return json_reply(result)


def _json_field(form: Form, name: str, words: str) -> Any:
    text = form.get(name).strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ImportInvalid(f"{words}（{name}）不是有效的JSON", details={"field": name}) from exc


def _lines(form: Form) -> tuple[list[Line], list[str] | None]:
    """The lines of the uploaded file (preferred) or of the pasted text; a workbook's sheets."""
    upload = form.file("file")
    if upload is None:
        text = form.get("text")
        if not text.strip():
            raise ImportInvalid("请粘贴从 Excel 或 WPS 复制的单元格，或选择 .xlsx / .csv 文件")
        return lines_from_text(text), None
    name = upload.filename.lower()
    data = upload.data
    if name.endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return lines_from_xlsx(data, form.get("sheet") or None)
    if name.endswith((".xls", ".et")) or data.startswith(_OLE):
        raise SheetUnreadable("不支持 .xls 等旧格式，请在 Excel 或 WPS 中另存为 .xlsx 或 .csv")
    return lines_from_csv(data), None
