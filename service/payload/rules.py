"""Rules beyond types: sums, ranges and dates that a schema cannot say.

Each rule returns :class:`FieldError` s rather than raising, so one pass reports every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined

from service.errors import FieldError
from service.payload.schema import (
    FORBIDDEN_CHARS,
    MAX_ROWS,
    MAX_SECTIONS,
    MAX_TOTAL_CHARS,
    ComplaintSource,
    Date,
    LadderStart,
    Payload,
    RelativeMetric,
    ReportPeriod,
    ReviewFigures,
    Section,
    TableBlock,
    TableSpec,
    Text,
    TrainingFigures,
    Year,
)
from service.payload.table_rules import duplicate_label_errors, table_errors

HIGHEST_LADDER_LEVEL = 4

_CHINESE_NUMBER = "一二三四五六七八九十百千零〇两"
TYPED_HEADING_NUMBER = re.compile(
    rf"^(第[{_CHINESE_NUMBER}\d]+[章节部分篇]"
    rf"|[{_CHINESE_NUMBER}]+[、.．]"
    rf"|[（(][{_CHINESE_NUMBER}]+[）)]"
    r"|\d+(?:[.．、](?!\d)|[)）])"
    r"|[（(]\d+[）)])"
)
"""A heading number typed into a title (一、 （一） 1. （1） 第一章); numbers are generated."""


def check_rules(payload: BaseModel) -> list[FieldError]:
    """Every rule over a parsed payload of a disclosure kind (its parts read by their paths)."""
    parts: dict[str, Any] = {}
    for name, (keys, _) in part_types(type(payload)).items():
        value: Any = payload
        for key in keys:
            value = getattr(value, key)
        parts[name] = value
    return _part_rules(parts) + list(forbidden_characters(iter_texts(payload)))


_PART_TYPES: dict[str, tuple[tuple[str, ...], Any]] = {
    "publish_date": (("publish_date",), Date),
    "report_year": (("report_year",), Year),
    "period": (("period",), ReportPeriod),
    "review": (("figures", "review"), ReviewFigures | None),
    "training": (("figures", "training"), TrainingFigures | None),
    "regulator": (("figures", "complaints", "regulator"), ComplaintSource | None),
    "direct": (("figures", "complaints", "direct"), ComplaintSource | None),
    "relative_metrics": (("figures", "complaints", "relative_metrics"), list[RelativeMetric]),
    "ladder_start": (("ladder_start",), LadderStart),
    "intro": (("intro",), list[Text]),
    "sections": (("sections",), list[Section]),
}
"""Where each part the rules read lives in the JSON, and its type in the schema."""


@cache
def part_types(model: type[BaseModel]) -> dict[str, tuple[tuple[str, ...], Any]]:
    """The parts of :data:`_PART_TYPES` that ``model`` (a disclosure kind's payload) has."""
    out = {}
    for name, (keys, part_type) in _PART_TYPES.items():
        node: Any = model
        for key in keys:
            fields = getattr(node, "model_fields", {})
            if key not in fields:
                break
            node = fields[key].annotation
        else:
            out[name] = (keys, part_type)
    return out


def check_parsed_parts(obj: dict[str, Any], model: type[BaseModel] = Payload) -> list[FieldError]:
    """The rules over every part of an invalid payload that is valid on its own, so that a
    missing field and a wrong sum elsewhere are reported in one round."""
    parts: dict[str, Any] = {}
    failed: set[str] = set()
    for name, (keys, part_type) in part_types(model).items():
        value: Any = obj
        for key in keys:
            value = value.get(key, _ABSENT) if isinstance(value, dict) else _ABSENT
        default = model.model_fields[keys[0]].get_default(call_default_factory=True)
        if value is _ABSENT and len(keys) == 1 and default is not PydanticUndefined:
            value = default
        if value is _ABSENT:
            continue
        try:
            parts[name] = _adapter(part_type).validate_python(value)
        except ValidationError:
            failed.add(name)
    return _part_rules(parts, failed)


_ABSENT = object()


@cache
def _adapter(part_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(part_type)


def _part_rules(parts: dict[str, Any], failed: set[str] | None = None) -> list[FieldError]:
    """The rules whose parts are in ``parts`` (a part is left out where it did not parse, and
    named in ``failed``)."""
    errors: list[FieldError] = []
    part_names = set(parts) | (failed or set())
    if "publish_date" in parts and "report_year" in parts:
        if "period" in part_names:
            if "period" in parts:
                errors += _publish_date_after_period(
                    parts["publish_date"], parts["report_year"], parts["period"]
                )
        else:
            errors += _publish_date(parts["publish_date"], parts["report_year"])
    if parts.get("review"):
        errors += _review(parts["review"])
    if parts.get("training"):
        errors += _training(parts["training"])
    for name in ("regulator", "direct"):
        if parts.get(name) is not None:
            errors += _complaint_source(parts[name], f"$.figures.complaints.{name}")
    if "relative_metrics" in parts:
        errors += _relative_metrics(parts["relative_metrics"])
    if "sections" in parts:
        if "ladder_start" in parts and "intro" in parts:
            errors += _ladder_and_limits(parts["sections"], parts["ladder_start"], parts["intro"])
        errors += _typed_heading_numbers(parts["sections"])
        sources_parsed = not (failed or set()) & {"regulator", "direct"}
        totals = _disclosed_totals(parts) if sources_parsed else None
        for path, spec in _table_blocks(parts["sections"]):
            errors += table_errors(spec, path, totals)
    return errors


def _disclosed_totals(parts: dict[str, Any]) -> dict[str, int]:
    """The complaint totals a table's 合计 may name, as the figures compute them."""
    totals = {
        f"complaints.{name}.total": parts[name].total
        for name in ("regulator", "direct")
        if parts.get(name) is not None
    }
    if totals:
        totals["complaints.total"] = sum(totals.values())
    return totals


def table_specs(sections: list[Section]) -> list[TableSpec]:
    """The table blocks of ``sections`` in document order (a section's content, then its own
    sections), as the report template places them."""
    return [spec for _, spec in _table_blocks(sections)]


def walk_sections(
    sections: list[Section], path: str = "$.sections"
) -> Iterator[tuple[str, Section]]:
    """Every section with its JSON path, in document order: a section, then its own sections."""
    for i, section in enumerate(sections):
        yield f"{path}[{i}]", section
        yield from walk_sections(section.sections, f"{path}[{i}].sections")


def _table_blocks(sections: list[Section]) -> Iterator[tuple[str, TableSpec]]:
    for spath, section in walk_sections(sections):
        for j, block in enumerate(section.content):
            if isinstance(block, TableBlock):
                yield f"{spath}.content[{j}].table", block.table


def _publish_date(publish_date: date, report_year: int) -> Iterator[FieldError]:
    if publish_date.year <= report_year:
        yield FieldError(
            "$.publish_date",
            "publish_date_not_after_report_year",
            f"发布日期{publish_date.isoformat()}须晚于报告年度{report_year}年末",
        )


def period_end(year: int, period: str) -> date:
    """The last day of ``period`` (``year``, ``H1``/``H2``, ``Q1``–``Q4``) of ``year``."""
    months = {"year": 12, "H1": 6, "H2": 12, "Q1": 3, "Q2": 6, "Q3": 9, "Q4": 12}[period]
    following = date(year + 1, 1, 1) if months == 12 else date(year, months + 1, 1)
    return following - timedelta(days=1)


PERIOD_NAMES = {
    "year": "年度",
    "H1": "上半年",
    "H2": "下半年",
    "Q1": "第一季度",
    "Q2": "第二季度",
    "Q3": "第三季度",
    "Q4": "第四季度",
}
"""How a report period prints after its year (2022年第一季度; a whole year: 2022年度)."""


def period_mark(year: int, period: str) -> str:
    return f"{year}年度" if period == "year" else f"{year}年{PERIOD_NAMES[period]}"


def _publish_date_after_period(
    publish_date: date, report_year: int, period: str
) -> Iterator[FieldError]:
    end = period_end(report_year, period)
    if publish_date <= end:
        yield FieldError(
            "$.publish_date",
            "publish_date_not_after_period",
            f"发布日期{publish_date.isoformat()}须晚于报告期{period_mark(report_year, period)}末"
            f"（{end.year}年{end.month}月{end.day}日）",
        )


def _review(review: ReviewFigures) -> Iterator[FieldError]:
    if review.total is not None and review.total != review.product + review.service:
        yield FieldError(
            "$.figures.review.total",
            "review_total_mismatch",
            f"消保审查合计{review.total}次，不等于产品审查{review.product}次与服务审查"
            f"{review.service}次之和{review.product + review.service}次",
        )


def _training(training: TrainingFigures) -> Iterator[FieldError]:
    if not 0 <= training.coverage <= 100:
        yield FieldError(
            "$.figures.training.coverage",
            "share_out_of_range",
            f"培训覆盖率{training.coverage}%须在0%到100%之间",
        )


def _complaint_source(source: ComplaintSource, path: str) -> Iterator[FieldError]:
    if source.closed is not None and source.closed > source.total:
        yield FieldError(
            f"{path}.closed",
            "closed_exceeds_total",
            f"已办结{source.closed}件，多于投诉总数{source.total}件",
        )
    seen_dimensions: set[str] = set()
    for i, breakdown in enumerate(source.breakdowns):
        bpath = f"{path}.breakdowns[{i}]"
        if breakdown.dimension in seen_dimensions:
            yield FieldError(
                f"{bpath}.dimension", "duplicate_breakdown", f"维度{breakdown.dimension}重复出现"
            )
        seen_dimensions.add(breakdown.dimension)
        table_rows = sum(1 + len(row.subrows) for row in breakdown.rows)
        if table_rows > MAX_ROWS:
            yield FieldError(
                f"{bpath}.rows",
                "limit_exceeded",
                f"表格共{table_rows}行（含“其中”子项），超过上限{MAX_ROWS}行",
            )
        row_sum = sum(row.count for row in breakdown.rows)
        if row_sum != source.total:
            yield FieldError(
                f"{bpath}.rows",
                "breakdown_sum_mismatch",
                f"各项件数之和为{row_sum}件，与投诉总数{source.total}件不符",
            )
        yield from duplicate_label_errors(breakdown.rows, f"{bpath}.rows")
        for j, row in enumerate(breakdown.rows):
            rpath = f"{bpath}.rows[{j}]"
            if row.subrows:
                sub_sum = sum(sub.count for sub in row.subrows)
                if sub_sum != row.count:
                    yield FieldError(
                        f"{rpath}.subrows",
                        "subrow_sum_mismatch",
                        f"“{row.label}”的其中各项之和为{sub_sum}件，与该项{row.count}件不符",
                    )


def _relative_metrics(metrics: list[RelativeMetric]) -> Iterator[FieldError]:
    seen: set[str] = set()
    for i, metric in enumerate(metrics):
        if metric.name in seen:
            yield FieldError(
                f"$.figures.complaints.relative_metrics[{i}].name",
                "duplicate_metric",
                f"相对指标{metric.name}重复出现",
            )
        seen.add(metric.name)


def _typed_heading_numbers(sections: list[Section]) -> Iterator[FieldError]:
    for spath, section in walk_sections(sections):
        match = TYPED_HEADING_NUMBER.match(section.title)
        if match:
            yield FieldError(
                f"{spath}.title",
                "heading_has_number",
                f"标题不应自带序号“{match.group()}”：序号由系统按层级生成，请删去",
            )


def _ladder_and_limits(
    sections: list[Section], ladder_start: int, intro: list[str]
) -> Iterator[FieldError]:
    count = 0
    chars = sum(len(p) for p in intro)
    deepest: list[tuple[str, int]] = []

    def walk(sections: list[Section], path: str, depth: int) -> None:
        nonlocal count, chars
        for i, section in enumerate(sections):
            spath = f"{path}[{i}]"
            count += 1
            chars += len(section.title) + sum(len(b) for b in section.content if isinstance(b, str))
            level = ladder_start + depth - 1
            if level > HIGHEST_LADDER_LEVEL:
                deepest.append((f"{spath}.title", level))
            walk(section.sections, f"{spath}.sections", depth + 1)

    walk(sections, "$.sections", 1)
    for path, level in deepest:
        yield FieldError(
            path,
            "ladder_too_deep",
            f"标题层级过深：公文标题最多四级（一、（一）1.（1）），此处为第{level}级",
        )
    if count > MAX_SECTIONS:
        yield FieldError(
            "$.sections", "limit_exceeded", f"标题总数{count}个，超过上限{MAX_SECTIONS}个"
        )
    if chars > MAX_TOTAL_CHARS:
        yield FieldError("$", "limit_exceeded", f"正文总字数{chars}，超过上限{MAX_TOTAL_CHARS}")


def iter_texts(payload: Any) -> Iterator[tuple[str, str]]:
    """Every free text of the payload with its JSON path, in document order."""
    yield "$.company.full_name", payload.company.full_name
    yield "$.company.short_name", payload.company.short_name
    if payload.title:
        yield "$.title", payload.title
    if payload.signatory:
        yield "$.signatory", payload.signatory
    for i, text in enumerate(payload.intro):
        yield f"$.intro[{i}]", text

    for spath, section in walk_sections(payload.sections):
        yield f"{spath}.title", section.title
        for j, block in enumerate(section.content):
            if isinstance(block, str):
                yield f"{spath}.content[{j}]", block
            elif isinstance(block, TableBlock):
                yield from _table_texts(block.table, f"{spath}.content[{j}].table")
    complaints = payload.figures.complaints
    for name in ("regulator", "direct"):
        source = getattr(complaints, name)
        if source is None:
            continue
        spath = f"$.figures.complaints.{name}"
        if source.period:
            yield f"{spath}.period", source.period
        for i, breakdown in enumerate(source.breakdowns):
            bpath = f"{spath}.breakdowns[{i}]"
            if breakdown.title:
                yield f"{bpath}.title", breakdown.title
            for j, row in enumerate(breakdown.rows):
                yield f"{bpath}.rows[{j}].label", row.label
                for k, sub in enumerate(row.subrows):
                    yield f"{bpath}.rows[{j}].subrows[{k}].label", sub.label
    if complaints.group.description:
        yield "$.figures.complaints.group.description", complaints.group.description


def _table_texts(spec: TableSpec, path: str) -> Iterator[tuple[str, str]]:
    yield f"{path}.title", spec.title
    yield f"{path}.label_title", spec.label_title
    for i, column in enumerate(spec.columns):
        yield f"{path}.columns[{i}].title", column.title
        unit = getattr(column, "unit", None)
        if unit:
            yield f"{path}.columns[{i}].unit", unit
    for j, row in enumerate(spec.rows):
        yield f"{path}.rows[{j}].label", row.label
        for key, value in row.values.items():
            if isinstance(value, str):
                yield f"{path}.rows[{j}].values.{key}", value
        for k, sub in enumerate(row.subrows):
            yield f"{path}.rows[{j}].subrows[{k}].label", sub.label
    if spec.other_label:
        yield f"{path}.other_label", spec.other_label
    for i, note in enumerate(spec.notes):
        yield f"{path}.notes[{i}]", note


def forbidden_characters(texts: Iterable[tuple[str, str]]) -> Iterator[FieldError]:
    """A character no document can hold, in any of ``texts`` (JSON path, text)."""
    for path, text in texts:
        match = FORBIDDEN_CHARS.search(text)
        if match:
            char = match.group()
            yield FieldError(
                path,
                "forbidden_character",
                f"含有不可用于公文的控制字符或方向控制符 U+{ord(char):04X}（第{match.start() + 1}个字符）",
            )
