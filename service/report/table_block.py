"""A table block of the payload -> a numbered table of the document model and its notes.

Given cells print as their column says (counts grouped, amounts as given, decimals rounded half
up to their places, percents as given); computed cells are each computed on their own: a share
is the row's count over the 合计 row's, rounded half up (so a reviewer can recompute it), a change
is (current − base) ÷ base. The 合计 row sums the rows that are summed (not a 行业中位数 row); a
ranking gives its total, and what the listed rows leave of it prints as the 其他 row. Where the
printed shares of a column miss 100.00%, the house style's rounding note precedes the table's
own notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from service.model import Paragraph, Table, TableColumn, TableRow
from service.model.figures import grouped, percent, plain_decimal, share, share_text
from service.payload.schema import TableColumnSpec, TableSpec

SUMMED_TYPES = frozenset({"count", "amount"})
GIVEN_TYPES = frozenset({"text", "count", "amount", "decimal", "percent"})
NO_VALUE = "—"
SUB_ROW_PREFIX = "其中："

Values = Mapping[str, int | Decimal | str]


def header(column: TableColumnSpec) -> str:
    unit = getattr(column, "unit", None)
    return f"{column.title}（{unit}）" if unit else column.title


def totals(spec: TableSpec) -> dict[str, int | Decimal]:
    """The 合计 of every summed column: given (a ranking) or the sum of the summed rows."""
    given = spec.total.values if spec.total and spec.total.values else {}
    out: dict[str, int | Decimal] = {}
    for column in spec.columns:
        if column.type in SUMMED_TYPES:
            value = given.get(column.key)
            if value is None:
                value = sum((_number(r.values[column.key]) for r in spec.rows if r.summed), 0)
            out[column.key] = _number(value)
    return out


def other_values(spec: TableSpec) -> dict[str, int | Decimal]:
    """The 其他 row of a ranking: the total less the listed rows, per summed column."""
    whole = totals(spec)
    return {
        key: whole[key] - sum((_number(r.values[key]) for r in spec.rows if r.summed), 0)
        for key in whole
    }


def table_blocks(number: int, spec: TableSpec, rounding_note: str) -> list[Table | Paragraph]:
    whole = totals(spec)
    rows: list[TableRow] = []
    summed_values: list[Values] = []
    for row in spec.rows:
        rows.append(TableRow(_cells(spec, row.label, row.values, whole, row.summed)))
        if row.summed:
            summed_values.append(row.values)
        for sub in row.subrows:
            label = f"{SUB_ROW_PREFIX}{sub.label}"
            rows.append(TableRow(_cells(spec, label, sub.values, whole, True), kind="sub"))
    if spec.other_label:
        other = other_values(spec)
        rows.append(TableRow(_cells(spec, spec.other_label, other, whole, True)))
        summed_values.append(other)
    if spec.total:
        rows.append(TableRow(_cells(spec, spec.total.label, whole, whole, True), kind="total"))
    columns = (TableColumn(spec.label_title, "left"),) + tuple(
        TableColumn(header(c), "left" if c.type == "text" else "right") for c in spec.columns
    )
    blocks: list[Table | Paragraph] = [
        Table(number, f"表{number} {spec.title}", columns, tuple(rows))
    ]
    if rounding_note and spec.total and not _shares_add_up(spec, summed_values, whole):
        blocks.append(Paragraph(rounding_note, role="note"))
    blocks += [Paragraph(note, role="note") for note in spec.notes]
    return blocks


def _shares_add_up(spec: TableSpec, rows: list[Values], whole: Mapping[str, int | Decimal]) -> bool:
    for column in spec.columns:
        if column.type == "share":
            total = int(whole[column.of])
            printed = sum((share(int(r[column.of]), total) for r in rows), Decimal(0))
            if printed != share(total, total):
                return False
    return True


def _cells(
    spec: TableSpec,
    label: str,
    values: Values,
    whole: Mapping[str, int | Decimal],
    summed: bool,
) -> tuple[str, ...]:
    cells = [label]
    for column in spec.columns:
        value = values.get(column.key)
        if column.type == "share":
            cells.append(
                share_text(share(int(values[column.of]), int(whole[column.of])))
                if summed and column.of in values
                else NO_VALUE
            )
        elif column.type == "change":
            cells.append(_change(values.get(column.of), values.get(column.base)))
        elif value is None:
            cells.append(NO_VALUE)
        elif column.type == "text":
            cells.append(str(value))
        elif column.type == "count":
            cells.append(grouped(int(value)))
        elif column.type == "amount":
            cells.append(_grouped_decimal(_number(value)))
        elif column.type == "decimal":
            places = Decimal(1).scaleb(-column.places)
            cells.append(plain_decimal(Decimal(_number(value)).quantize(places, ROUND_HALF_UP)))
        else:  # percent, as given
            cells.append(percent(_number(value)))
    return tuple(cells)


def change(current: int | Decimal, base: int | Decimal) -> Decimal | None:
    """(current − base) ÷ base in percent, rounded half up to two places; none from a zero base."""
    if base == 0:
        return None
    return (Decimal(current - base) * 100 / Decimal(base)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _change(current: object, base: object) -> str:
    if current is None or base is None:
        return NO_VALUE
    value = change(_number(current), _number(base))
    return NO_VALUE if value is None else share_text(abs(value) if value == 0 else value)


def _number(value: object) -> int | Decimal:
    if isinstance(value, int):
        return value
    return Decimal(str(value))


def _grouped_decimal(value: int | Decimal) -> str:
    text = plain_decimal(value)
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}{dot}{fraction}"
