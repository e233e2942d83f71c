"""The functions the API runs in a worker: bytes in, bytes (or a small dict) out.

Module-level so a worker can import them by name. They call :mod:`service.pipeline` and do the
little the pipeline does not: pick one output or pack both into a ZIP, and name the file.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from service import pipeline

OUTPUT_FORMATS: tuple[str, ...] = (*pipeline.FORMATS, "zip")
"""What the API can send: each document format, and ``zip`` holding all of them."""

_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def render(raw: bytes, fmt: str) -> tuple[bytes, str]:
    """The document in ``fmt`` (one of :data:`OUTPUT_FORMATS`) and its file name (Chinese)."""
    formats = pipeline.FORMATS if fmt == "zip" else (fmt,)
    documents = pipeline.render_payload(raw, formats)
    payload = pipeline.parse_payload(raw)  # valid: render_payload has just accepted it
    if fmt == "zip":
        members = {pipeline.output_filename(payload, f): documents[f] for f in formats}
        return deterministic_zip(members), pipeline.output_filename(payload, "zip")
    return documents[fmt], pipeline.output_filename(payload, fmt)


def preview(raw: bytes) -> dict[str, Any]:
    return pipeline.preview(raw)


def deterministic_zip(members: dict[str, bytes]) -> bytes:
    """A ZIP whose bytes depend only on ``members``: sorted names, fixed 1980-01-01 timestamps,
    fixed permissions (0644) and host system. Names are UTF-8 (zipfile sets the flag itself).

    Members are stored, not deflated: PDF streams and DOCX parts are already compressed.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            archive.writestr(info, members[name])
    return buffer.getvalue()
