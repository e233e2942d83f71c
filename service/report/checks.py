"""Checks of a payload that need the report stage: template year, house style, figure references,
inserts without figures, and characters no shipped font can draw."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from service import kinds
from service.errors import FieldError, UnknownTemplate
from service.payload.rules import iter_texts, walk_sections
from service.payload.schema import Insert
from service.report.figures import compute_figures, placeholder_errors
from service.report.versions import version_for
from service.style import list_house_styles, load_house_style
from service.style.coverage import uncovered_characters


def report_errors(payload: Any) -> list[FieldError]:
    return list(_report_errors(payload))


def _report_errors(payload: Any) -> Iterator[FieldError]:
    kind = kinds.kind_named(payload.kind)
    attachment = getattr(payload, "attachment", None)
    if attachment is not None:  # a letter's 附件: its own checks, at its place in the letter
        for error in report_errors(attachment):
            yield FieldError("$.attachment" + error.path[1:], error.code, error.message)
    if kind.narrative:
        try:
            version_for(payload.kind, payload.report_year)
        except UnknownTemplate as exc:
            yield FieldError("$.report_year", "no_template_for_year", exc.message)
        figures = compute_figures(payload)
        for path, text in _narrative(payload):
            yield from placeholder_errors(path, text, figures)
        yield from _insert_errors(payload)
    try:
        style = load_house_style(payload.house_style)
    except KeyError:
        known = "、".join(list_house_styles())
        yield FieldError(
            "$.house_style",
            "unknown_house_style",
            f"没有名为“{payload.house_style}”的版式方案；可用的有：{known}",
        )
        return
    for path, text in (kind.texts or iter_texts)(payload):
        missing = uncovered_characters(text, style)
        if missing:
            shown = "、".join(f"“{c}”(U+{ord(c):04X})" for c in missing[:10])
            yield FieldError(
                path, "glyph_not_covered", f"字体无法显示以下字符：{shown}，请改用常用字符"
            )


def _narrative(payload: Any) -> Iterator[tuple[str, str]]:
    for i, text in enumerate(payload.intro):
        yield f"$.intro[{i}]", text
    for path, section in walk_sections(payload.sections):
        for j, block in enumerate(section.content):
            if isinstance(block, str):
                yield f"{path}.content[{j}]", block


def _insert_errors(payload: Any) -> Iterator[FieldError]:
    """An insert whose figures are absent (one the kind does not offer is the kind's rule)."""
    offered = kinds.kind_named(payload.kind).inserts
    inserts = [
        (f"{path}.content[{j}].insert", block.insert)
        for path, section in walk_sections(payload.sections)
        for j, block in enumerate(section.content)
        if isinstance(block, Insert) and (offered is None or block.insert in offered)
    ]
    needs = _insert_needs(payload) if inserts else {}
    for path, name in inserts:
        if needs[name]:
            yield FieldError(
                path,
                "insert_without_figures",
                f"“{name}”需要的数据未在 figures 中提供：{needs[name]}",
            )


def _insert_needs(payload: Any) -> dict[str, str]:
    """What each insert lacks, as the JSON path of the missing figure ("" where nothing)."""
    f = payload.figures
    c = f.complaints
    needs = {
        "review": "" if getattr(f, "review", None) else "$.figures.review",
        "training": "" if getattr(f, "training", None) else "$.figures.training",
        "outreach": "" if getattr(f, "outreach", None) else "$.figures.outreach",
        "complaints.relative_metrics": (
            "" if c.relative_metrics else "$.figures.complaints.relative_metrics"
        ),
        "complaints.group": "",
        "basis": "",
    }
    for name in ("regulator", "direct"):
        source = getattr(c, name)
        path = f"$.figures.complaints.{name}"
        if source is None:
            summary, tables = path, path
        else:
            # the sentence says how many were closed, unless there were none to close
            summary = f"{path}.closed" if source.closed is None and source.total else ""
            tables = "" if source.breakdowns else f"{path}.breakdowns"
        needs[f"complaints.{name}.summary"] = summary
        needs[f"complaints.{name}.tables"] = tables
    both = [f"$.figures.complaints.{n}" for n in ("regulator", "direct") if getattr(c, n) is None]
    needs["complaints.sources.table"] = "、".join(both)
    return needs
