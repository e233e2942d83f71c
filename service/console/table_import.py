"""Lines of a spreadsheet (:mod:`service.console.spreadsheet`) → rows of one table or breakdown
of a payload, in the payload's shape, with every bad cell named by its row and column.

The target is a JSON path into a payload of a kind, found in the kind's model: a breakdown
(``$.figures.complaints.direct.breakdowns[0]``: a label and 件数 per row) or a table block
(``$.sections[0].content[2]``: its declared columns). The first line is the header, matched to
the columns by title (or key; a unit in brackets after the title is allowed); without one (the
first line already has a number where a value goes) the cells are taken in the table's order.
A line whose label starts with 其中 or is indented is a 其中 row of the row above; a 合计 or 总计
line is checked against the rows rather than imported (a ranking's: the rows may not exceed it,
and it is returned as ``total``); the computed columns (占比, 增减) are left for the report to
compute, and a ranking's 其他 line likewise.

What it cannot: it does not apply the table rules (their sums of 其中 rows, a total named by a
figure): the form's check of the whole payload does, as for any payload. A number is returned
as a JSON number, which keeps at most 15 significant digits (more is refused).
"""

from __future__ import annotations

import re
import types
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from service.console.spreadsheet import Line
from service.kinds import Kind
from service.payload.schema import (
    MAX_ROWS,
    Breakdown,
    TableBlock,
    TableColumnSpec,
    TableSpec,
)
from service.report.tables import COUNT_AND_SHARE, DIMENSION_NAMES

MAX_COUNT = 100_000_000
"""The largest count a payload takes (:data:`service.payload.schema.Count`)."""
MAX_DIGITS = 15
LABEL_NAMES = ("名称", "项目", "项目名称", "类别", "分类")
"""Header names that mark the label column in any table, besides the table's own label title."""
TOTAL_LABELS = ("合计", "总计", "总数", "合计数")
_SUBROW = re.compile(r"^其中\s*[:：、]?\s*")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d{1,4})\]")
_UNIT = re.compile(r"[（(][^（）()]*[）)]$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?%?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_COLUMNS = TypeAdapter(list[TableColumnSpec])
_COUNT_UNIT = re.compile(r"(?<=\d)\s*(件|人次|次|人|个|张|家)$")
"""A unit written after a count (12件); 万 and 亿 are not units but multipliers, and refused."""


class TargetInvalid(Exception):
    """The target cannot take rows: not a table or breakdown of the kind, or columns that do
    not parse; ``message`` says which in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    type: str
    """``text``, ``count``, ``amount``, ``decimal``, ``percent`` (given), ``share`` or ``change``
    (computed, not imported)."""

    @property
    def given(self) -> bool:
        return self.type not in ("share", "change")


@dataclass(frozen=True, slots=True)
class Target:
    """Where the rows go and what each holds."""

    path: str
    breakdown: bool
    """A breakdown's row is ``{"label", "count", "subrows"}``, a table block's
    ``{"label", "values": {key: …}, "subrows"}``."""
    label_title: str
    columns: tuple[Column, ...]
    other_label: str | None = None
    """A ranking's 其他 line (computed from its total)."""

    @property
    def given(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.given)


@dataclass(frozen=True, slots=True)
class CellError:
    row: int
    """The sheet's row number."""
    column: str
    """The column's title as the sheet names it (or the label column's)."""
    path: str
    """Where in the payload the value would go (the target's path for a line not imported)."""
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "path": self.path, "message": self.message}


@dataclass(slots=True)
class Imported:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    total: dict[str, Any] | None = None
    """A ranking's 合计 line as ``total.values``; ``None`` otherwise."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "errors": [e.as_dict() for e in self.errors]}
        if self.total is not None:
            out["total"] = self.total
        return out


# --- the target ---------------------------------------------------------------------------------


def target_of(
    kind: Kind,
    path: str,
    *,
    payload: Mapping[str, Any] | None = None,
    columns: Sequence[Any] | None = None,
) -> Target:
    """The table or breakdown at ``path`` in a payload of ``kind``. A table block's columns are
    ``columns`` if given, else read from ``payload`` at ``path``; a breakdown's dimension (for
    the label column's name) is read from ``payload`` where it has one."""
    shapes = shapes_at(kind.model, path)
    found = _at(payload, path) if payload is not None else None
    if Breakdown in shapes:
        dimension = found.get("dimension") if isinstance(found, dict) else None
        return Target(
            path=path,
            breakdown=True,
            label_title=DIMENSION_NAMES.get(str(dimension), "名称"),
            columns=_columns(COUNT_AND_SHARE),
        )
    if TableBlock in shapes or TableSpec in shapes:
        table = (
            found.get("table", found) if TableBlock in shapes and isinstance(found, dict) else found
        )
        table = table if isinstance(table, dict) else {}
        given = columns if columns is not None else table.get("columns")
        if not given:
            raise TargetInvalid(f"“{path}”处的统计表尚未定义列（columns），请先定义列再导入")
        try:
            specs = _COLUMNS.validate_python(given)
        except ValidationError as exc:
            raise TargetInvalid(
                f"统计表的列定义有误：{exc.error_count()}处问题，请先改正列定义"
            ) from exc
        other = table.get("other_label")
        return Target(
            path=path + ".table" if TableBlock in shapes else path,
            breakdown=False,
            label_title=str(table.get("label_title") or "名称"),
            columns=_columns(specs),
            other_label=other if isinstance(other, str) and other.strip() else None,
        )
    raise TargetInvalid(f"“{path}”不是{kind.label}中的统计表或分布表")


