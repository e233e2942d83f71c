"""The tables of a read DOCX: which table of the base version each is (its cells' marks), a
payload table block or a breakdown rebuilt from its caption, columns and given cells, and the
comparison of a read table with the table the model prints, cell by cell, each difference at
its place (``表N 标题 第r行（名称）“列”列``).

Given cells are read as their column's type says (counts and amounts without thousands
separators, percents without ``%``); a value printing as the base printed it keeps the base's
value (a decimal column's places, a JSON number). Computed cells (shares, changes, the 合计 and
其他 rows) are never read, only compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from service.errors import FieldError
from service.model import Document, Table
from service.readback.document import ReadCell, ReadTable
from service.readback.reading import Reading
from service.report.table_block import NO_VALUE, SUB_ROW_PREFIX


def base_number(table: ReadTable) -> int | None:
    """The number the table had in the version it was downloaded as, from its cells' marks."""
    for row in table.rows:
        for cell in row:
            for span in cell.spans:
                parts = span.name.split(":")
                if parts[0] == "table" and len(parts) == 4:
                    return int(parts[1])
    return None


def base_specs(base_raw: dict[str, Any], base_doc: Document) -> dict[int, dict[str, Any]]:
    """The payload's table blocks (as its JSON has them) by the number their table had in
    ``base_doc``, in the order :func:`service.payload.rules.table_specs` finds them."""
    numbers = [t.number for t in base_doc.tables if not t.origin]
    return dict(zip(numbers, _raw_specs(base_raw.get("sections", [])), strict=False))


def _raw_specs(sections: list[Any]) -> Iterator[dict[str, Any]]:
    for section in sections:
        for block in section.get("content", []):
            if isinstance(block, dict) and "table" in block:
                yield block["table"]
        yield from _raw_specs(section.get("sections", []))


def caption_title(table: ReadTable) -> str:
    assert table.caption is not None
    return re.sub(r"^表\s*\d+\s*", "", table.caption.text).strip()


def _row_kind(label: str) -> str:
    if label.startswith(SUB_ROW_PREFIX) or label.startswith("其中:"):
        return "sub"
    if label in ("合计", "总计"):
        return "total"
    return "data"


def _sub_label(label: str) -> str:
    return label.removeprefix(SUB_ROW_PREFIX).removeprefix("其中:").strip()


def breakdown_rows(out: Reading, table: ReadTable) -> list[dict[str, Any]] | None:
    if any(len(row) != 3 for row in table.rows):
        out.problem(
            table.place, "docx_table_shape", "分布表须为3列（名称、件数、占比），列数已被改动"
        )
        return None
    rows: list[dict[str, Any]] = []
    for r, row in enumerate(table.rows[1:], start=1):
        label = row[0].text.strip()
        kind = _row_kind(label)
        if kind == "total":
            continue
        count = _count(out, table, r, row, 1)
        if count is None:
            continue
        if kind == "sub":
            if not rows:
                out.problem(
                    cell_place(table, r, row, 0), "docx_table_shape", "“其中”行之前没有所属的行"
                )
                continue
            rows[-1].setdefault("subrows", []).append({"label": _sub_label(label), "count": count})
        else:
            rows.append({"label": label, "count": count})
    return rows


def _count(out: Reading, table: ReadTable, r: int, row: list[ReadCell], c: int) -> int | None:
    text = row[c].text.strip().replace(",", "").replace("，", "")
    if not re.fullmatch(r"\d+", text):
        out.problem(
            cell_place(table, r, row, c),
            "docx_cell_unreadable",
            f"“{row[c].text}”不是件数（非负整数）",
        )
        return None
    return int(text)


def cell_place(table: ReadTable, r: int, row: list[ReadCell], c: int) -> str:
    caption = table.caption.text if table.caption is not None else table.place
    head = table.rows[0][c].text if table.rows and c < len(table.rows[0]) else f"第{c + 1}列"
    return f"{caption} 第{r}行（{row[0].text if row else ''}）“{head}”列"


_GIVEN = {"text", "count", "amount", "decimal", "percent"}


