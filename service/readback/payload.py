"""A read DOCX -> a payload of its kind, from the payload of the version it was downloaded as.

The walk (:func:`payload_of`): the title; the lead's date; paragraphs before the first heading
are the ``intro``; each heading opens a section at its rung (its typed number, if any, stripped);
a body paragraph is a section's text, its marked figures written back as ``{name}``; a payload
table block is rebuilt from its caption, columns and given cells (a deleted row is gone, a new
row added); a generated content (``{"insert": …}``) stands where its first paragraph or table
stands, and a generated breakdown table gives back its counts; the 署名 is the ``signatory``.

A figure retyped in prose is taken when every place that prints it says the same new value and
the figure is a given field of the payload; a computed figure (a share, a total, a rate) is never
taken, only checked. The checks (:func:`service.readback.checks.check_against`) then compare the document with the
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
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from service.kinds import kind_named
from service.model import Document, Paragraph, Table
from service.model.numbering import LADDER
from service.payload.schema import Breakdown, ComplaintSource, TableSpec
from service.readback.document import ReadBlock, ReadDocument, ReadParagraph, ReadTable
from service.readback.reading import Reading, Typed, figure_label
from service.readback.tables import (
    base_number,
    base_specs,
    breakdown_rows,
    caption_title,
    table_problems,
    table_spec,
)
from service.report.build import document_title
from service.report.table_block import table_blocks
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
        self.specs = base_specs(base_raw, base_doc)

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
        number = base_number(table) if self.marked else len(self.out.tables)
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
        spec = table_spec(self.out, table, copy.deepcopy(spec_path), self.base_tables[number])
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
        title = caption_title(table)
        default = f"{SOURCE_NAMES[source_name]}投诉{DIMENSION_NAMES[base_breakdown.dimension]}分布"
        if title and title != (base_breakdown.title or default):
            breakdown["title"] = title
        rows = breakdown_rows(self.out, table)
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
        self.out.problems += table_problems(table, model, caption=False)

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
                Typed(block.quote(), block.text[span.start : span.end])
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
            label = figure_label(kind, name)
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
