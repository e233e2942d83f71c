"""Parity of the two writers: the DOCX and the PDF of one document must say the same thing.

The service reads its own outputs back here: the console shows this check's result for every
stored version, ``GET /v1/documents/{id}/parity`` answers it, and the render tests hold both
writers to it.

In: the DOCX bytes and the PDF bytes of one document. Out: a :class:`ParityReport` listing every
difference in text, heading numbers and table cells, and what was compared.

The DOCX is read as a reader sees it, not as the writer meant it: heading labels are computed
from ``numbering.xml`` (level formats, level texts, restarts) through the paragraph's or its
style's ``w:numPr``, the way Word and LibreOffice number paragraphs; table rows are read cell by
cell. The PDF is read with pypdf in content order. Both sides are compared as one character
stream without whitespace (line breaks, justification and the space LibreOffice puts between
Chinese and Latin text are layout, not content), after removing the page numbers; a table header
row that the PDF repeats on a new page, and the 续表N caption above it, are not a difference.
Punctuation is compared exactly: （一） and (一) differ.

What it cannot see: anything but the text. Fonts, sizes, spacing, page breaks, where a table
cell's text sits, images and the signature are not compared; whitespace inside a paragraph is
not either, nor which cell of a row a text is in when the row's text reads the same (a row is
compared as its cells run together). Text the PDF draws in an order other than its content order
(pypdf reads content order) shows as a difference though a reader sees none. Only the body of
the DOCX is read (not headers, footers, footnotes or text boxes), and page numbers are removed
from the PDF by the house style's format as given: a version made with another page number
format shows its numbers as extra text.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from service.errors import OutputUnreadable
from service.model.numbering import chinese_numeral
from service.render.pdf.continued import continued_caption

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SPACE = re.compile(r"\s+")

ItemKind = Literal["title", "heading", "paragraph", "caption", "row", "header_row"]
DifferenceKind = Literal["missing", "extra", "changed", "heading_label"]


@dataclass(frozen=True, slots=True)
class DocxItem:
    """One paragraph or table row of the DOCX in reading order, as a reader sees it."""

    kind: ItemKind
    text: str
    label: str = ""
    """A numbered paragraph's marker (一、 （一） …), computed from the numbering definitions."""
    level: int | None = None
    """1-based list level of a numbered paragraph."""
    cells: tuple[str, ...] = ()

    @property
    def printed(self) -> str:
        return self.label + self.text

    @property
    def where(self) -> str:
        """The item as a difference names its place: a row's cells apart (``经代 | 2``)."""
        return " | ".join(self.cells) if self.cells else self.printed


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    where: str
    """The DOCX paragraph or row the difference is in (or follows, for extra PDF text); a row
    as its cells with `` | `` between them."""
    docx: str
    pdf: str

    def __str__(self) -> str:
        return f"{self.kind} at “{_short(self.where)}”: DOCX “{self.docx}” / PDF “{self.pdf}”"

    @property
    def message(self) -> str:
        """The difference in Chinese: where, and what each side has."""
        place = f"“{_short(self.where)}”处"
        if self.kind == "missing":
            return f"{place}：DOCX 有“{_short(self.docx)}”，PDF 中没有"
        if self.kind == "extra":
            return f"{place}之后：PDF 多出“{_short(self.pdf)}”，DOCX 中没有"
        what = "标题编号" if self.kind == "heading_label" else "文字"
        return f"{place}{what}不同：DOCX 为“{_short(self.docx)}”，PDF 为“{_short(self.pdf)}”"

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "where": self.where,
            "docx": self.docx,
            "pdf": self.pdf,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Compared:
    """How much of the document the check compared."""

    paragraphs: int
    """Paragraphs that are not headings: the title, body text, captions, notes."""
    headings: int
    table_rows: int
    """Table rows, header rows included."""

    def as_json(self) -> dict[str, int]:
        return {
            "paragraphs": self.paragraphs,
            "headings": self.headings,
            "table_rows": self.table_rows,
        }


