"""Reading an edited DOCX back into a payload: Pilu's guarantees past the officer's edits.

:func:`read_back` takes the uploaded DOCX and the payload of the version it was downloaded as,
and gives the payload the document now says, validated like any payload, with the document it
prints and a diff against the base (:mod:`.diff`). The steps, one module each:
:mod:`.package` (the ZIP vetted), :mod:`.document` (paragraphs, tables and marks read),
:mod:`.payload` (blocks -> payload, with :mod:`.tables`, collected in a :mod:`.reading`),
:mod:`.checks` (the document against what the new payload prints).

A DOCX without Pilu's marks (:mod:`service.render.docx.marks`) is refused unless ``best_effort``:
then tables are matched by order, figures and generated texts are read as plain text, and a
paragraph in an unknown style, an image, a text box or a comment is said in ``warnings`` instead
of refusing the document. Tracked changes are refused in both modes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service import pipeline
from service.errors import FieldError, PayloadInvalid
from service.kinds import kind_named
from service.model import Document
from service.payload.parse import decode_json
from service.readback.checks import check_against
from service.readback.diff import document_diff
from service.readback.document import read_document
from service.readback.errors import DocxRefused, ReadBackFailed
from service.readback.package import open_docx
from service.readback.payload import payload_of, take_date
from service.report.build import build_document

__all__ = ["DocxRefused", "ReadBack", "ReadBackFailed", "read_back"]

DEFAULT_MAX_UNPACKED = 64 * 1024 * 1024
"""Bytes of XML an upload may inflate to (Pilu's own XML parts are well under 1 MiB)."""

_SOFT = frozenset({"docx_unknown_style", "docx_image", "docx_text_box", "docx_comments"})
"""Problems a best-effort import reports as warnings (what they stand for is left out)."""


@dataclass(frozen=True, slots=True)
class ReadBack:
    payload: bytes
    """The new payload as JSON (UTF-8, keys in the base's order, decimals exact)."""
    document: Document
    diff: dict[str, Any]
    warnings: tuple[FieldError, ...]


def read_back(
    docx: bytes,
    base_payload: bytes,
    *,
    best_effort: bool = False,
    max_unpacked: int = DEFAULT_MAX_UNPACKED,
) -> ReadBack:
    """The payload ``docx`` says, built on ``base_payload`` (the version it was downloaded as).

    Raises :class:`DocxRefused` for a package not opened at all, :class:`ReadBackFailed` with
    every problem (each naming its place in the document) otherwise.
    """
    package = open_docx(docx, max_unpacked)
    read = read_document(package)
    base = pipeline.parse_payload(base_payload)
    base_raw = decode_json(base_payload)
    kind = kind_named(base.kind)
    if not kind.narrative:
        raise ReadBackFailed(
            [
                FieldError(
                    "文档", "docx_kind", f"“{kind.label}”类文档暂不能从Word读回，请修改报送数据"
                )
            ]
        )
    if read.kind and read.kind != base.kind:
        raise ReadBackFailed(
            [FieldError("文档", "docx_kind", f"上传的是“{read.kind}”类文档，与原文档的类型不一致")]
        )
    if not read.marked and not best_effort:
        raise ReadBackFailed(
            [
                FieldError(
                    "文档",
                    "docx_not_marked",
                    "文档中没有本系统写入的数据标记，不是从本系统下载的文档（或标记已被删除）；"
                    "如仍要按文字尽量读回，请选择“尽力读回”（mode=best-effort）",
                )
            ]
        )
    problems = list(read.problems)
    warnings = []
    if best_effort:
        warnings = [p for p in problems if p.code in _SOFT]
        problems = [p for p in problems if p.code not in _SOFT]
    base_doc = build_document(base)
    reading = payload_of(read, base, base_raw, base_doc)
    take_date(reading, base_doc)
    problems += reading.problems
    if problems:
        raise ReadBackFailed(problems)
    try:
        _, new_doc = pipeline.build(reading.payload)
    except PayloadInvalid as exc:
        raise ReadBackFailed([reading.placed(e) for e in exc.errors]) from None
    reading.problems.clear()
    check_against(reading, new_doc)
    if reading.problems:
        raise ReadBackFailed(reading.problems)
    return ReadBack(
        payload_json(reading.payload),
        new_doc,
        document_diff(base_doc, new_doc),
        tuple(warnings),
    )


_DECIMAL = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')


def payload_json(payload: dict[str, Any]) -> bytes:
    """``payload`` as indented JSON, a :class:`~decimal.Decimal` as the number it is."""

    def number(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"\0{format(value, 'f')}\0"
        raise TypeError(type(value).__name__)

    text = json.dumps(payload, ensure_ascii=False, indent=2, default=number)
    return _DECIMAL.sub(r"\1", text).encode() + b"\n"
