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