def table_spec(
    out: Reading, table: ReadTable, spec: dict[str, Any], base_table: Table
) -> dict[str, Any] | None:
    """A payload table block as the document now has it: its title, column titles, rows and
    given cells; computed cells (shares, changes, the 合计 and 其他 rows) are left to the check."""
    columns: list[dict[str, Any]] = spec["columns"]
    width = 1 + len(columns)
    if not table.rows or any(len(row) != width for row in table.rows):
        out.problem(
            table.place,
            "docx_table_shape",
            f"统计表“{caption_title(table)}”须为{width}列，列数已被改动，无法按列读回",
        )
        return None
    spec["title"] = caption_title(table) or spec["title"]
    heads = [cell.text.strip() for cell in table.rows[0]]
    spec["label_title"] = heads[0] or spec["label_title"]
    for column, head in zip(columns, heads[1:], strict=True):
        unit = column.get("unit")
        suffix = f"（{unit}）" if unit else ""
        if head != header_of(column):
            column["title"] = head.removesuffix(suffix) if suffix else head
    base_rows = {row["label"]: row for row in spec["rows"]}
    other = spec.get("other_label")
    rows: list[dict[str, Any]] = []
    for r, row in enumerate(table.rows[1:], start=1):
        label = row[0].text.strip()
        kind = _row_kind(label)
        if kind == "total" and spec.get("total"):
            total_values = spec["total"].get("values")
            if total_values:
                spec["total"]["values"] = _values(out, table, r, row, columns, total_values)
            continue
        if other and label == other:
            continue
        if kind == "sub":
            if not rows:
                out.problem(
                    cell_place(table, r, row, 0), "docx_table_shape", "“其中”行之前没有所属的行"
                )
                continue
            sub_label = _sub_label(label)
            olds = {s["label"]: s for s in base_rows.get(rows[-1]["label"], {}).get("subrows", [])}
            values = _values(out, table, r, row, columns, olds.get(sub_label, {}).get("values", {}))
            rows[-1].setdefault("subrows", []).append({"label": sub_label, "values": values})
            continue
        old = base_rows.get(label, {})
        new = {k: v for k, v in old.items() if k not in ("label", "values", "subrows")}
        new["label"] = label
        new["values"] = _values(out, table, r, row, columns, old.get("values", {}))
        rows.append(new)
    spec["rows"] = rows
    return spec


def header_of(column: dict[str, Any]) -> str:
    """A column's printed title, as :func:`service.report.table_block.header` prints the
    parsed column, from the payload's JSON."""
    unit = column.get("unit")
    return f"{column['title']}（{unit}）" if unit else str(column["title"])


def _values(
    out: Reading,
    table: ReadTable,
    r: int,
    row: list[ReadCell],
    columns: list[dict[str, Any]],
    old: dict[str, Any],
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for c, column in enumerate(columns, start=1):
        kind = column["type"]
        if kind not in _GIVEN:
            continue
        text = row[c].text.strip()
        if text == NO_VALUE and column["key"] not in old:
            continue
        value = _cell_value(kind, text)
        if value is None:
            out.problem(
                cell_place(table, r, row, c), "docx_cell_unreadable", f"“{text}”不是该列的数值"
            )
            continue
        previous = old.get(column["key"])
        if previous is not None and _same(previous, value, column.get("places")):
            value = previous  # as the payload wrote it (a decimal's places, a JSON number)
        values[column["key"]] = value
    return values


def _cell_value(kind: str, text: str) -> Any:
    if kind == "text":
        return text
    cleaned = text.replace(",", "").replace("，", "")
    if kind == "percent":
        cleaned = cleaned.removesuffix("%")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    if kind == "count":
        return int(number) if number == number.to_integral_value() and number >= 0 else None
    return number


def _same(previous: Any, value: Any, places: int | None) -> bool:
    """Whether ``previous`` prints as ``value`` (a decimal column rounds to its places)."""
    try:
        old = Decimal(str(previous))
        if places is not None:
            old = old.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        return old == Decimal(str(value))
    except InvalidOperation:
        return str(previous) == str(value)


def table_problems(read: ReadTable, model: Table, caption: bool = True) -> Iterator[FieldError]:
    if caption and read.caption is not None and read.caption.text != model.caption:
        yield FieldError(
            read.caption.quote(),
            "docx_caption",
            f"表题按数据应为“{model.caption}”（表号由系统编排）",
        )
    rows = [[c.title for c in model.columns], *(list(r.cells) for r in model.rows)]
    if len(rows) != len(read.rows):
        yield FieldError(
            read.place,
            "docx_table_rows",
            f"“{model.caption}”有{len(read.rows) - 1}行，按数据应为{len(rows) - 1}行"
            "（“其他”“合计”行由系统计算）",
        )
        return
    for r, (want, have) in enumerate(zip(rows, read.rows, strict=True)):
        for c, (w, h) in enumerate(zip(want, have, strict=False)):
            if w != h.text.strip():
                place = cell_place(read, r, have, c) if r else f"{model.caption} 表头第{c + 1}列"
                yield FieldError(
                    place,
                    "docx_cell_mismatch",
                    f"文档为“{h.text}”，按数据应为“{w}”（占比、增减、其他、合计由系统计算，须随件数一起改）",
                )
