"""The body of a vetted DOCX as Pilu wrote it: paragraphs by role, tables by cell, and marks.

A paragraph's role comes from its style's *name* (``styles.xml``), lower-cased, not its id:
LibreOffice renames ids on "save as DOCX" (``Caption`` comes back as ``Caption1``) but keeps
names. A heading is a paragraph in a ``heading N`` style, or any paragraph with an outline level
(``w:outlineLvl``), which is how Word and WPS keep a heading whose style was changed by hand.

The marks (:data:`service.formats.MARKS_NAMESPACE`) are the bookmarks ``_Pilu<n>`` and the
custom XML part naming what each marks; a span is where the bookmark's text stands in its
paragraph or cell.

What cannot be read back is collected as problems, each naming its place, never dropped:
images and drawings, embedded objects, text boxes, comments, tracked changes (refused, not
accepted: whoever uploads decides in Word which revisions stand, with "accept all" or "reject
all", before uploading), merged or nested table cells, and paragraphs in a style Pilu does not
write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from service.errors import FieldError
from service.formats import MARK_BOOKMARK_PREFIX, MARKS_NAMESPACE
from service.readback.package import DocxPackage

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CUSTOM_XML = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
_COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


ROLES = {
    "normal": "body",
    "title": "title",
    "subtitle": "lead",
    "note": "note",
    "caption": "caption",
    "signature": "signer",
    "date": "date",
    **{f"heading {n}": "heading" for n in range(1, 5)},
    **{
        name.lower(): "cell"
        for base in ("Table Text", "Table Text Center", "Table Text Right")
        for name in (base, f"{base} First")
    },
    "table text sub": "cell",
    "table heading": "cell",
}
"""The roles of the paragraph styles Pilu writes in a disclosure, by lower-cased style name."""

_TRACKED = {
    _w("ins"): "插入",
    _w("del"): "删除",
    _w("moveFrom"): "移动",
    _w("moveTo"): "移动",
}
_FORMAT_CHANGES = {_w(n) for n in ("rPrChange", "pPrChange", "tblPrChange", "trPrChange")}
_IMAGES = {_w("drawing"), _w("pict"), _w("object")}
_COMMENT_TAGS = {_w("commentRangeStart"), _w("commentReference")}
_SKIPPED = {_w("pPr"), _w("rPr"), _w("tblPr"), _w("tblGrid"), _w("trPr"), _w("tcPr"),
            _w("sectPr"), _w("proofErr"), _w("lastRenderedPageBreak"), _w("sdtPr"),
            _w("sdtEndPr"), _w("permStart"), _w("permEnd")}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` of a paragraph or cell is what bookmark ``bookmark`` marks."""

    start: int
    end: int
    name: str
    """What the bookmark marks (a figure, ``table:…``, ``insert:…``), from the marks part."""


@dataclass(slots=True)
class ReadParagraph:
    place: str
    """``第N段``: N counts the body's non-empty paragraphs outside tables, the title first."""
    role: str
    style: str
    text: str
    spans: list[Span] = field(default_factory=list)
    level: int | None = None
    """A heading's rung (1 = 一、 … 4 = （1）), from its style or outline level."""

    @property
    def origin(self) -> str:
        """The generated content the paragraph belongs to (``insert:…``), or ``""``."""
        for span in self.spans:
            if span.name.startswith("insert:") and span.start == 0 and span.end >= len(self.text):
                return span.name
        return ""

    def quote(self) -> str:
        short = self.text if len(self.text) <= 16 else self.text[:15] + "…"
        return f"{self.place}（“{short}”）"


@dataclass(slots=True)
class ReadCell:
    text: str
    spans: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class ReadTable:
    place: str
    """``第N个表格``, N from 1 in the body."""
    caption: ReadParagraph | None
    rows: list[list[ReadCell]]


ReadBlock = ReadParagraph | ReadTable


@dataclass(slots=True)
class ReadDocument:
    blocks: list[ReadBlock]
    marked: bool
    """Whether the document carries Pilu's marks (bookmarks named in the marks part)."""
    kind: str
    """The kind the marks part names, ``""`` without one."""
    problems: list[FieldError]


