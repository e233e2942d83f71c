"""The whole way from payload bytes to documents, as the CLI, the API and the workers use it.

Everything here takes and returns plain bytes and dicts, so it can run in a worker process.
"""

from __future__ import annotations

import json
import re
from typing import Any

from service import kinds
from service.errors import FieldError, PayloadInvalid
from service.kinds import payload_json_schema
from service.model import Document
from service.payload.parse import decode_json
from service.provenance import payload_bytes, render_manifest
from service.render.allocator import keep_large_buffers
from service.render.attachments import EmbeddedFile
from service.report import build_document, template_versions
from service.report.checks import report_errors
from service.style import HouseStyle, PdfVariant, list_house_styles, load_house_style

FORMATS = ("pdf", "docx")

__all__ = [
    "FORMATS",
    "build",
    "company_id",
    "output_filename",
    "parse_payload",
    "payload_json_schema",
    "preview",
    "render_document",
    "render_payload",
    "report_period",
    "warm_up",
]


Payload = Any
"""A parsed payload of any kind (the model of its kind, :attr:`service.kinds.Kind.model`)."""


def parse_payload(raw: bytes | str | dict[str, Any]) -> Payload:
    """A payload of its kind that passed the schema, its rules and the report checks; else
    ``PayloadInvalid``."""
    return kinds.parse_payload(raw, extra_checks=(report_errors,))


def company_id(raw: bytes) -> str:
    """The payload's ``company.id``, read without validating the rest (for access checks)."""
    obj = decode_json(raw)
    company = obj.get("company") if isinstance(obj, dict) else None
    value = company.get("id") if isinstance(company, dict) else None
    if not isinstance(value, str) or not value:
        raise PayloadInvalid([FieldError("$.company.id", "missing", "缺少必填项")])
    return value


def build(raw: bytes | str | dict[str, Any]) -> tuple[Payload, Document]:
    payload = parse_payload(raw)
    return payload, build_document(payload)


def preview(raw: bytes) -> dict[str, Any]:
    """What will be printed, for a last check: every computed figure and the table totals."""
    payload, document = build(raw)
    return {
        "company": payload.company.model_dump(),
        "kind": payload.kind,
        "report_year": document.meta.report_year,
        "template_version": document.meta.template_version,
        "house_style": document.meta.house_style,
        "title": document.title,
        "figures": dict(document.figures),
        "headings": [h.full_text for h in document.headings],
        "tables": [
            {
                "caption": t.caption,
                "columns": [c.title for c in t.columns],
                "rows": [list(r.cells) for r in t.rows],
            }
            for t in document.tables
        ],
        "filename_stem": filename_stem(payload),
    }


def report_period(payload: Payload) -> str:
    """The period within the year a document covers (``第一季度``), ``""`` for a whole year:
    with company, kind and year, the document's identity in the store."""
    return kinds.kind_named(payload.kind).naming(payload).period


def render_document(
    document: Document,
    formats: tuple[str, ...] = FORMATS,
    source: bytes | str | dict[str, Any] | None = None,
    pdf_variant: PdfVariant | None = None,
) -> dict[str, bytes]:
    """``document`` in each of ``formats``. An archival PDF carries ``source`` (the payload the
    document was built from) and the render manifest, when ``source`` is given. ``pdf_variant``
    (a request's choice) overrides the house style's ``[pdf] variant``."""
    style = load_house_style(document.meta.house_style)
    out: dict[str, bytes] = {}
    for fmt in formats:
        if fmt == "pdf":
            files = pdf_files(document, style, source)
            out[fmt] = _writer(fmt)(document, style, files, pdf_variant)
        else:
            out[fmt] = _writer(fmt)(document, style)
    return out


def pdf_files(
    document: Document, style: HouseStyle, source: bytes | str | dict[str, Any] | None
) -> tuple[EmbeddedFile, ...]:
    """``payload.json`` (AFRelationship Source) and ``manifest.json`` for the PDF, or none."""
    if source is None:
        return ()
    payload = payload_bytes(source)
    manifest = render_manifest(document, style, payload)
    return (
        EmbeddedFile("payload.json", payload, "生成本文件的披露数据（JSON）", "Source"),
        EmbeddedFile(
            "manifest.json",
            json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2).encode(),
            "生成记录：模板、版式、字体与程序版本，及披露数据的SHA-256",
            "Supplement",
        ),
    )


