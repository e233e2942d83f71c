"""The functions the API's handlers run in a worker: bytes in, bytes (or a small dict) out.

Module-level so a worker can import them by name; the pool (:mod:`service.workers`) knows them
only as functions it is given. They call :mod:`service.pipeline` and do the little the pipeline
does not: pick one output and name its file. A ZIP of both formats is packed by the server from
two renders (:func:`service.api.handlers.render`), so that two workers can make its members side
by side.
"""

from __future__ import annotations

from typing import Any

from service import pipeline
from service.render.parity import compare_docx_pdf
from service.signing import sign_outputs
from service.style import as_pdf_variant, load_house_style

OUTPUT_FORMATS: tuple[str, ...] = (*pipeline.FORMATS, "zip")
"""What the API can send: each document format, and ``zip`` holding all of them."""


def render(raw: bytes, fmt: str, pdf_variant: str | None = None) -> tuple[bytes, str]:
    """The document in ``fmt`` (one of :data:`pipeline.FORMATS`) and its file name (Chinese);
    a PDF is of ``pdf_variant``, else of the house style's."""
    payload, document = pipeline.build(raw)
    outputs = pipeline.render_document(
        document, (fmt,), source=raw, pdf_variant=as_pdf_variant(pdf_variant)
    )
    sign_outputs(outputs)
    return outputs[fmt], pipeline.output_filename(payload, fmt)


def preview(raw: bytes) -> dict[str, Any]:
    return pipeline.preview(raw)


def parity(docx: bytes, pdf: bytes, house_style: str) -> dict[str, Any]:
    """The parity check of one version's two outputs (:mod:`service.render.parity`), as plain
    data (:meth:`~service.render.parity.ParityReport.as_json`). Page numbers are removed by the
    format of today's profile ``house_style`` (the default format when it is gone)."""
    try:
        number_format = load_house_style(house_style).page_number.format
    except (KeyError, ValueError):
        number_format = load_house_style().page_number.format
    return compare_docx_pdf(docx, pdf, page_number_format=number_format).as_json()
