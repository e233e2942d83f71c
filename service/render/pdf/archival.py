"""PDF/A-3b and PDF/UA-1 on top of WeasyPrint: what its ``pdf/a-3b`` variant and tags lack.

WeasyPrint's ``pdf_variant="pdf/a-3b"`` writes the ``pdfaid`` XMP, the sRGB output intent (its own
``sRGB2014.icc``), the file identifier and the ``AF`` array of the attachments; ``pdf_tags``
writes a structure tree from the HTML elements, ``Lang``, ``MarkInfo`` and ``DisplayDocTitle``.
The CJK fonts need nothing more: they are embedded OpenType CFF subsets (``CIDFontType0``,
``FontFile3``/``OpenType``), for which PDF/A-3 asks no ``CIDToGIDMap`` and allows no ``CIDSet``
(WeasyPrint writes one only below PDF 1.5). What is added here:

- the ``pdfuaid`` XMP property with the PDF/A extension schema that declares it;
- attachments dated by the document, not by the wall clock, so the bytes stay reproducible;
- structure types the HTML elements cannot say: the element's ``data-tag`` (``H1``…``H4``,
  ``Caption``, ``Note``) replaces WeasyPrint's choice;
- one structure element per HTML element: a paragraph or table that runs onto the next page is
  one ``P`` or ``Table`` (WeasyPrint starts a new one on every page; a table's header row
  repeated there becomes a ``Pagination`` artifact, read once), a table's caption is its
  first child, header cells carry ``Scope /Column``, and the ``ID`` of every header cell is in the
  ``IDTree`` that PDF 1.7 requires for ``Headers``;
- the page margins (page numbers, any running header or footer) as ``Artifact`` content
  (``/Artifact <</Type /Pagination /Subtype /Footer>> BDC``): WeasyPrint marks their text with
  an ``MCID`` and builds structure elements it links nowhere (PDF 1.7 has no place for them in
  the tree), which PDF/UA-1 7.1 refuses; a screen reader skips an artifact.

:func:`tag_rules` hooks WeasyPrint's tagger and content stream for one render
(:mod:`weasyprint.pdf.tags` and :mod:`weasyprint.pdf.stream` are internal: the lock pins the
version this was written against).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, fromstring, tostring

import pydyf
from weasyprint import Attachment
from weasyprint.formatting_structure.boxes import MarginBox
from weasyprint.pdf import metadata as wp_metadata
from weasyprint.pdf import stream as wp_stream
from weasyprint.pdf import tags as wp_tags

from service.render.attachments import EmbeddedFile

VARIANT = "pdf/a-3b"
TAG_ATTRIBUTE = "data-tag"
"""The HTML attribute naming a block's structure type when it is not the element's own."""

_RDF = wp_metadata.NS["rdf"]
_PDFUAID = wp_metadata.NS["pdfuaid"]
_PDFA_EXTENSION = "http://www.aiim.org/pdfa/ns/extension/"
_PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"


class ArchivalMetadata(wp_metadata.DocumentMetadata):  # type: ignore[misc]
    """WeasyPrint's metadata plus ``pdfuaid:part`` 1 and the extension schema declaring it
    (PDF/A-3 allows only declared XMP properties)."""

    def generate_rdf_metadata(self, variant: str, version: int, conformance: str) -> bytes:
        rdf = fromstring(super().generate_rdf_metadata(variant, version, conformance))
        ua = SubElement(rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
        SubElement(ua, f"{{{_PDFUAID}}}part").text = "1"
        rdf.append(_pdfuaid_extension_schema())
        data: bytes = tostring(rdf, encoding="utf-8")
        return data


def _pdfuaid_extension_schema() -> Element:
    description = Element(f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
    schemas = SubElement(description, f"{{{_PDFA_EXTENSION}}}schemas")
    bag = SubElement(schemas, f"{{{_RDF}}}Bag")
    schema = SubElement(bag, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}schema").text = "PDF/UA Universal Accessibility Schema"
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}namespaceURI").text = _PDFUAID
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}prefix").text = "pdfuaid"
    properties = SubElement(schema, f"{{{_PDFA_SCHEMA}}}property")
    seq = SubElement(properties, f"{{{_RDF}}}Seq")
    prop = SubElement(seq, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    SubElement(prop, f"{{{_PDFA_PROPERTY}}}name").text = "part"
    SubElement(prop, f"{{{_PDFA_PROPERTY}}}valueType").text = "Integer"
    SubElement(prop, f"{{{_PDFA_PROPERTY}}}category").text = "internal"
    SubElement(
        prop, f"{{{_PDFA_PROPERTY}}}description"
    ).text = "Indicates, which part of ISO 14289 standard is followed"
    return description


def make_archival(document: Any, files: tuple[EmbeddedFile, ...], when: datetime) -> None:
    """Give a laid-out WeasyPrint ``document`` the archival metadata and ``files``, dated
    ``when`` (the document's date: the bytes must not depend on the day of the render)."""
    metadata = ArchivalMetadata()
    metadata.__dict__.update(document.metadata.__dict__)
    metadata.attachments = [
        Attachment(
            string=file.data,
            name=file.name,
            description=file.description,
            created=when,
            modified=when,
            relationship=file.relationship,
        )
        for file in files
    ]
    document.metadata = metadata


# --- structure tree ---------------------------------------------------------------------------

_original_build_box_tree = wp_tags._build_box_tree
_local = threading.local()


def _build_box_tree(box: Any, parent: Any, pdf: Any, *args: Any) -> Iterator[Any]:
    """WeasyPrint's tagger, remembering which HTML element each structure element is for and
    applying the element's ``data-tag``; margin boxes (artifacts) get no structure element."""
    html_element = getattr(box, "element", None)
    sources = getattr(_local, "sources", None)
    if sources is not None and isinstance(box, MarginBox):
        return
    for element in _original_build_box_tree(box, parent, pdf, *args):
        if sources is not None and html_element is not None and element["P"] == parent.reference:
            sources.setdefault(element.reference, html_element)
            tag = html_element.get(TAG_ATTRIBUTE)
            own_box = "::" not in (box.element_tag or "")  # not a ::before marker
            if tag and own_box and sources[element.reference] is html_element:
                element["S"] = f"/{tag}"
        yield element


wp_tags._build_box_tree = _build_box_tree

_original_marked = wp_stream.Stream.marked


@contextmanager
def _marked(stream: Any, box: Any, tag: str) -> Iterator[None]:
    """WeasyPrint's marked content, or an ``Artifact`` of the page's header or footer for the
    text of a margin box."""
    subtype = getattr(_local, "artifacts", {}).get(id(box))
    if subtype is None or stream._tags is None:
        with _original_marked(stream, box, tag):
            yield
        return
    properties = pydyf.Dictionary({"Type": "/Pagination"})
    if subtype:
        properties["Subtype"] = f"/{subtype}"
    pydyf.Stream.begin_marked_content(stream, "Artifact", properties)
    try:
        yield
    finally:
        pydyf.Stream.end_marked_content(stream)


wp_stream.Stream.marked = _marked


def _margin_artifacts(document: Any) -> dict[int, str]:
    """``id`` of every box inside a page's margin boxes, to its artifact ``Subtype``: ``Header``
    above the page area, ``Footer`` below it, none beside it."""
    artifacts: dict[int, str] = {}
    for page in document.pages:
        for margin in page._page_box.children:
            if not isinstance(margin, MarginBox):
                continue
            where = margin.at_keyword.removeprefix("@").split("-")[0]
            subtype = {"top": "Header", "bottom": "Footer"}.get(where, "")
            for box in margin.descendants():
                artifacts[id(box)] = subtype
    return artifacts


@contextmanager
def tag_rules(document: Any) -> Iterator[StructureFixer]:
    """Apply ``data-tag`` and mark the page margins as artifacts while WeasyPrint writes the
    laid-out ``document`` as a tagged PDF; the fixer finishes the tree."""
    _local.sources = {}
    _local.artifacts = _margin_artifacts(document)
    try:
        yield StructureFixer(_local.sources)
    finally:
        _local.sources = None
        _local.artifacts = {}


class StructureFixer:
    """A WeasyPrint ``finisher``: one structure element per HTML element, captions inside their
    tables, header cells scoped and listed in the ``IDTree``."""

    def __init__(self, sources: dict[bytes, Any]) -> None:
        self.sources = sources

    def __call__(self, document: Any, pdf: pydyf.PDF) -> None:
        root_ref = pdf.catalog.get("StructTreeRoot")
        if root_ref is None:
            return
        objects = pdf.objects
        root = _deref(objects, root_ref)
        (document_ref,) = root["K"]
        top = _deref(objects, document_ref)
        top["K"] = pydyf.Array(self._merge(objects, list(top["K"])))
        ids: dict[str, bytes] = {}
        for ref in _walk(objects, top):
            element = _deref(objects, ref)
            if element.get("S") == "/TH":
                element["A"]["Scope"] = "/Column"
                if "ID" in element:
                    ids[element["ID"].string] = ref
        if ids:
            names = pydyf.Array()
            for key in sorted(ids):
                names.extend([pydyf.String(key), ids[key]])
            id_tree = pydyf.Dictionary({"Names": names})
            pdf.add_object(id_tree)
            root["IDTree"] = id_tree.reference

    def _merge(self, objects: list[Any], kids: list[bytes]) -> list[bytes]:
        """``kids`` of the document element with page continuations folded into their first
        part and each caption moved into the table that follows it."""
        out: list[bytes] = []
        first_of: dict[int, bytes] = {}
        for ref in kids:
            source = self.sources.get(ref)
            key = id(source) if source is not None else None
            if key is not None and key in first_of and out and out[-1] == first_of[key]:
                self._fold(objects, _deref(objects, first_of[key]), _deref(objects, ref))
                continue
            element = _deref(objects, ref)
            previous = _deref(objects, out[-1]) if out else None
            if element.get("S") == "/Table" and previous and previous.get("S") == "/Caption":
                previous["P"] = ref
                element["K"].insert(0, out.pop())
            if key is not None:
                first_of[key] = ref
            out.append(ref)
        return out

    def _fold(self, objects: list[Any], first: Any, more: Any) -> None:
        """Move the kids of ``more`` (the next page's part) into ``first``. A table's repeated
        header row is dropped, its text made an artifact; its data cells point to the first
        part's header cells."""
        for ref in more["K"]:
            kid = _deref(objects, ref)
            if first.get("S") == "/Table" and kid.get("S") == "/THead":
                _make_artifact(objects, kid)
                continue
            if isinstance(kid, dict):
                kid["P"] = first.reference
            first["K"].append(ref)
        if first.get("S") == "/Table":
            old, new = f"{more.number}-", f"{first.number}-"
            for ref in _walk(objects, first):
                cell = _deref(objects, ref)
                headers = cell.get("A", {}).get("Headers") if isinstance(cell, dict) else None
                if headers:
                    cell["A"]["Headers"] = pydyf.Array(
                        pydyf.String(h.string.replace(old, new, 1)) for h in headers
                    )


def _make_artifact(objects: list[Any], element: Any) -> None:
    """Turn the marked content of ``element`` and its descendants into ``Pagination`` artifacts
    in the page content streams (a table header row repeated on a later page is a running
    element, as a page number is: PDF 1.7 14.8.2.2)."""
    by_page: dict[bytes, set[int]] = {}
    for node in [element, *(_deref(objects, ref) for ref in _walk(objects, element))]:
        for kid in node.get("K", ()):
            if isinstance(kid, int) and "Pg" in node:
                by_page.setdefault(node["Pg"], set()).add(kid)
    for page_ref, mcids in by_page.items():
        contents = _deref(objects, _deref(objects, page_ref)["Contents"])
        operations = contents.stream
        for index, item in enumerate(operations):
            if isinstance(item, dict) and item.get("MCID") in mcids and index > 0:
                operations[index - 1] = "/Artifact"
                operations[index] = pydyf.Dictionary({"Type": "/Pagination"})


def _deref(objects: list[Any], ref: Any) -> Any:
    if isinstance(ref, bytes) and ref.endswith(b" 0 R"):
        return objects[int(ref.split()[0])]
    return ref


def _walk(objects: list[Any], element: Any) -> Iterator[bytes]:
    """References of every structure element under ``element``, depth first, in order."""
    for ref in element.get("K", ()):
        kid = _deref(objects, ref)
        if isinstance(kid, dict) and kid.get("Type") == "/StructElem":
            yield ref
            yield from _walk(objects, kid)