def render_payload(
    raw: bytes, formats: tuple[str, ...] = FORMATS, pdf_variant: PdfVariant | None = None
) -> dict[str, bytes]:
    """Validate, build and render: ``{"pdf": b"…", "docx": b"…"}`` for the formats asked."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown formats: {unknown}")
    _, document = build(raw)
    return render_document(document, formats, source=raw, pdf_variant=pdf_variant)


_NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
"""Path separators, control characters (CR, LF, tab…) and what Windows forbids in a name."""

MAX_FILENAME_BYTES = 240
"""Bytes of UTF-8 in a file name: 255 is what file systems hold; the rest leaves room for the
``-2``, ``-3`` … a batch adds to a name two items share."""


def filename_stem(payload: Payload, fmt: str = "docx") -> str:
    """``小康人寿-2023-消费者权益保护工作重大信息披露``, ``样例人寿-2022Q1-消费投诉情况信息披露``:
    company, period and kind, a plain file name, never a path.

    The short name is the company's own text: path separators, control characters and
    characters Windows refuses become ``_``, and leading dots go, so that a name such as
    ``../../x`` can neither leave the CLI's ``--out`` folder nor a ZIP's extraction folder.
    A short name too long for :data:`MAX_FILENAME_BYTES` (with ``.fmt``) is cut at a character,
    so that the period and the kind stay; a letter's long subject is cut too, down to what
    leaves :data:`SHORT_NAME_KEPT_BYTES` of the short name.
    """
    kind = kinds.kind_named(payload.kind)
    naming = kind.naming(payload)
    short = _clean(payload.company.short_name)
    name = _clean(naming.name or kind.label)
    room = MAX_FILENAME_BYTES - len(f"-{naming.period_code}-.{fmt}".encode())
    name = _cut(name, room - min(len(short.encode()), SHORT_NAME_KEPT_BYTES))
    short = _cut(short, room - len(name.encode()))
    return f"{short}-{naming.period_code}-{name}"


SHORT_NAME_KEPT_BYTES = 60
"""Of a short name, what a long document name (a letter's subject) leaves at least."""


def _clean(text: str) -> str:
    return _NOT_IN_FILE_NAMES.sub("_", text).lstrip(". ") or "_"


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to ``max_bytes`` of UTF-8 at a character boundary (never empty)."""
    return text.encode()[: max(max_bytes, 1)].decode("utf-8", errors="ignore").rstrip(". ") or "_"


def output_filename(raw_or_payload: bytes | Payload, fmt: str) -> str:
    """``小康人寿-2023-消费者权益保护工作重大信息披露.pdf`` (``fmt`` pdf, docx or zip)."""
    payload = parse_payload(raw_or_payload) if isinstance(raw_or_payload, bytes) else raw_or_payload
    return f"{filename_stem(payload, fmt)}.{fmt}"


def warm_up() -> None:
    """Load templates, house styles, fonts and CSS once, and render a small document in each
    house style, so that the first real request pays for nothing (the first render of a process
    otherwise costs about 0.7 s more than the next: lazy imports, shaping caches, font subsets).
    The process's allocator is also told to keep the large buffers renders make
    (:mod:`service.render.allocator`)."""
    keep_large_buffers()
    load_template_versions()
    sample = kinds.kind_named("consumer-protection-annual").sample
    payload = parse_payload(dict(sample))
    for name in list_house_styles():
        style = load_house_style(name)
        for fmt in FORMATS:
            _warm_writer(fmt, style)
        document = build_document(payload, house_style=name)
        render_document(document, FORMATS, source=dict(sample))


def load_template_versions() -> None:
    """Read every narrative kind's template versions now (they are read once per process)."""
    for kind in kinds.KINDS.values():
        if kind.narrative:
            template_versions(kind.name)


def _writer(fmt: str) -> Any:
    if fmt == "pdf":
        from service.render.pdf import render_pdf

        return render_pdf
    if fmt == "docx":
        from service.render.docx import render_docx

        return render_docx
    raise ValueError(f"unknown format {fmt!r}")


def _warm_writer(fmt: str, style: HouseStyle) -> None:
    module = __import__(f"service.render.{fmt}", fromlist=["warm_up"])
    warm = getattr(module, "warm_up", None)
    if warm is not None:
        warm(style)
