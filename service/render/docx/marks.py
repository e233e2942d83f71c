"""Bookmarks around the values the writer prints from figures, and the part that names them.

Each marked value gets a bookmark ``_Pilu<n>`` around its own run (``n`` from 1 in writing
order) and a line ``<m b="_Pilu<n>" f="<figure>"/>`` in a custom XML part
(:data:`service.formats.MARKS_NAMESPACE`). Why bookmarks: LibreOffice 7.4 writes a run-level
content control back with an empty ``w:sdtPr`` (its tag lost) but keeps bookmarks and custom XML
parts through "save as DOCX"; Word and WPS keep both. A bookmark name holds at most 40 letters,
digits and ``_``, too few for a figure's dotted name, hence the separate part.

A paragraph of generated content (``Paragraph.origin``), and the caption of a generated table,
is bookmarked whole in the same way, its "figure" the origin (``insert:complaints.group``).

A bookmark does not change how the text looks or breaks: the marked value is a run of the
paragraph's style like any other. What the marks cannot say: a value the editor retyped outside
the bookmark (typing just after its end) is read as prose, not as the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from docx.document import Document as DocxDocument
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from lxml import etree

from service.formats import MARK_BOOKMARK_PREFIX, MARKS_NAMESPACE
from service.model.document import Mark
from service.render.docx import oxml

ITEM_ID = "{6B1B3C1E-5A1D-4F0E-9C35-50494C550001}"
"""The data store item id of the marks part: fixed, so that the same document gives the same
bytes."""


class MarkWriter:
    """Writes marked text into paragraphs and collects what each bookmark marks."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []

    def _next(self, figure: str) -> tuple[int, str]:
        mark_id = len(self.pairs) + 1
        name = f"{MARK_BOOKMARK_PREFIX}{mark_id}"
        self.pairs.append((name, figure))
        return mark_id, name

    def _bookmark(self, run: etree._Element, figure: str) -> None:
        oxml.bookmark_around(run, run, *self._next(figure))

    def origin(self, paragraph: etree._Element, origin: str) -> None:
        """Bookmark all of ``paragraph`` as written by ``origin`` (a generated content's
        paragraph or a generated table's caption); nothing for the payload's own text."""
        if origin:
            oxml.bookmark_paragraph(paragraph, *self._next(origin))

    def text(self, paragraph: etree._Element, text: str, marks: Sequence[Mark]) -> None:
        """``text`` as runs at the end of ``paragraph``, each of ``marks`` a bookmarked run."""
        at = 0
        for mark in marks:
            if mark.start > at:
                oxml.append_run(paragraph, text[at : mark.start])
            if mark.end > mark.start:
                self._bookmark(oxml.append_run(paragraph, text[mark.start : mark.end]), mark.name)
            at = mark.end
        if at < len(text):
            oxml.append_run(paragraph, text[at:])

    def cell(self, paragraph: etree._Element, figure: str) -> None:
        """Bookmark the last run of a table cell's ``paragraph`` as ``figure``."""
        runs = paragraph.findall(qn("w:r"))
        if runs:
            self._bookmark(runs[-1], figure)

    def attach(self, doc: DocxDocument, kind: str) -> None:
        """Add the custom XML part naming every bookmark (none if nothing was marked)."""
        if not self.pairs:
            return
        package = doc.part.package
        item = Part(
            PackURI("/customXml/item1.xml"),
            "application/xml",
            oxml.marks_part(MARKS_NAMESPACE, kind, self.pairs),
            package,
        )
        props = Part(
            PackURI("/customXml/itemProps1.xml"),
            CT.OFC_CUSTOM_XML_PROPERTIES,
            oxml.custom_xml_properties(ITEM_ID, MARKS_NAMESPACE),
            package,
        )
        item.relate_to(props, RT.CUSTOM_XML_PROPS)
        doc.part.relate_to(item, RT.CUSTOM_XML)


def cell_figure(table: int, row: int, column: int) -> str:
    """The name of a table cell's figure (:data:`service.formats.MARKS_NAMESPACE`)."""
    return f"table:{table}:{row}:{column}"
