"""Refuse, before writing, a document with a character the house style's fonts cannot draw.

Both writers call :func:`check_coverage`. In the PDF, Pango silently falls back to any system
font for a character our faces lack, and that search can be very slow (one U+2011 once cost 55 s
of layout); in the DOCX, Word and LibreOffice would set it in whatever system font has it (or a
box), and the embedded subsets could not hold it. Payloads are checked the same way by
:mod:`service.report.checks`; the writers check again because they accept any
:class:`~service.model.Document`, and also the page numbers the house style adds.
"""

from __future__ import annotations

from service.errors import RenderFailed
from service.model.document import Document
from service.style.coverage import UnreadableFont, uncovered_characters
from service.style.house_style import HouseStyle


def check_coverage(document: Document, style: HouseStyle) -> None:
    """Raise :class:`RenderFailed` naming every character some face of ``style`` lacks."""
    text = document.plain_text() + style.page_number.format.replace("{n}", "0123456789")
    try:
        missing = uncovered_characters(text, style)
    except UnreadableFont as exc:
        raise RenderFailed(f"a font of house style {style.name} cannot be read: {exc}") from exc
    if missing:
        listed = [f"U+{ord(char):04X} {char!r}" for char in missing]
        raise RenderFailed(
            "characters the house-style fonts cannot draw: " + ", ".join(listed), details=listed
        )
