"""A read DOCX -> a payload of its kind, from the payload of the version it was downloaded as.

The walk (:func:`payload_of`): the title; the lead's date; paragraphs before the first heading
are the ``intro``; each heading opens a section at its rung (its typed number, if any, stripped);
a body paragraph is a section's text, its marked figures written back as ``{name}``; a payload
table block is rebuilt from its caption, columns and given cells (a deleted row is gone, a new
row added); a generated content (``{"insert": …}``) stands where its first paragraph or table
stands, and a generated breakdown table gives back its counts; the 署名 is the ``signatory``.

A figure retyped in prose is taken when every place that prints it says the same new value and
the figure is a given field of the payload; a computed figure (a share, a total, a rate) is never
taken, only checked. The checks (:func:`check_against`) then compare the document with the
document the new payload prints: every marked figure, every generated paragraph, every table
cell. A count retyped without its share and its 合计 thus fails at the share and the 合计,
each error naming the place.

What it cannot do: tell a moved paragraph from one deleted and one added (the diff shows both);
read a generated paragraph's rewording (generated text follows the data: an error says so); take
a figure given in 万 (``59.55万`` is rounded) or one the template computes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from service.errors import FieldError
from service.kinds import kind_named
from service.model import Document, Paragraph, Table
from service.model.numbering import LADDER
from service.payload.schema import Breakdown, ComplaintSource, TableSpec
from service.readback.document import ReadBlock, ReadCell, ReadDocument, ReadParagraph, ReadTable
from service.report.build import document_title
from service.report.table_block import NO_VALUE, SUB_ROW_PREFIX, table_blocks
from service.report.tables import DIMENSION_NAMES, SOURCE_NAMES, breakdown_spec
from service.report.versions import version_for
from service.style import load_house_style

_NUMBER = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+、|（[一二三四五六七八九十百]+）|\([一二三四五六七八九十百]+\)"
    r"|\d+[.．、](?!\d)|（\d+）|\(\d+\))\s*"
)
"""A number typed in front of a heading (the ladder's or a look-alike): stripped, since the
heading style's numbering draws it."""
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|(\d{4})-(\d{2})-(\d{2})")
_LEAD_PREFIX = "发布时间："
_LADDER_PREFIX: dict[int, str] = {level: rung.prefix for level, rung in LADDER.items()}


@dataclass(slots=True)
class _Typed:
    """Where the document prints a figure and what it says there."""

    place: str
    text: str


@dataclass(slots=True)
class Reading:
    """What the walk found, for the checks after the new payload is built."""

    payload: dict[str, Any]
    problems: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    typed: dict[str, list[_Typed]] = field(default_factory=dict)
    generated: list[tuple[str, ReadParagraph]] = field(default_factory=list)
    tables: list[ReadTable] = field(default_factory=list)
    lead: ReadParagraph | None = None
    date_line: ReadParagraph | None = None
    places: dict[str, str] = field(default_factory=dict)
    """JSON paths of the payload read (sections, their contents) -> where the document has them."""

    def placed(self, error: FieldError) -> FieldError:
        """A payload error at the place in the document its JSON path stands for, if known."""
        path = error.path
        while path and path not in self.places:
            path = path[: max(path.rfind("."), path.rfind("["))] if "." in path[2:] else ""
        if not path:
            return error
        return FieldError(self.places[path], error.code, f"{error.message}（{error.path}）")

    def problem(self, place: str, code: str, message: str) -> None:
        self.problems.append(FieldError(place, code, message))


def payload_of(
    read: ReadDocument, base: Any, base_raw: dict[str, Any], base_doc: Document
) -> Reading:
    """The payload the document says, built on ``base_raw`` (its parsed form ``base``, its
    document ``base_doc``); problems of the walk are collected, not raised."""
    out = Reading(copy.deepcopy(base_raw))
    payload = out.payload
    walk = _Walk(out, base, base_raw, base_doc, marked=read.marked)
    for block in read.blocks:
        walk.block(block)
    if walk.intro or "intro" in payload:
        payload["intro"] = walk.intro
    payload["sections"] = _pruned(walk.root)
    if walk.signer is not None:
        payload["signatory"] = walk.signer
    elif base_raw.get("signatory"):
        payload.pop("signatory", None)
    walk.finish_title()
    _take_figures(out, base, base_doc)
    return out


def _pruned(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sections without an empty ``content`` or ``sections`` list (the schema's defaults)."""
    for section in sections:
        _pruned(section["sections"])
        for key in ("content", "sections"):
            if not section[key]:
                del section[key]
    return sections


class _Walk:
    def __init__(
        self, out: Reading, base: Any, base_raw: dict[str, Any], base_doc: Document, marked: bool
    ) -> None:
        self.out = out
        self.marked = marked
        self.base = base
        self.base_doc = base_doc
        self.intro: list[str] = []
        self.root: list[dict[str, Any]] = []
        self.stack: list[tuple[int, dict[str, Any]]] = []
        self.section_paths: list[str] = []
        """The JSON path of each section on the stack."""
        self.title: list[str] = []
        self.signer: str | None = None
        self.last_table: dict[str, Any] | None = None
        self.after_generated = False
        self.base_tables = {t.number: t for t in base_doc.tables}
        self.specs = _base_specs(base_raw, base_doc)

    # --- where a block goes ---------------------------------------------------------------

    def add(self, block: Any, place: str) -> None:
        """``block`` at the end of the current content, its JSON path noted as at ``place``."""
        content = self.content()
        where = f"{self.section_paths[-1]}.content" if self.stack else "$.intro"
        self.out.places[f"{where}[{len(content)}]"] = place
        content.append(block)

    def content(self) -> list[Any]:
        if not self.stack:
            return self.intro
        section_content: list[Any] = self.stack[-1][1]["content"]
        return section_content

    def place_insert(self, origin: str, place: str) -> None:
        name = origin.removeprefix("insert:")
        content = self.content()
        if content is self.intro:
            self.out.problem(
                "正文开头", "docx_misplaced", f"按数据生成的内容（{name}）不能移到第一个标题之前"
            )
            return
        if not any(isinstance(b, dict) and b.get("insert") == name for b in content):
            self.add({"insert": name}, place)

    # --- blocks ---------------------------------------------------------------------------

    def block(self, block: ReadBlock) -> None:
        if isinstance(block, ReadTable):
            self.table(block)
            return
        role = block.role
        if role != "note":
            self.last_table = None
            self.after_generated = False
        if role == "title":
            self.title.append(block.text)
        elif role == "lead":
            self.out.lead = block
        elif role == "heading":
            self.heading(block)
        elif role == "signer":
            self.signer = block.text.strip()
        elif role == "date":
            self.out.date_line = block
        elif role == "note":
            self.note(block)
        elif role == "caption":
            self.out.problem(block.quote(), "docx_table_shape", "表题之后没有表格")
        elif block.origin:
            self.out.generated.append((block.origin, block))
            self.place_insert(block.origin, block.quote())
            self.typed(block)
        elif role in ("body", "unknown"):
            self.typed(block)
            self.add(_placeholders(block), block.quote())

    def heading(self, block: ReadParagraph) -> None:
        level = block.level or 1
        start = self.base.ladder_start
        depth = level - start + 1
        text = _NUMBER.sub("", block.text, count=1).strip()
        if depth < 1:
            self.out.problem(
                block.quote(),
                "docx_heading_level",
                f"标题为第{level}级（{_LADDER_PREFIX[level]}…），高于本文标题起始的第{start}级",
            )
            return
        while self.stack and self.stack[-1][0] >= depth:
            self.stack.pop()
            self.section_paths.pop()
        parent_depth = self.stack[-1][0] if self.stack else 0
        if depth > parent_depth + 1:
            self.out.problem(
                block.quote(),
                "docx_heading_level",
                f"标题跳级：上一级标题之下直接出现了第{level}级标题",
            )
            depth = parent_depth + 1
        section: dict[str, Any] = {"title": text, "content": [], "sections": []}
        siblings = self.stack[-1][1]["sections"] if self.stack else self.root
        parent = f"{self.section_paths[-1]}.sections" if self.stack else "$.sections"
        path = f"{parent}[{len(siblings)}]"
        self.out.places[path] = block.quote()
        siblings.append(section)
        self.stack.append((depth, section))
        self.section_paths.append(path)

    def note(self, block: ReadParagraph) -> None:
        if block.origin:
            self.out.generated.append((block.origin, block))
            return
        if self.after_generated:
            return  # best effort: a generated table's note, printed again from its rows
        if self.last_table is None:
            self.out.problem(block.quote(), "docx_unknown_style", "“注”样式的段落不在表格之后")
            return
        style_note = _rounding_note(self.base_doc)
        if block.text != style_note:
            self.last_table.setdefault("notes", []).append(block.text)

    def table(self, table: ReadTable) -> None:
        self.out.tables.append(table)
        self.last_table = None
        self.after_generated = False
        caption = table.caption
        origin = caption.origin if caption is not None else ""
        number = _base_number(table) if self.marked else len(self.out.tables)
        if not self.marked and number in self.base_tables:
            origin = self.base_tables[number].origin  # best effort: the n-th table is the n-th
        if caption is None or number is None or number not in self.base_tables:
            self.out.problem(
                table.place,
                "docx_table_shape",
                "表格不是本系统生成的统计表（没有表题或标记），无法读回；新增统计表请在报送数据中添加",
            )
            return
        if origin:
            self.place_insert(origin, caption.text)
            self.generated_table(table, origin, number)
            self.after_generated = True
            return
        spec_path = self.specs.get(number)
        if spec_path is None:
            self.out.problem(
                table.place, "docx_table_shape", "表格与原文档的统计表对不上，无法读回"
            )
            return
        spec = _table_spec(self.out, table, copy.deepcopy(spec_path), self.base_tables[number])
        if spec is not None:
            spec.pop("notes", None)
            self.add({"table": spec}, caption.text)
            self.last_table = spec
            self.check_table(table, lambda: TableSpec.model_validate(spec))

    def generated_table(self, table: ReadTable, origin: str, number: int) -> None:
        """A breakdown gives back its counts and title; other generated tables are checked only."""
        match = re.fullmatch(r"insert:complaints\.(regulator|direct)\.tables", origin)
        if match is None:
            return
        source_name = match.group(1)
        ordinal = [t.number for t in self.base_doc.tables if t.origin == origin].index(number)
        source = self.out.payload["figures"]["complaints"][source_name]
        breakdown = source["breakdowns"][ordinal]
        base_breakdown = getattr(self.base.figures.complaints, source_name).breakdowns[ordinal]
        title = _caption_title(table)
        default = f"{SOURCE_NAMES[source_name]}投诉{DIMENSION_NAMES[base_breakdown.dimension]}分布"
        if title and title != (base_breakdown.title or default):
            breakdown["title"] = title
        rows = _breakdown_rows(self.out, table)
        if rows is not None:
            breakdown["rows"] = rows
            self.check_table(
                table,
                lambda: breakdown_spec(
                    source_name,
                    ComplaintSource.model_validate(source),
                    Breakdown.model_validate(breakdown),
                ),
            )

    def check_table(self, table: ReadTable, spec: Callable[[], TableSpec]) -> None:
        """The table's cells against what its own rows print (before the whole payload is
        checked, so that a share left unchanged is named by its cell, not by a rule)."""
        try:
            parsed = spec()
        except ValidationError:
            return  # the payload's validation names it
        model = table_blocks(0, parsed, _rounding_note(self.base_doc))[0]
        assert isinstance(model, Table)
        self.out.problems += _table_problems(table, model, caption=False)

    def finish_title(self) -> None:
        text = "\n".join(self.title).strip()
        if not text:
            self.out.problem("标题", "docx_no_title", "文档没有标题（“标题”样式的段落）")
            return
        version = version_for(self.base.kind, self.base.report_year)
        generated = document_title(self.base, version)
        if text.replace("\n", "") == generated.replace("\n", ""):
            return
        self.out.payload["title"] = text.replace("\n", "")

    def typed(self, block: ReadParagraph) -> None:
        for span in block.spans:
            if span.name.startswith(("insert:", "table:")) or span.end == span.start:
                continue  # an emptied mark: the figure was deleted from the text
            self.out.typed.setdefault(span.name, []).append(
                _Typed(block.quote(), block.text[span.start : span.end])
            )


# --- paragraphs ------------------------------------------------------------------------------


def _placeholders(block: ReadParagraph) -> str:
    """The paragraph as payload text: braces doubled, each marked figure ``{name}``."""
    out: list[str] = []
    at = 0
    for span in block.spans:
        if span.name.startswith(("insert:", "table:")) or span.start < at:
            continue
        out.append(_escape(block.text[at : span.start]))
        out.append(f"{{{span.name}}}" if span.end > span.start else "")
        at = span.end
    out.append(_escape(block.text[at:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _rounding_note(document: Document) -> str:
    return load_house_style(document.meta.house_style).table.rounding_note


# --- figures ---------------------------------------------------------------------------------


def _take_figures(out: Reading, base: Any, base_doc: Document) -> None:
    """Each figure retyped the same everywhere, written into its given field."""
    kind = kind_named(base.kind)
    for name, typed in out.typed.items():
        old = base_doc.figures.get(name)
        values = {t.text for t in typed}
        if values == {old}:
            continue
        if len(values) > 1:
            where = "；".join(f"{t.place}为“{t.text}”" for t in typed)
            label = _label(kind, name)
            out.problem(
                typed[0].place,
                "docx_figure_inconsistent",
                f"数据“{label}”各处不一致：{where}。同一数据须在各处改为同一数值",
            )
            continue
        try:
            figure = kind.figure(name)
        except KeyError:
            continue
        (value,) = values
        path = figure.source.split(".")
        if " " in figure.source or not _settable(out.payload, path):
            continue  # computed: left to the check, which names the figures it comes from
        raw = _parse_number(value)
        current = _get(out.payload, path)
        if raw is None or isinstance(current, bool) or not isinstance(current, int | Decimal):
            out.problem(
                typed[0].place,
                "docx_figure_unreadable",
                f"数据“{figure.label}”改为“{value}”，无法读作数值",
            )
            continue
        if isinstance(current, int) and raw == raw.to_integral_value() and "%" not in value:
            _set(out.payload, path, int(raw))
        elif isinstance(current, Decimal) or "%" in value:
            _set(out.payload, path, raw)
        else:
            out.problem(typed[0].place, "docx_figure_unreadable", f"数据“{figure.label}”须为整数")


def _label(kind: Any, name: str) -> str:
    try:
        label: str = kind.figure(name).label
    except KeyError:
        return name
    return label


def _parse_number(text: str) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("%")
    if "万" in cleaned or not cleaned:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _settable(obj: Any, path: list[str]) -> bool:
    for key in path[:-1]:
        if not isinstance(obj, dict) or not isinstance(obj.get(key), dict):
            return False
        obj = obj[key]
    return isinstance(obj, dict) and path[-1] in obj


def _get(obj: Any, path: list[str]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


# --- tables ----------------------------------------------------------------------------------


def _base_number(table: ReadTable) -> int | None:
    """The number the table had in the version it was downloaded as, from its cells' marks."""
    for row in table.rows:
        for cell in row:
            for span in cell.spans:
                parts = span.name.split(":")
                if parts[0] == "table" and len(parts) == 4:
                    return int(parts[1])
    return None


def _base_specs(base_raw: dict[str, Any], base_doc: Document) -> dict[int, dict[str, Any]]:
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


def _caption_title(table: ReadTable) -> str:
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


def _breakdown_rows(out: Reading, table: ReadTable) -> list[dict[str, Any]] | None:
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
                    _cell_place(table, r, row, 0), "docx_table_shape", "“其中”行之前没有所属的行"
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
            _cell_place(table, r, row, c),
            "docx_cell_unreadable",
            f"“{row[c].text}”不是件数（非负整数）",
        )
        return None
    return int(text)


def _cell_place(table: ReadTable, r: int, row: list[ReadCell], c: int) -> str:
    caption = table.caption.text if table.caption is not None else table.place
    head = table.rows[0][c].text if table.rows and c < len(table.rows[0]) else f"第{c + 1}列"
    return f"{caption} 第{r}行（{row[0].text if row else ''}）“{head}”列"


_GIVEN = {"text", "count", "amount", "decimal", "percent"}


def _table_spec(
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
            f"统计表“{_caption_title(table)}”须为{width}列，列数已被改动，无法按列读回",
        )
        return None
    spec["title"] = _caption_title(table) or spec["title"]
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
                    _cell_place(table, r, row, 0), "docx_table_shape", "“其中”行之前没有所属的行"
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
                _cell_place(table, r, row, c), "docx_cell_unreadable", f"“{text}”不是该列的数值"
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


# --- the checks -----------------------------------------------------------------------------


def check_against(out: Reading, new_doc: Document) -> None:
    """Compare what the document says with what ``new_doc`` (the new payload's) prints."""
    kind = kind_named(new_doc.meta.report_kind)
    for name, typed in out.typed.items():
        expected = new_doc.figures.get(name)
        for t in typed:
            if expected is not None and t.text != expected:
                out.problem(
                    t.place,
                    "docx_figure_mismatch",
                    f"数据“{_label(kind, name)}”（{name}）为“{t.text}”，按数据应为“{expected}”"
                    "（计算所得的数据须随其组成数据一起修改）",
                )
    _check_generated(out, new_doc)
    _check_tables(out, new_doc)
    _check_dates(out, new_doc)


def _check_generated(out: Reading, new_doc: Document) -> None:
    expected: dict[str, list[str]] = {}
    for block in new_doc.blocks:
        if isinstance(block, Paragraph) and block.origin:
            expected.setdefault(block.origin, []).append(block.text)
    seen: dict[str, int] = {}
    for origin, paragraph in out.generated:
        k = seen.get(origin, 0)
        seen[origin] = k + 1
        texts = expected.get(origin, [])
        want = texts[k] if k < len(texts) else None
        if want is not None and paragraph.text == want:
            continue
        if any(p.path == paragraph.quote() for p in out.problems):
            continue
        out.problem(
            paragraph.quote(),
            "docx_generated_text",
            f"该段是按数据生成的文字（{origin.removeprefix('insert:')}），不能直接改写；"
            + (f"按数据应为“{want}”" if want is not None else "按数据不再有此段")
            + "。请修改其中的数据，或在报送数据中改写",
        )


def _check_tables(out: Reading, new_doc: Document) -> None:
    tables = list(new_doc.tables)
    if len(tables) != len(out.tables):
        if not out.problems:
            out.problem(
                "文档",
                "docx_table_shape",
                f"文档有{len(out.tables)}个表格，按数据应为{len(tables)}个",
            )
        return
    for read, model in zip(out.tables, tables, strict=True):
        for problem in _table_problems(read, model):
            if problem not in out.problems:
                out.problems.append(problem)


def _table_problems(read: ReadTable, model: Table, caption: bool = True) -> Iterator[FieldError]:
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
                place = _cell_place(read, r, have, c) if r else f"{model.caption} 表头第{c + 1}列"
                yield FieldError(
                    place,
                    "docx_cell_mismatch",
                    f"文档为“{h.text}”，按数据应为“{w}”（占比、增减、其他、合计由系统计算，须随件数一起改）",
                )


def _check_dates(out: Reading, new_doc: Document) -> None:
    lead = next((b for b in new_doc.blocks if isinstance(b, Paragraph) and b.role == "lead"), None)
    if out.lead is not None and lead is not None and out.lead.text != lead.text:
        out.problem(out.lead.quote(), "docx_date", f"按数据应为“{lead.text}”")
    signature = new_doc.signature
    line = out.date_line
    if line is not None and signature is not None and line.text.strip() != signature.date_text:
        out.problem(line.quote(), "docx_date", f"成文日期按数据应为“{signature.date_text}”")


def read_date(text: str) -> date | None:
    match = _DATE.search(text)
    if match is None:
        return None
    groups = [g for g in match.groups() if g is not None]
    try:
        return date(int(groups[0]), int(groups[1]), int(groups[2]))
    except ValueError:
        return None


def take_date(out: Reading, base_doc: Document) -> None:
    """A retyped 发布时间 (the lead) sets ``publish_date``; the 成文日期 is then checked."""
    lead = next((b for b in base_doc.blocks if isinstance(b, Paragraph) and b.role == "lead"), None)
    if out.lead is None or lead is None or out.lead.text == lead.text:
        return
    day = read_date(out.lead.text.removeprefix(_LEAD_PREFIX))
    if day is None:
        out.problem(out.lead.quote(), "docx_date", "发布时间无法读作日期（如 2024年1月12日）")
        return
    out.payload["publish_date"] = day.isoformat()