def read_document(package: DocxPackage) -> ReadDocument:
    """The body's blocks, the marks and what cannot be read back."""
    root = package.xml("word/document.xml")
    assert root is not None
    styles = _style_names(package)
    kind, names = _marks(package)
    reader = _Reader(styles, names)
    body = root.find(_w("body"))
    if body is None:
        return ReadDocument([], False, kind, [FieldError("文档", "docx_empty", "文档没有正文")])
    for element in _block_children(body):
        reader.block(element)
    if _has_comments(package):
        reader.problem(
            "文档", "docx_comments", "文档含有批注；批注不能读回，请删除全部批注后再上传"
        )
    marked = bool(names) and reader.bookmarks_seen
    return ReadDocument(reader.blocks, marked, kind, reader.problems)


def _style_names(package: DocxPackage) -> dict[str, str]:
    root = package.xml("word/styles.xml")
    out: dict[str, str] = {}
    if root is None:
        return out
    for style in root.iter(_w("style")):
        name = style.find(_w("name"))
        sid = style.get(_w("styleId"), "")
        out[sid] = (name.get(_w("val"), sid) if name is not None else sid).lower()
    return out


def _marks(package: DocxPackage) -> tuple[str, dict[str, str]]:
    """The kind and ``{bookmark: what it marks}`` of the marks part, if the package has it."""
    for name in sorted(package.parts):
        if not re.fullmatch(r"customXml/item\d+\.xml", name):
            continue
        root = package.xml(name)
        if root is not None and root.tag == f"{{{MARKS_NAMESPACE}}}marks":
            pairs = {m.get("b", ""): m.get("f", "") for m in root.iter(f"{{{MARKS_NAMESPACE}}}m")}
            return root.get("kind", ""), pairs
    return "", {}


def _has_comments(package: DocxPackage) -> bool:
    rels = package.xml("word/_rels/document.xml.rels")
    return rels is not None and any(rel.get("Type") == _COMMENTS for rel in rels)


def _block_children(parent: etree._Element) -> Iterator[etree._Element]:
    """``w:p`` and ``w:tbl`` children, looking through block-level wrappers (content controls,
    custom XML elements) Word and LibreOffice may add."""
    for child in parent:
        if child.tag in (_w("sdt"), _w("customXml")):
            content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
            if content is not None:
                yield from _block_children(content)
        else:
            yield child


