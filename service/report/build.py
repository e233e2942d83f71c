"""Payload -> document model, through the report template of the payload's kind and year.

The Jinja2 template writes a small XML document (see ``templates/<kind>/report.xml.j2``); this
module reads it into the frozen :class:`Document`, numbering headings and tables on the way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from service import TEMPLATES_DIR, kinds
from service.kinds.complaint_figures import METRIC_NAMES, METRIC_UNITS
from service.kinds.letter.model import LetterPayload
from service.model import Document, DocumentMeta, Heading, Paragraph, Signature, Table
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


def render_template_xml(
    payload: Any,
    version: TemplateVersion,
    figures: dict[str, str],
    dates: str = DEFAULT_DATE_STYLE,
) -> str:
    """The template's XML for ``payload`` (exposed for tests and for debugging wording);
    ``dates`` is the house style's way of printing a date."""
    env = _environment(kinds.kind_named(payload.kind).templates)
    template = env.get_template(f"{version.kind}/{version.template}")
    return template.render(
        p=payload,
        v=version,
        fig=figures,
        title=document_title(payload, version),
        period=kinds.kind_named(payload.kind).naming(payload).period_mark,
        date=lambda d: printed_date(d, dates),
        fill=lambda text: fill(text, figures),
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
    xml = render_template_xml(payload, version, figures, style.dates)
    root = ET.fromstring(xml)
    specs = iter(table_specs(payload.sections))
    blocks: list[Heading | Paragraph | Table] = []
    counters: list[int] = []
    tables = 0
    title = ""
    signature = None
    for element in root:
        text = (element.text or "").strip()
        if element.tag == "title":
            title = text
        elif element.tag == "lead":
            blocks.append(Paragraph(text, role="lead"))
        elif element.tag == "p":
            blocks.append(Paragraph(_join_lines(element.text or "")))
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
            blocks += table_blocks(tables, spec, rounding_note)
        elif element.tag == "sourcestable":
            tables += 1
            blocks += table_blocks(tables, sources_spec(payload.figures.complaints), rounding_note)
        elif element.tag == "datatable":
            tables += 1
            blocks += table_blocks(tables, next(specs), rounding_note)
        elif element.tag == "metrics":
            tables += 1
            blocks.append(metrics_table(tables, list(payload.figures.complaints.relative_metrics)))
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


def _join_lines(text: str) -> str:
    """Template lines are joined without a separator: Chinese prose has no spaces between lines."""
    return "".join(line.strip() for line in text.splitlines())
