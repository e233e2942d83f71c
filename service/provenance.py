"""How a document was made: the facts a manifest records and a PDF carries beside its payload.

The same facts go into the store's manifest (:class:`service.store.models.Manifest`, which adds
each output's hash) and, as ``manifest.json``, into the archival PDF with the payload as
``payload.json``, so that a filed PDF tells what it was made from and with.
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import cache
from importlib import metadata
from typing import Any

from service.model import Document
from service.style import HouseStyle

LIBRARIES = ("weasyprint", "python-docx", "pydantic", "fonttools")


@cache
def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the output, as installed in this process."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def payload_bytes(raw: bytes | str | dict[str, Any]) -> bytes:
    """The payload as the file the PDF carries: bytes as received, else canonical JSON."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode()
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, indent=2).encode()


def render_manifest(document: Document, style: HouseStyle, payload: bytes) -> dict[str, Any]:
    """The facts of one render, before its outputs exist (deterministic: no clock, no host)."""
    return {
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "report_kind": document.meta.report_kind,
        "report_year": document.meta.report_year,
        "template_version": document.meta.template_version,
        "house_style": style.name,
        "house_style_version": style.version,
        "fonts": role_font_files(style),
        "fallback_fonts": fallback_font_files(style),
        "libraries": library_versions(),
    }


def role_font_files(style: HouseStyle) -> dict[str, str]:
    """File -> SHA-256 of every face a role of ``style`` names (what ``fonts`` has always
    listed)."""
    return {face.file: face.sha256 for face in style.used_faces()}


def fallback_font_files(style: HouseStyle) -> dict[str, str]:
    """File -> SHA-256 of the fallback faces of those faces: the faces that draw, and are
    embedded for, the characters a role's face lacks (in the DOCX also the overflow fonts made
    from them). With :func:`role_font_files`, every face file an output can embed a font from."""
    faces = [f for face in style.used_faces() for f in style.fallbacks_of(face)]
    return {face.file: face.sha256 for face in faces if face.file not in role_font_files(style)}