class _Reader:
    def __init__(self, styles: dict[str, str], names: dict[str, str]) -> None:
        self.styles = styles
        self.names = names
        self.blocks: list[ReadBlock] = []
        self.problems: list[FieldError] = []
        self.paragraphs = 0
        self.tables = 0
        self.bookmarks_seen = False

    def problem(self, place: str, code: str, message: str) -> None:
        self.problems.append(FieldError(place, code, message))

    def block(self, element: etree._Element) -> None:
        if element.tag == _w("p"):
            paragraph = self.paragraph(element)
            if paragraph is not None:
                self.blocks.append(paragraph)
        elif element.tag == _w("tbl"):
            self.table(element)
        elif element.tag in _TRACKED:
            self.problem("文档", "docx_tracked_changes", _tracked_message(_TRACKED[element.tag]))
        elif element.tag in _COMMENT_TAGS or element.tag == _w("commentRangeEnd"):
            pass  # the comments part is reported once
        # bookmarks between blocks, w:sectPr: nothing to read

    def paragraph(self, p: etree._Element) -> ReadParagraph | None:
        text, spans, found = self.content(p)
        if not text.strip() and not found:
            return None
        self.paragraphs += 1
        place = f"第{self.paragraphs}段"
        style = self._style(p)
        role = ROLES.get(style)
        level = _heading_level(p, style)
        if level is not None:
            role = "heading"
        paragraph = ReadParagraph(place, role or "unknown", style, text, spans, level)
        for what in found:
            self.problem(place, *what)
        if role is None:
            self.problem(
                paragraph.quote(),
                "docx_unknown_style",
                f"该段使用了样式“{style}”，不是本系统写入的样式，无法判断其作用；"
                "请改用正文、标题等原有样式",
            )
        return paragraph

    def _style(self, p: etree._Element) -> str:
        pstyle = p.find(f"{_w('pPr')}/{_w('pStyle')}")
        sid = pstyle.get(_w("val"), "") if pstyle is not None else ""
        return self.styles.get(sid, sid.lower()) if sid else "normal"

    def table(self, tbl: etree._Element) -> None:
        self.tables += 1
        place = f"第{self.tables}个表格"
        caption = None
        last = self.blocks[-1] if self.blocks else None
        if isinstance(last, ReadParagraph) and last.role == "caption":
            caption = last
            self.blocks.pop()
        rows: list[list[ReadCell]] = []
        for tr in tbl.iter(_w("tr")):
            if tr.getparent() is not tbl:
                continue
            cells = []
            for tc in tr.findall(_w("tc")):
                span = tc.find(f"{_w('tcPr')}/{_w('gridSpan')}")
                merge = tc.find(f"{_w('tcPr')}/{_w('vMerge')}")
                if span is not None or merge is not None:
                    self.problem(place, "docx_table_shape", "表格含有合并单元格，无法按行列读回")
                if tc.find(f".//{_w('tbl')}") is not None:
                    self.problem(place, "docx_table_shape", "表格中嵌套了表格，无法读回")
                texts: list[str] = []
                spans: list[Span] = []
                for p in tc.findall(_w("p")):
                    text, pspans, found = self.content(p)
                    offset = sum(len(t) + 1 for t in texts)
                    spans += [Span(s.start + offset, s.end + offset, s.name) for s in pspans]
                    texts.append(text)
                    for what in found:
                        self.problem(place, *what)
                cells.append(ReadCell("\n".join(texts), spans))
            rows.append(cells)
        self.blocks.append(ReadTable(place, caption, rows))

    def content(self, p: etree._Element) -> tuple[str, list[Span], list[tuple[str, str]]]:
        """A paragraph's text, its marked spans and what in it cannot be read back."""
        pieces: list[str] = []
        opened: dict[str, tuple[str, int]] = {}
        spans: list[Span] = []
        found: list[tuple[str, str]] = []
        length = 0

        def walk(element: etree._Element) -> None:
            nonlocal length
            for child in element:
                tag = child.tag
                if tag in _SKIPPED or not isinstance(tag, str):
                    continue
                if tag == _w("t"):
                    pieces.append(child.text or "")
                    length += len(child.text or "")
                elif tag == _w("tab"):
                    pieces.append("\t")
                    length += 1
                elif tag in (_w("br"), _w("cr")):
                    if child.get(_w("type")) in (None, "textWrapping"):
                        pieces.append("\n")
                        length += 1
                elif tag == _w("noBreakHyphen"):
                    pieces.append("\u2011")
                    length += 1
                elif tag == _w("bookmarkStart"):
                    name = child.get(_w("name"), "")
                    if name.startswith(MARK_BOOKMARK_PREFIX) and name in self.names:
                        opened[child.get(_w("id"), "")] = (name, length)
                        self.bookmarks_seen = True
                elif tag == _w("bookmarkEnd"):
                    start = opened.pop(child.get(_w("id"), ""), None)
                    if start is not None:
                        spans.append(Span(start[1], length, self.names[start[0]]))
                elif tag in _TRACKED:
                    found.append(("docx_tracked_changes", _tracked_message(_TRACKED[tag])))
                elif tag in _IMAGES:
                    if child.find(f".//{_w('txbxContent')}") is not None:
                        found.append(
                            ("docx_text_box", "该段含有文本框；文本框中的文字不能读回，请移入正文")
                        )
                    else:
                        found.append(
                            ("docx_image", "该段含有图片或嵌入对象；图片不能读回，请删除后再上传")
                        )
                elif tag in _COMMENT_TAGS:
                    found.append(("docx_comments", "该段含有批注；批注不能读回，请删除后再上传"))
                elif tag in _FORMAT_CHANGES:
                    continue  # a tracked change of formatting only: the text is as shown
                elif tag in (_w("fldSimple"), _w("hyperlink"), _w("smartTag"), _w("customXml"),
                             _w("sdt"), _w("sdtContent"), _w("r")):  # fmt: skip
                    walk(child)
                elif tag == _w("delText") or tag == _w("instrText"):
                    continue
                else:
                    walk(child)

        walk(p)
        # A bookmark left open at the paragraph's end closes there (Word moves an end it finds
        # after the last run into the next paragraph).
        for name, start in opened.values():
            spans.append(Span(start, length, self.names[name]))
        spans.sort(key=lambda s: (s.start, -s.end))
        return "".join(pieces), spans, list(dict.fromkeys(found))


def _heading_level(p: etree._Element, style: str) -> int | None:
    match = re.fullmatch(r"heading ([1-4])", style)
    if match:
        return int(match.group(1))
    outline = p.find(f"{_w('pPr')}/{_w('outlineLvl')}")
    if outline is not None:
        value = int(outline.get(_w("val"), "9"))
        if 0 <= value <= 3:
            return value + 1
    return None


def _tracked_message(what: str) -> str:
    return (
        f"文档含有未处理的修订（{what}）；请在Word中“接受所有修订”或“拒绝所有修订”后再上传，"
        "本系统不替您决定哪些修订生效"
    )
