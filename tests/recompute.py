"""A reviewer's pencil: every share, total and rate a document prints, recomputed from its inputs.

Written apart from ``service`` on purpose (its own half-up rounding, its own reading of the
printed cells), so that a wrong figure cannot pass because the check shares the code that made
it. :func:`recomputation_errors` reads the document model alone (the counts as printed);
:func:`payload_errors` adds what only the payload knows (each breakdown printed with its
source's total, each closing rate in the prose).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from service.model import Document, Paragraph, Table
from service.style import load_house_style

COUNT_TITLE = "件数"
SHARE_TITLE = re.compile(r"^占比(（%）)?$")


def half_up(part: int, whole: int) -> Decimal:
    """``part / whole`` in percent, to two places, halves away from zero (as a reviewer rounds)."""
    if whole == 0:
        return Decimal("0.00")
    hundredths = (part * 10_000 * 2 + whole) // (2 * whole)
    return Decimal(f"{hundredths // 100}.{hundredths % 100:02d}")


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def printed_share(cell: str) -> Decimal:
    return Decimal(cell.rstrip("%"))


def recomputation_errors(document: Document) -> list[str]:
    """What a reviewer would object to in the document's share tables (empty when none); the
    rounding note expected is the one of the document's house style."""
    rounding_note = load_house_style(document.meta.house_style).table.rounding_note
    errors: list[str] = []
    for index, block in enumerate(document.blocks):
        if isinstance(block, Table):
            following = document.blocks[index + 1 : index + 2]
            note_follows = bool(following) and following[0] == Paragraph(rounding_note, "note")
            errors += _table_errors(block, note_follows, bool(rounding_note))
    return errors


def _table_errors(table: Table, note_follows: bool, notes_wanted: bool) -> list[str]:
    titles = [c.title for c in table.columns]
    shares = [i for i, t in enumerate(titles) if SHARE_TITLE.match(t)]
    if COUNT_TITLE not in titles or not shares:
        return []
    count_at, share_at = titles.index(COUNT_TITLE), shares[0]
    with_sign = titles[share_at] == "占比"
    (total_row,) = [r for r in table.rows if r.kind == "total"]
    total = number(total_row.cells[count_at])
    errors = []
    data = [r for r in table.rows if r.kind == "data"]
    if sum(number(r.cells[count_at]) for r in data) != total:
        errors.append(f"{table.caption}: 各行件数之和不等于合计{total}")
    for row in table.rows:
        expected = half_up(number(row.cells[count_at]), total)
        text = f"{expected}%" if with_sign else f"{expected}"
        if row.cells[share_at] != text:
            errors.append(f"{table.caption}: {row.cells[0]} 印为{row.cells[share_at]}，应为{text}")
    printed_sum = sum((printed_share(r.cells[share_at]) for r in data), Decimal(0))
    if total and printed_share(total_row.cells[share_at]) != Decimal("100.00"):
        errors.append(f"{table.caption}: 合计行占比不是100.00")
    adds_up = printed_sum == printed_share(total_row.cells[share_at])
    if notes_wanted and note_follows == adds_up:
        errors.append(
            f"{table.caption}: 占比之和{printed_sum}，"
            + ("却印有尾差说明" if adds_up else "表下缺尾差说明")
        )
    return errors


CLOSED_SENTENCE = re.compile(r"合计(\d+)件，其中已办结(\d+)件，办结率([0-9.]+)%")


