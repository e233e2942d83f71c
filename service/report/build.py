"""Payload -> document model, through the report template of the payload's kind and year.

The Jinja2 template writes a small XML document (see ``templates/<kind>/report.xml.j2``); this
module reads it into the frozen :class:`Document`, numbering headings and tables on the way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from service import TEMPLATES_DIR, kinds
from service.kinds.complaint_figures import METRIC_NAMES, METRIC_UNITS
from service.kinds.letter.model import LetterPayload
from service.model import (
    Document,
    DocumentMeta,
    Heading,
    Mark,
    Paragraph,
    Signature,
    Table,
)
from service.model.figures import (
    DEFAULT_DATE_STYLE,
    chinese_date,
    percent,
    plain_decimal,
    printed_date,
    share,
    share_text,
)
from service.model.numbering import heading_label
from service.model.title import break_title
from service.payload.rules import table_specs
from service.payload.schema import TableBlock
from service.report.figures import compute_figures, fill
from service.report.letter import build_letter
from service.report.table_block import table_blocks
from service.report.tables import breakdown_spec, metrics_table, sources_spec
from service.report.versions import TemplateVersion, version_for
from service.style import load_house_style


@cache
def _environment(templates: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["plain"] = plain_decimal
    env.filters["chinese_date"] = chinese_date
    env.filters["share"] = lambda pair: share_text(share(*pair))
    env.tests["table_block"] = lambda block: isinstance(block, TableBlock)
    env.globals["metric_names"] = METRIC_NAMES
    env.globals["metric_units"] = METRIC_UNITS
    return env


TITLE_LINE_CHARS = 20.1
"""Characters of 二号 type (22 pt) in one line of the 156 mm text block (442.2 pt)."""


def document_title(payload: Any, version: TemplateVersion) -> str:
    """The printed title; a line break (``\n``) stands where a long title divides.

    GB/T 9704 asks a multi-line title to break between words, in a trapezoid or a diamond
    (:func:`service.model.title.break_title`); a title with a break of its own keeps it.
    """
    period_mark = kinds.kind_named(payload.kind).naming(payload).period_mark
    title = payload.title or f"{payload.company.full_name}{period_mark}{version.report_name}"
    return break_title(title, TITLE_LINE_CHARS)


class _MarkedFigures(Mapping[str, str]):
    """The figures as the template prints them when marked: each value inside
    ``<f n="name">…</f>``, which :func:`_marked_text` turns into a :class:`Mark`."""

    def __init__(self, figures: dict[str, str]) -> None:
        self._figures = figures

    def __getitem__(self, name: str) -> str:
        return Markup('<f n="{}">{}</f>').format(name, escape(self._figures[name]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._figures)

    def __len__(self) -> int:
        return len(self._figures)


def render_template_xml(
    payload: Any,
    version: TemplateVersion,
    figures: dict[str, str],
    dates: str = DEFAULT_DATE_STYLE,
    marked: bool = False,
) -> str:
    """The template's XML for ``payload`` (exposed for tests and for debugging wording);
    ``dates`` is the house style's way of printing a date; ``marked``: each printed figure
    inside an ``<f n="name">`` element."""
    env = _environment(kinds.kind_named(payload.kind).templates)
    template = env.get_template(f"{version.kind}/{version.template}")
    shown: Mapping[str, str] = _MarkedFigures(figures) if marked else figures
    return template.render(
        p=payload,
        v=version,
        fig=shown,
        title=document_title(payload, version),
        period=kinds.kind_named(payload.kind).naming(payload).period_mark,
        date=lambda d: printed_date(d, dates),
        fill=lambda text: Markup(fill(str(escape(text)), shown)) if marked else fill(text, figures),
    )


def build_document(payload: Any, house_style: str | None = None) -> Document:
    """The document model of a valid payload (see :func:`service.kinds.parse_payload`)."""
    kind = kinds.kind_named(payload.kind)
    if isinstance(payload, LetterPayload):
        return build_letter(payload, house_style, build_document)
    naming = kind.naming(payload)
    version = version_for(payload.kind, payload.report_year)
    figures = compute_figures(payload)
    style_name = house_style or payload.house_style
    style = load_house_style(style_name)
    rounding_note = style.table.rounding_note
    xml = render_template_xml(payload, version, figures, style.dates, marked=True)
    root = ET.fromstring(xml)
    specs = iter(table_specs(payload.sections))
    blocks: list[Heading | Paragraph | Table] = []
    counters: list[int] = []
    tables = 0
    title = ""
    signature = None
    for element, origin in _elements(root):
        text = (element.text or "").strip()
        if element.tag == "title":
            title = text
        elif element.tag == "lead":
            blocks.append(Paragraph(text, role="lead"))
        elif element.tag == "p":
            joined, marks = _marked_text(element)
            blocks.append(Paragraph(joined, marks=marks, origin=origin))
        elif element.tag == "heading":
            depth = int(element.get("depth", "1"))
            del counters[depth:]
            counters.extend([0] * (depth - len(counters)))
            counters[depth - 1] += 1
            level = payload.ladder_start + depth - 1
            number = counters[depth - 1]
            blocks.append(Heading(level, number, heading_label(level, number), text))
        elif element.tag == "table":
            tables += 1
            source_name = element.get("source", "")
            source = getattr(payload.figures.complaints, source_name)
            breakdown = source.breakdowns[int(element.get("index", "0"))]
            spec = breakdown_spec(source_name, source, breakdown)
            blocks += _from(origin, table_blocks(tables, spec, rounding_note))
        elif element.tag == "sourcestable":
            tables += 1
            spec = sources_spec(payload.figures.complaints)
            blocks += _from(origin, table_blocks(tables, spec, rounding_note))
        elif element.tag == "datatable":
            tables += 1
            blocks += table_blocks(tables, next(specs), rounding_note)
        elif element.tag == "metrics":
            tables += 1
            metrics = list(payload.figures.complaints.relative_metrics)
            blocks += _from(origin, [metrics_table(tables, metrics)])
        elif element.tag == "signature":
            signature = Signature(element.get("signer", ""), element.get("date", ""))
        else:
            raise ValueError(f"report template wrote an unknown element <{element.tag}>")
    meta = DocumentMeta(
        title=title.replace("\n", ""),
        author=payload.company.full_name,
        subject=f"{naming.period_mark}{version.report_name}",
        keywords=(payload.company.short_name, naming.period_mark, *kind.keywords),
        language="zh-CN",
        created=payload.publish_date,
        report_kind=payload.kind,
        report_year=payload.report_year,
        company_short_name=payload.company.short_name,
        template_version=f"{version.kind}/{version.id}",
        house_style=style_name,
    )
    return Document(
        meta=meta, title=title, blocks=tuple(blocks), signature=signature, figures=figures
    )


def _from(origin: str, blocks: list[Table | Paragraph] | list[Table]) -> list[Table | Paragraph]:
    """``blocks`` with their origin set."""
    return [replace(block, origin=origin) for block in blocks]


def _elements(root: ET.Element) -> Iterator[tuple[ET.Element, str]]:
    """The template's elements in order with their origin: ``insert:<name>`` inside an
    ``<insert name>``, else ``""`` (the payload's own text)."""
    for element in root:
        if element.tag == "insert":
            for child in element:
                yield child, f"insert:{element.get('name', '')}"
        else:
            yield element, ""


_OPEN, _CLOSE = "\ue000", "\ue001"
"""Private-use sentinels around a figure while the template's lines are joined."""


def _marked_text(element: ET.Element) -> tuple[str, tuple[Mark, ...]]:
    """A ``<p>``'s text, its lines joined, and where its ``<f n>`` figures stand."""
    names: list[str] = []
    pieces = [element.text or ""]
    for child in element:
        names.append(child.get("n", ""))
        pieces += [_OPEN, child.text or "", _CLOSE, child.tail or ""]
    joined = _join_lines("".join(pieces))
    text: list[str] = []
    marks: list[Mark] = []
    length = start = 0
    for char in joined:
        if char == _OPEN:
            start = length
        elif char == _CLOSE:
            marks.append(Mark(start, length, names[len(marks)]))
        else:
            text.append(char)
            length += 1
    return "".join(text), tuple(marks)


def _join_lines(text: str) -> str:
    """Template lines are joined without a separator: Chinese prose has no spaces between lines."""
    return "".join(line.strip() for line in text.splitlines())