@dataclass(frozen=True, slots=True)
class ParityReport:
    differences: tuple[Difference, ...]
    items: tuple[DocxItem, ...] = field(repr=False)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def headings(self) -> tuple[DocxItem, ...]:
        return tuple(i for i in self.items if i.kind == "heading")

    @property
    def compared(self) -> Compared:
        kinds = [i.kind for i in self.items]
        rows = sum(k in ("row", "header_row") for k in kinds)
        headings = kinds.count("heading")
        return Compared(len(kinds) - rows - headings, headings, rows)

    def as_json(self) -> dict[str, object]:
        """``{"ok", "compared": {"paragraphs", "headings", "table_rows"}, "differences": [{"kind",
        "where", "docx", "pdf", "message"}]}``: plain data, to cross from a worker process and
        to answer over HTTP."""
        return {
            "ok": self.ok,
            "compared": self.compared.as_json(),
            "differences": [d.as_json() for d in self.differences],
        }

    def __str__(self) -> str:
        if self.ok:
            return f"DOCX and PDF agree ({len(self.items)} paragraphs and rows)"
        return "\n".join(str(d) for d in self.differences)


def compare_docx_pdf(
    docx: bytes, pdf: bytes, *, page_number_format: str = "— {n} —"
) -> ParityReport:
    """Every difference between the text of ``docx`` and of ``pdf``.

    ``page_number_format`` is the house style's (``{n}`` for the number): page numbers are
    removed from the PDF text before comparing. ``OutputUnreadable`` when either cannot be read
    (not a ZIP of WordprocessingML, not a PDF).
    """
    try:
        items = tuple(read_docx(docx))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.LxmlError) as exc:
        raise OutputUnreadable("存档的 DOCX 无法读取", details={"format": "docx"}) from exc
    try:
        text = read_pdf_text(pdf, page_number_format)
    except (PyPdfError, ValueError, KeyError) as exc:
        raise OutputUnreadable("存档的 PDF 无法读取", details={"format": "pdf"}) from exc
    return compare_items(items, text)


def compare_items(items: tuple[DocxItem, ...], pdf_text: str) -> ParityReport:
    """Compare DOCX items with a PDF's normalised text (see :func:`read_pdf_text`)."""
    spans: list[tuple[int, int, DocxItem]] = []
    parts: list[str] = []
    pos = 0
    for item in items:
        text = normalise(item.printed)
        spans.append((pos, pos + len(text), item))
        parts.append(text)
        pos += len(text)
    stream = "".join(parts)
    repeated = {normalise(i.printed) for i in items if i.kind == "header_row"}
    repeated |= {normalise(continued_caption(i.printed)) for i in items if i.kind == "caption"}
    differences: list[Difference] = []
    for i1, i2, j1, j2 in _changes(difflib.SequenceMatcher(None, stream, pdf_text, autojunk=False)):
        docx_part, pdf_part = stream[i1:i2], pdf_text[j1:j2]
        if not docx_part and _only_repeats(pdf_part, repeated):
            continue
        item, start = _item_at(spans, i1)
        kind: DifferenceKind = (
            "changed" if docx_part and pdf_part else "missing" if docx_part else "extra"
        )
        if item.kind == "heading" and i1 < start + len(normalise(item.label)):
            kind = "heading_label"
        differences.append(Difference(kind, item.where, docx_part, pdf_part))
    return ParityReport(tuple(differences), items)


def normalise(text: str) -> str:
    """``text`` without whitespace of any kind."""
    return _SPACE.sub("", text)


