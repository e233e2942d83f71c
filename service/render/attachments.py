"""The files a PDF carries besides its pages (PDF/A-3 associated files), as the pipeline names
them for the PDF writer.

A module of its own, free of WeasyPrint, so that naming them (:func:`service.pipeline.pdf_files`)
imports no writer: ``pilu batch``'s own process renders nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmbeddedFile:
    """A file the PDF carries (PDF/A-3 associated file). ``relationship`` is the
    ``AFRelationship``: ``Source`` for the data the document was made from."""

    name: str
    data: bytes
    description: str
    relationship: str
