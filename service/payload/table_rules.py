"""Rules of a table block that its schema cannot say: references between columns, one value of
the right kind for every given column of every row, 其中 rows that add up, a ranking's total, and
a total that names a disclosed figure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from service.errors import FieldError
from service.payload.schema import MAX_ROWS, TableRowSpec, TableSpec

GIVEN = {
    "text": "text",
    "count": "count",
    "amount": "number",
    "decimal": "number",
    "percent": "number",
}
"""Column types whose cells the payload gives, and the kind of value each takes."""
KIND_NAMES = {"text": "文字", "count": "非负整数", "number": "数字"}
SUMMED = ("count", "amount")
TOTAL_FIGURE_NAMES = {
    "complaints.total": "投诉总量",
    "complaints.regulator.total": "监管转办投诉件数",
    "complaints.direct.total": "公司自收投诉件数",
}


def table_errors(
    spec: TableSpec, path: str, figures: Mapping[str, int] | None
) -> Iterator[FieldError]:
    """Every problem of the table at ``path``; ``figures`` are the disclosed totals by name
    (``None`` where the figures did not parse, so the total is not checked against them)."""
    keys: dict[str, str] = {}
    for i, column in enumerate(spec.columns):
        if column.key in keys:
            yield FieldError(
                f"{path}.columns[{i}].key", "duplicate_column", f"列标识“{column.key}”重复"
            )
        keys[column.key] = column.type
    for i, column in enumerate(spec.columns):
        cpath = f"{path}.columns[{i}]"
        if column.type == "share" and keys.get(column.of) != "count":
            yield FieldError(
                f"{cpath}.of",
                "column_reference",
                f"占比列须引用件数列（type 为 count），“{column.of}”不是",
            )
        if column.type == "change":
            for field in ("of", "base"):
                key = getattr(column, field)
                if keys.get(key) not in ("count", "amount", "decimal"):
                    yield FieldError(
                        f"{cpath}.{field}",
                        "column_reference",
                        f"增减列须引用件数、金额或小数列，“{key}”不是",
                    )
    given = {key: GIVEN[kind] for key, kind in keys.items() if kind in GIVEN}
    lines = sum(1 + len(r.subrows) for r in spec.rows)
    if lines > MAX_ROWS:
        yield FieldError(f"{path}.rows", "limit_exceeded", f"表格共{lines}行，超过上限{MAX_ROWS}行")
    yield from duplicate_label_errors(spec.rows, f"{path}.rows")
    for j, row in enumerate(spec.rows):
        rpath = f"{path}.rows[{j}]"
        yield from _cell_errors(row.values, given, f"{rpath}.values", required=True)
        for k, sub in enumerate(row.subrows):
            yield from _cell_errors(sub.values, given, f"{rpath}.subrows[{k}].values", True)
        if (
            row.subrows
            and _cells_are_numbers(row.values, given)
            and all(_cells_are_numbers(s.values, given) for s in row.subrows)
        ):
            yield from _subrow_sums(row, given, rpath)
    yield from _total_errors(spec, given, path, figures)


def _cell_errors(
    values: Mapping[str, object], given: Mapping[str, str], path: str, required: bool
) -> Iterator[FieldError]:
    for key, value in values.items():
        kind = given.get(key)
        if kind is None:
            yield FieldError(
                f"{path}.{key}",
                "unknown_column",
                f"没有需要给定数值的列“{key}”；可给定的列有：{'、'.join(given) or '（无）'}",
            )
        elif not _is(kind, value):
            yield FieldError(f"{path}.{key}", "cell_type", f"“{key}”列须为{KIND_NAMES[kind]}")
    if required:
        for key in given:
            if key not in values:
                yield FieldError(f"{path}.{key}", "missing", f"缺少“{key}”列的数值")


def _is(kind: str, value: object) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _cells_are_numbers(values: Mapping[str, object], given: Mapping[str, str]) -> bool:
    return all(
        _is(given[key], values.get(key)) for key in given if given[key] != "text" and key in values
    )


def _number(value: object) -> Decimal:
    """A cell already checked to be a number (int or Decimal), for sums."""
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))


def _subrow_sums(row: TableRowSpec, given: Mapping[str, str], rpath: str) -> Iterator[FieldError]:
    for key, kind in given.items():
        if kind == "text" or key not in row.values:
            continue
        parts = sum((_number(s.values.get(key, 0)) for s in row.subrows), Decimal(0))
        whole = _number(row.values[key])
        if row.subrows_partial and parts > whole:
            yield FieldError(
                f"{rpath}.subrows",
                "subrow_sum_mismatch",
                f"“{row.label}”的其中各项“{key}”之和{parts}，大于该项{whole}",
            )
        elif not row.subrows_partial and parts != whole:
            yield FieldError(
                f"{rpath}.subrows",
                "subrow_sum_mismatch",
                f"“{row.label}”的其中各项“{key}”之和{parts}，与该项{whole}不符；"
                "只列出部分子项时请设 subrows_partial 为 true",
            )


def _total_errors(
    spec: TableSpec, given: Mapping[str, str], path: str, figures: Mapping[str, int] | None
) -> Iterator[FieldError]:
    total = spec.total
    summed = [c.key for c in spec.columns if c.type in SUMMED]
    if spec.other_label and not (total and total.values):
        yield FieldError(
            f"{path}.other_label",
            "ranking_without_total",
            "排名表须在 total.values 中给出合计，“其他”行由合计减去所列各行得出",
        )
    if total is None:
        return
    if total.values:
        yield from _cell_errors(
            total.values, {k: given[k] for k in summed}, f"{path}.total.values", required=True
        )
    counts = [c.key for c in spec.columns if c.type == "count"]
    if not all(_is(given[k], r.values.get(k)) for r in spec.rows for k in summed):
        return  # the cells are wrong already; sums of them would only repeat it
    sums = {
        k: sum((_number(r.values[k]) for r in spec.rows if r.summed), Decimal(0)) for k in summed
    }
    if total.values and all(_is(given[k], total.values.get(k)) for k in summed):
        for key in summed:
            stated = _number(total.values[key])
            if spec.other_label and sums[key] > stated:
                yield FieldError(
                    f"{path}.total.values.{key}",
                    "ranking_exceeds_total",
                    f"所列各行“{key}”之和{sums[key]}，已超过合计{stated}",
                )
            elif not spec.other_label and sums[key] != stated:
                yield FieldError(
                    f"{path}.total.values.{key}",
                    "table_total_mismatch",
                    f"各行“{key}”之和为{sums[key]}，与给定合计{stated}不符",
                )
        sums = {k: _number(total.values[k]) for k in summed}
    if total.figure is None or figures is None:
        return
    name = TOTAL_FIGURE_NAMES[total.figure]
    if not counts:
        yield FieldError(
            f"{path}.total.figure", "column_reference", f"合计须与{name}核对，但表中没有件数列"
        )
    elif total.figure not in figures:
        yield FieldError(
            f"{path}.total.figure",
            "table_without_figures",
            f"合计须与{name}核对，但 figures 中未提供{name}",
        )
    elif sums[counts[0]] != figures[total.figure]:
        yield FieldError(
            f"{path}.total",
            "table_total_mismatch",
            f"表中合计{sums[counts[0]]}件，与{name}{figures[total.figure]}件不符",
        )


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def subrows(self) -> Sequence[Any]: ...


def duplicate_label_errors(rows: Sequence[_Labelled], path: str) -> Iterator[FieldError]:
    """A row label given twice in one table, and a 其中 label given twice under one row: the
    rule for breakdowns and table blocks alike (``path`` is the rows' path)."""
    labels: set[str] = set()
    for j, row in enumerate(rows):
        if row.label in labels:
            yield FieldError(f"{path}[{j}].label", "duplicate_row_label", f"项目“{row.label}”重复")
        labels.add(row.label)
        sub_labels: set[str] = set()
        for k, sub in enumerate(row.subrows):
            if sub.label in sub_labels:
                yield FieldError(
                    f"{path}[{j}].subrows[{k}].label",
                    "duplicate_row_label",
                    f"“{row.label}”的其中项“{sub.label}”重复",
                )
            sub_labels.add(sub.label)