def payload_errors(payload: dict[str, Any], document: Document) -> list[str]:
    """Each breakdown of the payload printed as a table with its source's total; every 办结率
    of the prose recomputed from the counts beside it."""
    errors = []
    tables = [(_data_rows(t), t) for t in document.tables]
    complaints = payload.get("figures", {}).get("complaints", {})
    for name in ("regulator", "direct"):
        source = complaints.get(name)
        for breakdown in (source or {}).get("breakdowns", []):
            rows = [(r["label"], r["count"]) for r in breakdown["rows"]]
            found = [t for data, t in tables if data == rows]
            if not found:
                errors.append(f"{name}: 分项{rows[:2]}…未印成表")
            for table in found:
                total_row = next(r for r in table.rows if r.kind == "total")
                if number(total_row.cells[1]) != source["total"]:
                    errors.append(f"{table.caption}: 合计不等于投诉总数{source['total']}")
    for paragraph in (b for b in document.blocks if isinstance(b, Paragraph)):
        for match in CLOSED_SENTENCE.finditer(paragraph.text):
            total, closed, rate = int(match[1]), int(match[2]), match[3]
            if Decimal(rate) != half_up(closed, total):
                errors.append(f"办结率{rate}%，应为{half_up(closed, total)}%")
    return errors


def _data_rows(table: Table) -> list[tuple[str, int]]:
    titles = [c.title for c in table.columns]
    if COUNT_TITLE not in titles:
        return []
    at = titles.index(COUNT_TITLE)
    return [(r.cells[0], number(r.cells[at])) for r in table.rows if r.kind == "data"]


def table_block_errors(payload: dict[str, Any], document: Document) -> list[str]:
    """Every share and change of every table block, recomputed from the values the payload gives
    (a ranking's 其他 row from its stated total), and every 合计 from the rows."""
    errors = []
    for spec in _table_specs(payload.get("sections", [])):
        (table,) = [t for t in document.tables if t.caption.split(" ", 1)[1] == spec["title"]]
        columns = spec["columns"]
        summed_keys = [c["key"] for c in columns if c["type"] in ("count", "amount")]
        listed = [r for r in spec["rows"] if r.get("summed", True)]
        sums = {k: sum(Decimal(str(r["values"][k])) for r in listed) for k in summed_keys}
        stated = (spec.get("total") or {}).get("values") or {}
        whole = {k: Decimal(str(stated.get(k, sums[k]))) for k in summed_keys}
        expected: list[tuple[str, dict[str, Any], bool]] = []
        for row in spec["rows"]:
            expected.append((row["label"], row["values"], row.get("summed", True)))
            expected += [("其中：" + s["label"], s["values"], True) for s in row.get("subrows", [])]
        if spec.get("other_label"):
            expected.append((spec["other_label"], {k: whole[k] - sums[k] for k in whole}, True))
        if spec.get("total"):
            expected.append((spec["total"].get("label", "合计"), whole, True))
        if [r.cells[0] for r in table.rows] != [e[0] for e in expected]:
            errors.append(f"{table.caption}: 行与报送数据不符")
            continue
        for row, (label, values, summed) in zip(table.rows, expected, strict=True):
            for at, column in enumerate(columns, start=1):
                text = _expected_cell(column, values, whole, summed)
                if text is not None and row.cells[at] != text:
                    errors.append(
                        f"{table.caption}: {label} {column['title']} "
                        f"印为{row.cells[at]}，应为{text}"
                    )
    return errors


def _expected_cell(
    column: dict[str, Any], values: dict[str, Any], whole: dict[str, Decimal], summed: bool
) -> str | None:
    if column["type"] == "share":
        if not summed:
            return "—"
        return f"{half_up(int(values[column['of']]), int(whole[column['of']]))}%"
    if column["type"] == "change":
        current, base = Decimal(str(values[column["of"]])), Decimal(str(values[column["base"]]))
        if base == 0:
            return "—"
        hundredths = (abs(current - base) * 10_000 * 2 + base) // (2 * base)
        sign = "-" if current < base and hundredths else ""
        return f"{sign}{hundredths // 100}.{int(hundredths % 100):02d}%"
    if column["type"] == "count" and column["key"] in whole:
        return f"{int(values[column['key']]):,}"
    return None


def _table_specs(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for section in sections:
        out += [
            b["table"] for b in section.get("content", []) if isinstance(b, dict) and "table" in b
        ]
        out += _table_specs(section.get("sections", []))
    return out
