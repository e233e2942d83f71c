"""Editing Pilu's DOCX the way people do, through python-docx (and LibreOffice's "save as DOCX"):
the helpers the read-back tests share."""

from __future__ import annotations

import copy
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from lxml import etree

from service import pipeline
from service.formats import MARKS_NAMESPACE


def render(raw: bytes) -> bytes:
    return pipeline.render_payload(raw, ("docx",))["docx"]


def open_docx(data: bytes) -> DocxDocument:
    return docx.Document(io.BytesIO(data))


def save(doc: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def marks(doc: DocxDocument) -> dict[str, str]:
    """``{bookmark: what it marks}`` from the marks part."""
    for rel in doc.part.rels.values():
        if rel.reltype.endswith("/customXml"):
            root = etree.fromstring(rel.target_part.blob)
            if root.tag == f"{{{MARKS_NAMESPACE}}}marks":
                return {m.get("b", ""): m.get("f", "") for m in root}
    return {}


def figure_runs(doc: DocxDocument, name: str) -> Iterator[etree._Element]:
    """The runs bookmarked as figure ``name``, in the body and its tables."""
    wanted = {b for b, f in marks(doc).items() if f == name}
    for start in doc.element.body.iter(qn("w:bookmarkStart")):
        if start.get(qn("w:name")) in wanted:
            run = start.getnext()
            while run is not None and run.tag != qn("w:r"):
                run = run.getnext()
            assert run is not None
            yield run


def set_run_text(run: etree._Element, text: str) -> None:
    ts = run.findall(qn("w:t"))
    ts[0].text = text
    for t in ts[1:]:
        run.remove(t)


def paragraph_with(doc: DocxDocument, text: str) -> Paragraph:
    for paragraph in doc.paragraphs:
        if text in paragraph.text:
            return paragraph
    raise AssertionError(f"no paragraph with {text!r}")


def replace_in_paragraph(paragraph: Paragraph, old: str, new: str) -> None:
    """Replace ``old`` within one run of ``paragraph`` (as typing over a word does)."""
    for run in paragraph.runs:
        if old in run.text:
            run.text = run.text.replace(old, new)
            return
    raise AssertionError(f"{old!r} is not within one run of {paragraph.text!r}")


def table_after(doc: DocxDocument, caption: str) -> etree._Element:
    """The ``w:tbl`` after the caption paragraph holding ``caption``."""
    element = paragraph_with(doc, caption)._p.getnext()
    while element is not None and element.tag != qn("w:tbl"):
        element = element.getnext()
    assert element is not None
    return element


def cell(tbl: etree._Element, row: int, column: int) -> etree._Element:
    """The ``w:tc`` at ``row`` (0 is the header) and ``column``."""
    return tbl.findall(qn("w:tr"))[row].findall(qn("w:tc"))[column]


def set_cell(tbl: etree._Element, row: int, column: int, text: str) -> None:
    """Type ``text`` over the cell's text (its first run keeps its look, the others go)."""
    paragraph = cell(tbl, row, column).find(qn("w:p"))
    assert paragraph is not None
    first, *others = paragraph.findall(qn("w:r"))
    set_run_text(first, text)
    for run in others:
        paragraph.remove(run)


def delete_row(tbl: etree._Element, row: int) -> None:
    tbl.remove(tbl.findall(qn("w:tr"))[row])


def heading_block(doc: DocxDocument, title: str) -> list[etree._Element]:
    """A heading paragraph and everything up to the next heading of its level or higher."""
    start = paragraph_with(doc, title)
    assert start.style is not None
    level = int(start.style.name.split()[-1])
    out: list[etree._Element] = [start._p]
    element = start._p.getnext()
    while element is not None and element.tag != qn("w:sectPr"):
        if element.tag == qn("w:p"):
            style = Paragraph(element, start._parent).style
            name = style.name if style is not None else ""
            if name.lower().startswith("heading ") and int(name.split()[-1]) <= level:
                break
            if name in ("Signature", "Date"):
                break
        out.append(element)
        element = element.getnext()
    return out


def add_paragraph_after(
    doc: DocxDocument, anchor: etree._Element, text: str, style: str | None = None
) -> etree._Element:
    paragraph = copy.deepcopy(doc.paragraphs[0]._p)
    for child in list(paragraph):
        paragraph.remove(child)
    anchor.addnext(paragraph)
    proxy = Paragraph(paragraph, doc.paragraphs[0]._parent)
    if style is not None:
        proxy.style = doc.styles[style]
    proxy.add_run(text)
    return paragraph


def tracked_insert(paragraph: Paragraph, text: str) -> None:
    """Append ``text`` to ``paragraph`` as a tracked insertion (Word's "track changes")."""
    p: etree._Element = paragraph._p
    ins = etree.SubElement(
        p,
        qn("w:ins"),
        {qn("w:id"): "900", qn("w:author"): "审核人", qn("w:date"): "2024-01-20T00:00:00Z"},
    )
    run = etree.SubElement(ins, qn("w:r"))
    etree.SubElement(run, qn("w:t")).text = text


def accept_all(doc: DocxDocument) -> None:
    """Word's "accept all changes": insertions stay as text, deletions go."""
    body = doc.element.body
    for ins in list(body.iter(qn("w:ins"))):
        parent = ins.getparent()
        index = parent.index(ins)
        for child in reversed(list(ins)):
            parent.insert(index, child)
        parent.remove(ins)
    for deleted in list(body.iter(qn("w:del"))):
        deleted.getparent().remove(deleted)


def reject_all(doc: DocxDocument) -> None:
    """Word's "reject all changes": insertions go."""
    for ins in list(doc.element.body.iter(qn("w:ins"))):
        ins.getparent().remove(ins)


def libreoffice_round_trip(data: bytes, work: Path) -> bytes:
    """``data`` opened and saved again as DOCX by LibreOffice (``--convert-to docx``)."""
    source = work / "in" / "edited.docx"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    out = work / "out"
    (work / "home").mkdir(exist_ok=True)
    subprocess.run(
        [
            "soffice", "--headless", "--norestore", "--nologo",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--convert-to", "docx", "--outdir", str(out), str(source),
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8"},
        capture_output=True, check=True, timeout=240,
    )  # fmt: skip
    return (out / "edited.docx").read_bytes()


def retype_table(tbl: etree._Element, rows: list[list[str]]) -> None:
    """Type ``rows`` (the body rows, header excluded) over the table's cells."""
    for r, cells in enumerate(rows, start=1):
        for c, text in enumerate(cells):
            set_cell(tbl, r, c, text)


def retype_figures(doc: DocxDocument, figures: dict[str, str]) -> None:
    """Type each figure's new value over every place the document marks it."""
    for name, value in figures.items():
        for run in figure_runs(doc, name):
            set_run_text(run, value)