def read_pdf_text(pdf: bytes, page_number_format: str = "— {n} —") -> str:
    """The PDF's text in content order, normalised, page numbers removed."""
    before, _, after = page_number_format.partition("{n}")
    number = re.compile(re.escape(normalise(before)) + r"\d+" + re.escape(normalise(after)))
    pages = [normalise(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]
    return "".join(number.sub("", page) for page in pages)


def _changes(matcher: difflib.SequenceMatcher[str]) -> Iterator[tuple[int, int, int, int]]:
    """Changed regions ``(i1, i2, j1, j2)``, with changes that only a short run of equal text
    (fewer than 3 characters) separates merged into one: 235 -> 253 is one change, not an
    insertion and a deletion."""
    current: list[int] | None = None
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            if current is not None and i2 - i1 >= 3:
                yield current[0], current[1], current[2], current[3]
                current = None
            continue
        if current is None:
            current = [i1, i2, j1, j2]
        else:
            current[1], current[3] = i2, j2
    if current is not None:
        yield current[0], current[1], current[2], current[3]


def _only_repeats(text: str, repeated: set[str]) -> bool:
    while text:
        for row in repeated:
            if row and text.startswith(row):
                text = text[len(row) :]
                break
        else:
            return False
    return True


def _item_at(spans: list[tuple[int, int, DocxItem]], pos: int) -> tuple[DocxItem, int]:
    for start, end, item in spans:
        if pos < end or (start == end == pos):
            return item, start
    start, _, item = spans[-1]
    return item, start


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- reading the DOCX -----------------------------------------------------------------------


@dataclass(slots=True)
class _Numbering:
    """Numbering definitions and the running counters, the way Word applies them."""

    formats: dict[str, dict[int, tuple[int, str, str]]]
    """abstractNumId -> ilvl -> (start, numFmt, lvlText)."""
    abstract_of: dict[str, str]
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    def label(self, num_id: str, ilvl: int) -> str:
        abstract = self.abstract_of.get(num_id)
        if abstract is None or ilvl not in self.formats.get(abstract, {}):
            return ""
        levels = self.formats[abstract]
        counters = self.counters.setdefault(abstract, {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl][0] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        text = levels[ilvl][2]
        for k in range(ilvl + 1):
            if k in levels:
                value = counters.get(k, levels[k][0])
                text = text.replace(f"%{k + 1}", _format_number(value, levels[k][1]))
        return text


_ROMAN = (
    (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
    (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
)  # fmt: skip


def _format_number(value: int, number_format: str) -> str:
    """``value`` as Word prints it in ``number_format``; a format this check does not know
    prints as itself (``[numFmt 7]``), so it can never pass for the PDF's numbers."""
    if number_format in ("chineseCounting", "chineseCountingThousand"):
        return chinese_numeral(value)
    if number_format == "decimal":
        return str(value)
    if number_format == "decimalFullWidth":
        return str(value).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    if number_format in ("lowerLetter", "upperLetter"):
        letters = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letters if number_format == "lowerLetter" else letters.upper()
    if number_format in ("lowerRoman", "upperRoman"):
        out, rest = "", value
        for amount, numeral in _ROMAN:
            count, rest = divmod(rest, amount)
            out += numeral * count
        return out if number_format == "lowerRoman" else out.upper()
    return f"[{number_format} {value}]"


def read_docx(docx: bytes) -> Iterator[DocxItem]:
    """The DOCX's body in reading order: paragraphs (with computed labels) and table rows."""
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        document = etree.fromstring(package.read("word/document.xml"))
        styles = etree.fromstring(package.read("word/styles.xml"))
        names = set(package.namelist())
        numbering_xml = (
            etree.fromstring(package.read("word/numbering.xml"))
            if "word/numbering.xml" in names
            else None
        )
    style_info = _styles(styles)
    numbering = _numbering(numbering_xml)
    for element in _required(document, "body"):
        if element.tag == f"{W}p":
            yield _paragraph_item(element, style_info, numbering)
        elif element.tag == f"{W}tbl":
            for row in element.iter(f"{W}tr"):
                cells = tuple(
                    "".join(_text(p) for p in tc.iter(f"{W}p")) for tc in row.findall(f"{W}tc")
                )
                trpr = row.find(f"{W}trPr")
                header = trpr is not None and trpr.find(f"{W}tblHeader") is not None
                yield DocxItem("header_row" if header else "row", "".join(cells), cells=cells)


_StyleInfo = dict[str, tuple[str, str | None, tuple[str, int] | None]]
"""styleId -> (name, basedOn, numPr)."""


def _styles(styles: etree._Element) -> _StyleInfo:
    """Every paragraph and character style; the default paragraph style also under key ``""``."""
    info: _StyleInfo = {}
    for style in styles.iter(f"{W}style"):
        sid = _attr(style, "styleId")
        name = style.find(f"{W}name")
        based = style.find(f"{W}basedOn")
        info[sid] = (
            _attr(name, "val") if name is not None else sid,
            based.get(f"{W}val") if based is not None else None,
            _num_pr(style.find(f"{W}pPr")),
        )
        if style.get(f"{W}type") == "paragraph" and style.get(f"{W}default") in ("1", "true"):
            info[""] = info[sid]
    return info


def _num_pr(ppr: etree._Element | None) -> tuple[str, int] | None:
    if ppr is None:
        return None
    numpr = ppr.find(f"{W}numPr")
    if numpr is None:
        return None
    num_id = numpr.find(f"{W}numId")
    ilvl = numpr.find(f"{W}ilvl")
    return (
        _attr(num_id, "val") if num_id is not None else "0",
        int(_attr(ilvl, "val")) if ilvl is not None else 0,
    )


def _numbering(root: etree._Element | None) -> _Numbering:
    formats: dict[str, dict[int, tuple[int, str, str]]] = {}
    abstract_of: dict[str, str] = {}
    if root is None:
        return _Numbering(formats, abstract_of)
    for abstract in root.iter(f"{W}abstractNum"):
        levels = {}
        for lvl in abstract.findall(f"{W}lvl"):
            levels[int(_attr(lvl, "ilvl"))] = (
                int(_val(lvl, "start", "1")),
                _val(lvl, "numFmt", "decimal"),
                _val(lvl, "lvlText", ""),
            )
        formats[_attr(abstract, "abstractNumId")] = levels
    for num in root.iter(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        if ref is not None:
            abstract_of[_attr(num, "numId")] = _attr(ref, "val")
    return _Numbering(formats, abstract_of)


def _required(parent: etree._Element, tag: str) -> etree._Element:
    """The ``w:tag`` child of ``parent``, which the OOXML schema requires."""
    element = parent.find(f"{W}{tag}")
    if element is None:
        raise ValueError(f"w:{etree.QName(parent).localname} has no w:{tag}")
    return element


def _attr(element: etree._Element, name: str) -> str:
    """The ``w:name`` attribute of ``element``, which the OOXML schema requires."""
    value = element.get(f"{W}{name}")
    if value is None:
        raise ValueError(f"w:{etree.QName(element).localname} has no w:{name}")
    return value


def _val(parent: etree._Element, tag: str, default: str) -> str:
    element = parent.find(f"{W}{tag}")
    return element.get(f"{W}val", default) if element is not None else default


def _paragraph_item(p: etree._Element, styles: _StyleInfo, numbering: _Numbering) -> DocxItem:
    ppr = p.find(f"{W}pPr")
    style_el = ppr.find(f"{W}pStyle") if ppr is not None else None
    style_id = _attr(style_el, "val") if style_el is not None else ""
    num_pr = _num_pr(ppr)
    sid: str | None = style_id
    seen: set[str] = set()
    while num_pr is None and sid is not None and sid in styles and sid not in seen:
        seen.add(sid)
        num_pr = styles[sid][2]
        sid = styles[sid][1]
    name = styles.get(style_id, (style_id, None, None))[0].lower()
    label, level = "", None
    if num_pr is not None and num_pr[0] != "0":
        label = numbering.label(*num_pr)
        level = num_pr[1] + 1
    kind: ItemKind = "paragraph"
    if name == "title":
        kind = "title"
    elif name.startswith("heading"):
        kind = "heading"
    elif name == "caption":
        kind = "caption"
    return DocxItem(kind, _text(p), label, level)


def _text(p: etree._Element) -> str:
    out: list[str] = []
    for element in p.iter(f"{W}t", f"{W}tab", f"{W}br"):
        if element.tag == f"{W}t":
            out.append(element.text or "")
        else:
            out.append("\t" if element.tag == f"{W}tab" else "\n")
    return "".join(out)
