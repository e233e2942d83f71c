"""Next year's draft from a stored payload, and its 同比 against last year's stored figures.

:func:`next_year` makes the draft: the narrative carried over as written (intro, sections,
paragraphs, inserts, table blocks' titles, columns and row labels), the period advanced by a year
(a half-year or a quarter: the same one of the next year; a year named in the title with it),
the publish date cleared, and every figure emptied (the numbers under ``figures`` and the given
cells of table blocks), each listed with last year's value by its JSON path. A table's 上期
column (the ``base`` of a 增减 column) is filled with last year's 本期, which is what it is.

:func:`year_on_year` is for a payload made from a base document: a 同比 the kind names
(:attr:`service.kinds.Kind.year_on_year`) left out is computed from last year's figure as the
report computes 增减 (:func:`service.report.table_block.change`), one given is checked against
it (rounded to the places it is given in); a table's 上期 cells are checked against last year's
本期 of the row with the same label in the table with the same title. A base that is not the
same kind and period of the year before is refused with one error, nothing computed.

What it cannot: years written in paragraphs are left as they are (a sentence may speak of any
year); a figure computed from others (审查合计) is not listed, its parts are; a 同比 whose
last-year figure is zero or missing is neither computed nor checked; a submission letter has no
next year (it is written for one occasion).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeGuard

from service.errors import FieldError, PiluError
from service.kinds import Kind, kind_of
from service.payload.schema import MAX_REPORT_YEAR
from service.report.table_block import change


class NoNextYear(PiluError):
    """A stored payload that cannot be carried to next year (a letter, the last year allowed)."""

    status = 422
    code = "no_next_year"


@dataclass(frozen=True, slots=True)
class Draft:
    payload: dict[str, Any]
    """Next year's payload, not valid until its figures and publish date are filled in."""
    previous: dict[str, Any]
    """Last year's value of every emptied figure, by its JSON path in ``payload``."""


def _is_number(value: object) -> TypeGuard[int | Decimal | float]:
    return isinstance(value, int | Decimal | float) and not isinstance(value, bool)