def _columns(specs: Sequence[Any]) -> tuple[Column, ...]:
    return tuple(Column(c.key, c.title, c.type) for c in specs)


def shapes_at(model: type[BaseModel], path: str) -> list[Any]:
    """What the field at JSON path ``path`` may hold in ``model`` (every member of a union);
    ``[]`` for a path the model does not have."""
    if not path.startswith("$"):
        return []
    rest = path[1:]
    steps: list[str | int] = []
    while rest:
        match = _STEP.match(rest)
        if match is None:
            return []
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        rest = rest[match.end() :]
    shapes: list[Any] = [model]
    for step in steps:
        shapes = [s for shape in shapes for s in _step(shape, step)]
    return shapes


def _members(annotation: Any) -> Iterator[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _members(get_args(annotation)[0])
    elif origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            yield from _members(arg)
    else:
        yield annotation


def _step(shape: Any, step: str | int) -> Iterator[Any]:
    if isinstance(step, str):
        if isinstance(shape, type) and issubclass(shape, BaseModel) and step in shape.model_fields:
            yield from _members(shape.model_fields[step].annotation)
    elif get_origin(shape) is list:
        yield from _members(get_args(shape)[0])


def _at(payload: Any, path: str) -> Any:
    node = payload
    for match in _STEP.finditer(path[1:]):
        key, index = match.group(1), match.group(2)
        if key is not None:
            node = node.get(key) if isinstance(node, dict) else None
        else:
            i = int(index)
            node = node[i] if isinstance(node, list) and i < len(node) else None
    return node


# --- the rows -----------------------------------------------------------------------------------


def normalized(text: str) -> str:
    """A cell as compared and parsed: full-width forms made half-width (NFKC: ０-９, ，, ％),
    no-break and ideographic spaces as spaces, outer spaces off."""
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


def _header_key(text: str) -> str:
    name = re.sub(r"\s+", "", normalized(text))
    return _UNIT.sub("", name).lower() or name.lower()


@dataclass(frozen=True, slots=True)
class _Layout:
    label: int
    """The label column's index."""
    columns: dict[int, Column]
    """Given and computed columns by their index in the sheet."""
    names: dict[int, str]
    """Each index's name in the sheet (or the table's title when there was no header)."""


def import_rows(target: Target, lines: Sequence[Line]) -> Imported:
    """The rows in ``lines`` for ``target``, and every problem (all at once)."""
    result = Imported()
    if not lines:
        result.errors.append(CellError(1, "", target.path, "没有可导入的内容：表格为空"))
        return result
    layout, body = _layout(target, lines, result.errors)
    if layout is None:
        return result
    totals: list[tuple[Line, dict[str, Decimal]]] = []
    others: list[tuple[Line, dict[str, Decimal]]] = []
    parent: dict[str, Any] | None = None
    count = 0
    for line in body:
        raw_label = line.cells[layout.label] if layout.label < len(line.cells) else ""
        label, sub = _label(raw_label, line.indent)
        key = re.sub(r"\s+", "", normalized(label))
        if key in TOTAL_LABELS:
            totals.append((line, _numbers(target, layout, line, result.errors, target.path)))
            continue
        if target.other_label and label == target.other_label:
            others.append((line, _numbers(target, layout, line, result.errors, target.path)))
            continue
        if not label:
            if any(c.strip() for i, c in enumerate(line.cells) if i != layout.label):
                result.errors.append(
                    _error(line, layout.names[layout.label], target.path, "缺少名称")
                )
            continue
        if sub and parent is None:
            result.errors.append(
                _error(line, layout.names[layout.label], target.path,
                       f"其中项“{label}”之前没有所属的行")
            )  # fmt: skip
            continue
        count += 1
        if sub and parent is not None:
            rows = parent.setdefault("subrows", [])
            path = f"{target.path}.rows[{len(result.rows) - 1}].subrows[{len(rows)}]"
            rows.append(_row(target, layout, line, label, path, result.errors))
        else:
            path = f"{target.path}.rows[{len(result.rows)}]"
            parent = _row(target, layout, line, label, path, result.errors)
            result.rows.append(parent)
    if count > MAX_ROWS:
        result.errors.append(
            _error(
                body[-1], "", target.path, f"共{count}行（含其中项），超过一张表的上限{MAX_ROWS}行"
            )
        )
    if not result.rows and not result.errors:
        result.errors.append(CellError(lines[0].number, "", target.path, "没有可导入的数据行"))
    _check_totals(target, layout, result, totals, others)
    return result


def _layout(
    target: Target, lines: Sequence[Line], errors: list[CellError]
) -> tuple[_Layout | None, Sequence[Line]]:
    header = lines[0]
    by_name: dict[str, Column] = {}
    for column in target.columns:
        by_name.setdefault(_header_key(column.title), column)
        by_name.setdefault(_header_key(column.key), column)
    label_names = {_header_key(n) for n in (target.label_title, *LABEL_NAMES)}
    keys = [_header_key(c) for c in header.cells]
    if not any(_column_named(k, by_name) or k in label_names for k in keys):
        return _headerless(target, lines, errors)
    label = next((i for i, k in enumerate(keys) if k in label_names), None)
    columns: dict[int, Column] = {}
    for i, key in enumerate(keys):
        found = _column_named(key, by_name)
        if found is None or i == label:
            continue
        if found in columns.values():
            errors.append(_error(header, header.cells[i], target.path, "与前面的列重复"))
            continue
        columns[i] = found
    if label is None:
        label = next((i for i in range(len(keys)) if i not in columns), len(keys))
    names = {i: c.strip() for i, c in enumerate(header.cells)}
    names.setdefault(label, target.label_title)
    for i, key in enumerate(keys):
        if key and i != label and i not in columns:
            errors.append(
                _error(header, names[i], target.path,
                       f"不是该表的列；可导入的列有：{'、'.join(c.title for c in target.given)}")
            )  # fmt: skip
    for column in target.given:
        if column not in columns.values():
            errors.append(
                _error(header, column.title, target.path, f"表头中没有“{column.title}”列")
            )
    return _Layout(label, columns, names), lines[1:]


def _column_named(key: str, by_name: Mapping[str, Column]) -> Column | None:
    """The column a header names: by title or key, or the one column whose title ends it
    (投诉件数 is 件数, 件数占比 is 占比)."""
    if key in by_name:
        return by_name[key]
    ending = {c for name, c in by_name.items() if len(name) >= 2 and key.endswith(name)}
    return ending.pop() if len(ending) == 1 else None


def _headerless(
    target: Target, lines: Sequence[Line], errors: list[CellError]
) -> tuple[_Layout | None, Sequence[Line]]:
    """No header: cells in the table's order (label, then the given columns) if the first line
    has a number where the first value goes; else the header is unrecognised."""
    first = lines[0]
    given = target.given
    starts_with_number = len(first.cells) > 1 and _NUMBER.match(
        normalized(first.cells[1]).replace(",", "").rstrip("%")
    )
    if not starts_with_number:
        wanted = "、".join([target.label_title, *(c.title for c in given)])
        errors.append(
            CellError(first.number, "", target.path,
                      f"第{first.number}行：找不到表头，首行须为列名（{wanted}）")
        )  # fmt: skip
        return None, lines
    columns = {i + 1: c for i, c in enumerate(given)}
    names = {0: target.label_title, **{i: c.title for i, c in columns.items()}}
    for line in lines:
        if len(line.cells) > len(given) + 1:
            errors.append(
                _error(line, "", target.path,
                       f"有{len(line.cells)}列，多于该表的{len(given) + 1}列（无表头时按表的列序读取）")
            )  # fmt: skip
    return _Layout(0, columns, names), lines


def _label(text: str, indent: int) -> tuple[str, bool]:
    """A label without its 其中 mark or indentation, and whether it is a 其中 row."""
    indented = indent > 0 or text[:1] in (" ", "\u3000", "\t", "\u00a0")
    label = text.strip()
    stripped = _SUBROW.sub("", label)
    if stripped != label:
        return stripped, True  # "其中：" alone: a heading over the 其中 rows, no row itself
    return label, indented and bool(label)


def _error(line: Line, column: str, path: str, reason: str) -> CellError:
    where = f"第{line.number}行「{column}」" if column else f"第{line.number}行"
    return CellError(line.number, column, path, f"{where}：{reason}")


def _row(
    target: Target,
    layout: _Layout,
    line: Line,
    label: str,
    path: str,
    errors: list[CellError],
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, column in layout.columns.items():
        if not column.given:
            continue
        text = line.cells[index] if index < len(line.cells) else ""
        cell_path = f"{path}.count" if target.breakdown else f"{path}.values.{column.key}"
        value, reason = parse_cell(column.type, text)
        if reason is not None:
            errors.append(_error(line, layout.names[index], cell_path, reason))
        else:
            values[column.key] = value
    if target.breakdown:
        row: dict[str, Any] = {"label": label}
        if "n" in values:
            row["count"] = values["n"]
        return row
    return {"label": label, "values": values}


def parse_cell(kind: str, text: str) -> tuple[Any, str | None]:
    """A cell's value for a column of type ``kind`` as JSON takes it, or why it cannot be one."""
    if kind == "text":  # as written: full-width brackets and commas are right in Chinese text
        return (text.strip(), None) if text.strip() else (None, "未填写")
    value = normalized(text)
    if not value or value in ("-", "—", "–", "/"):
        return None, "未填写数值"
    plain = value.replace(" ", "")
    if kind == "count":
        plain = _COUNT_UNIT.sub("", plain)
    if _GROUPED.match(plain):
        plain = plain.replace(",", "")
    if kind == "percent":
        plain = plain.removesuffix("%")
    elif plain.endswith("%"):
        return None, f"须为{'非负整数' if kind == 'count' else '数字'}，不带百分号（“{value}”）"
    if not _NUMBER.match(plain):
        return None, f"须为{'非负整数' if kind == 'count' else '数字'}，“{value}”不是"
    try:
        number = Decimal(plain)
    except InvalidOperation:
        return None, f"“{value}”不是数字"
    if kind == "count":
        if number < 0 or number != number.to_integral_value():
            return None, f"须为非负整数，“{value}”不是"
        if number > MAX_COUNT:
            return None, f"{value}超过上限{MAX_COUNT}"
        return int(number), None
    if len(number.normalize().as_tuple().digits) > MAX_DIGITS:
        return None, f"“{value}”位数过多（至多{MAX_DIGITS}位有效数字）"
    return json_number(number), None


def json_number(number: Decimal) -> int | float:
    """A decimal as a JSON number: an integer when it is one, else the float whose shortest form
    is its digits (exact for up to 15 significant digits)."""
    return int(number) if number == number.to_integral_value() else float(number)


def _numbers(
    target: Target, layout: _Layout, line: Line, errors: list[CellError], path: str
) -> dict[str, Decimal]:
    """The summed cells (件数, 金额) of a line that is checked, not imported."""
    out: dict[str, Decimal] = {}
    for index, column in layout.columns.items():
        if column.type not in ("count", "amount"):
            continue
        text = line.cells[index] if index < len(line.cells) else ""
        if not normalized(text):
            continue
        value, reason = parse_cell(column.type, text)
        if reason is not None:
            errors.append(_error(line, layout.names[index], path, reason))
        else:
            out[column.key] = Decimal(str(value))
    return out


def _check_totals(
    target: Target,
    layout: _Layout,
    result: Imported,
    totals: list[tuple[Line, dict[str, Decimal]]],
    others: list[tuple[Line, dict[str, Decimal]]],
) -> None:
    sums: dict[str, Decimal] = {}
    wrong = {e.path.rsplit(".", 1)[-1] for e in result.errors if ".rows[" in e.path}
    for row in result.rows:
        values = (
            {"n": row["count"]} if target.breakdown and "count" in row else row.get("values", {})
        )
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                sums[key] = sums.get(key, Decimal(0)) + Decimal(str(value))
    index_of = {c.key: i for i, c in layout.columns.items()}
    for line, stated in totals:
        for key, total in stated.items():
            if key in wrong or (target.breakdown and "count" in wrong):
                continue  # a bad cell of the column is named already; its sum would repeat it
            name = layout.names[index_of[key]]
            got = sums.get(key, Decimal(0))
            if target.other_label:
                if got > total:
                    result.errors.append(
                        _error(line, name, target.path, f"所列各行之和{got}已超过合计{total}")
                    )
                else:
                    other = next((o.get(key) for _, o in others), None)
                    if other is not None and got + other != total:
                        result.errors.append(
                            _error(line, name, target.path,
                                   f"各行与“{target.other_label}”之和{got + other}，与合计{total}不符")
                        )  # fmt: skip
            elif got != total:
                result.errors.append(
                    _error(line, name, target.path, f"合计{total}与各行之和{got}不符")
                )
    if target.other_label and totals:
        result.total = {"values": {k: json_number(v) for k, v in totals[0][1].items()}}