def _decimal(value: int | Decimal | float) -> Decimal:
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def next_year(stored: dict[str, Any]) -> Draft:
    """Next year's draft of ``stored`` (a payload as decoded, untouched)."""
    kind = kind_of(stored)
    if not kind.narrative:
        raise NoNextYear(f"{kind.label}不能从上年文档生成草稿")
    payload = copy.deepcopy(stored)
    year = payload.get("report_year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise NoNextYear("存档的报送数据没有报告年度（report_year），无法推算下一年")
    if year + 1 > MAX_REPORT_YEAR:
        raise NoNextYear(f"报告年度最晚为{MAX_REPORT_YEAR}年")
    payload["report_year"] = year + 1
    payload.pop("publish_date", None)
    title = payload.get("title")
    if isinstance(title, str):
        payload["title"] = re.sub(rf"(?<!\d){year}(?=年)", str(year + 1), title)
    previous: dict[str, Any] = {}
    if isinstance(payload.get("figures"), dict):
        _empty(payload["figures"], "$.figures", previous)
    for path, table in tables(payload):
        _empty_table(table, path, previous)
    return Draft(payload, previous)


def _empty(node: Any, path: str, previous: dict[str, Any]) -> None:
    """Every number below ``node`` taken out and listed in ``previous``."""
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if _is_number(value):
                previous[f"{path}.{key}"] = node.pop(key)
            else:
                _empty(value, f"{path}.{key}", previous)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _empty(item, f"{path}[{i}]", previous)


def tables(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every table block's table in the sections, with its JSON path."""
    yield from _tables(payload.get("sections"), "$.sections")


def _tables(sections: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(sections, list):
        return
    for i, section in enumerate(sections):
        if not isinstance(section, dict):
            continue
        content = section.get("content")
        for j, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict) and isinstance(block.get("table"), dict):
                yield f"{path}[{i}].content[{j}].table", block["table"]
        yield from _tables(section.get("sections"), f"{path}[{i}].sections")


def _changes(table: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's 增减 columns as (本期 key, 上期 key)."""
    columns = table.get("columns")
    return [
        (c["of"], c["base"])
        for c in (columns if isinstance(columns, list) else [])
        if isinstance(c, dict) and c.get("type") == "change" and "of" in c and "base" in c
    ]


Key = tuple[str, ...]
"""A row's place in a table by its labels: ``(label,)``, ``(label, 其中 label)``, ``()`` for the
total; a row keeps it when rows are added, removed or moved."""


def _rows(table: dict[str, Any], path: str) -> Iterator[tuple[str, Key, dict[str, Any]]]:
    """Every row and 其中 row of a table, and its total if it gives values, with path and key."""
    rows = table.get("rows")
    for j, row in enumerate(rows if isinstance(rows, list) else []):
        if not isinstance(row, dict):
            continue
        label = str(row.get("label"))
        yield f"{path}.rows[{j}]", (label,), row
        subrows = row.get("subrows")
        for k, sub in enumerate(subrows if isinstance(subrows, list) else []):
            if isinstance(sub, dict):
                yield f"{path}.rows[{j}].subrows[{k}]", (label, str(sub.get("label"))), sub
    total = table.get("total")
    if isinstance(total, dict) and isinstance(total.get("values"), dict):
        yield f"{path}.total", (), total


def _empty_table(table: dict[str, Any], path: str, previous: dict[str, Any]) -> None:
    changes = _changes(table)
    for row_path, _, row in _rows(table, path):
        values = row.get("values")
        if not isinstance(values, dict):
            continue
        last = dict(values)
        for key in list(values):
            if _is_number(values[key]):
                previous[f"{row_path}.values.{key}"] = values.pop(key)
        for of, base in changes:
            previous.pop(f"{row_path}.values.{base}", None)
            if _is_number(last.get(of)):
                values[base] = last[of]


# --- 同比 ---------------------------------------------------------------------------------------


def year_on_year(
    payload: dict[str, Any], base: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """``payload`` with each 同比 it leaves out computed from ``base`` (last year's stored
    payload), and an error for each 同比 or 上期 it gives that ``base`` contradicts."""
    kind = kind_of(payload)
    out = copy.deepcopy(payload)
    mismatch = _period_mismatch(payload, base)
    if mismatch is not None:
        return out, [mismatch]
    errors: list[FieldError] = []
    for yoy, of in kind.year_on_year:
        errors += _figure_yoy(kind, out, base, yoy, of)
    last_tables = {t.get("title"): t for _, t in tables(base)}
    for path, table in tables(out):
        last = last_tables.get(table.get("title"))
        if last is not None:
            errors += _table_bases(table, last, path)
    return out, errors


def _period_mismatch(payload: dict[str, Any], base: dict[str, Any]) -> FieldError | None:
    """An error unless ``base`` is the same kind and period of the year before ``payload``'s."""
    year, last = payload.get("report_year"), base.get("report_year")
    same = (
        isinstance(year, int)
        and isinstance(last, int)
        and year == last + 1
        and kind_of(base) is kind_of(payload)
        and payload.get("period") == base.get("period")
    )
    if same:
        return None
    return FieldError(
        "$.report_year",
        "base_period_mismatch",
        f"所依据的存档文档（{last}年度）不是本文档上一年的同期文档，无法据以计算或核对同比",
    )


def _source(kind: Kind, name: str) -> list[str]:
    return kind.figure(name).source.split(".")


def _get(node: Any, keys: list[str]) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _figure_yoy(
    kind: Kind, payload: dict[str, Any], base: dict[str, Any], yoy: str, of: str
) -> Iterator[FieldError]:
    keys = _source(kind, of)
    current, last = _get(payload, keys), _get(base, keys)
    if not (_is_number(current) and _is_number(last)) or last == 0:
        return
    computed = change(_decimal(current), _decimal(last))
    assert computed is not None  # the base is not zero
    yoy_keys = _source(kind, yoy)
    parent = _get(payload, yoy_keys[:-1])
    given = parent.get(yoy_keys[-1]) if isinstance(parent, dict) else None
    if given is None:
        if isinstance(parent, dict):
            parent[yoy_keys[-1]] = computed
        return
    if not _is_number(given):
        return  # the schema names it
    stated = _decimal(given)
    exponent = stated.as_tuple().exponent
    places = Decimal(1).scaleb(max(exponent, -2) if isinstance(exponent, int) else 0)
    if stated.quantize(places, ROUND_HALF_UP) != computed.quantize(places, ROUND_HALF_UP):
        figure, compared = kind.figure(yoy), kind.figure(of)
        yield FieldError(
            "$." + ".".join(yoy_keys),
            "yoy_mismatch",
            f"{figure.label}为{stated}%，与上年存档数据不符：上年{compared.label}{last}、"
            f"本年{current}，同比应为{computed}%",
        )


def _table_bases(table: dict[str, Any], last: dict[str, Any], path: str) -> Iterator[FieldError]:
    changes = _changes(table)
    if not changes:
        return
    columns = table.get("columns")
    titles = {
        c.get("key"): c.get("title")
        for c in (columns if isinstance(columns, list) else [])
        if isinstance(c, dict)
    }
    last_rows = {key: row.get("values") for _, key, row in _rows(last, "$")}
    for row_path, key, row in _rows(table, path):
        values, last_values = row.get("values"), last_rows.get(key)
        if not isinstance(values, dict) or not isinstance(last_values, dict):
            continue
        for of, base in changes:
            was = last_values.get(of)
            if not _is_number(was):
                continue
            if base not in values:
                values[base] = was
            elif _is_number(values[base]) and _decimal(values[base]) != _decimal(was):
                label = "、".join(key) or "合计"
                yield FieldError(
                    f"{row_path}.values.{base}",
                    "base_mismatch",
                    f"“{label}”的{titles.get(base) or base}为{values[base]}，"
                    f"与上年存档的{titles.get(of) or of}{was}不符",
                )
