"""Run WeasyPrint: shared fonts, cached stylesheets, warnings as errors, reproducible bytes.

Per process (a render worker) we keep one :class:`FontConfiguration` (a new one per document
costs ~100 ms and makes memory swing by hundreds of MiB) and one compiled stylesheet per house
style (parsing its @font-face rules copies the font files once). Templates are compiled once by
:mod:`.templating`. None of this is meant for threads: a worker renders one document at a time.

Chinese lines of a justified paragraph are spread between their characters (:mod:`.justify`).
Three things of WeasyPrint's that cost time and buy nothing here are changed: its HTML5
user-agent stylesheet gives way to one cut down to the elements the writer emits (the same PDF,
a faster cascade), the writer's HTML is parsed by expat into the tree tinyhtml5 would build
(:mod:`.element_tree`), and pydyf deflates at zlib's default level instead of 9. pydyf also
serialises (and deflates) each object once instead of twice (:mod:`.serialize`), and a face
subset to glyphs it was subset to before takes the bytes of the last time (:mod:`.subsets`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import types
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cssselect2
import pydyf
from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA_COUNTER_STYLE
from weasyprint.urls import FatalURLFetchingError

from service.errors import RenderFailed
from service.model.document import (
    Block,
    Document,
    DocumentMeta,
    Heading,
    Paragraph,
    Signature,
    Table,
    TableColumn,
    TableRow,
)
from service.model.numbering import LADDER, heading_label
from service.render.attachments import EmbeddedFile
from service.render.coverage import check_coverage
from service.render.pdf import justify, serialize, subsets
from service.render.pdf.archival import (
    VARIANT,
    StructureFixer,
    make_archival,
    tag_rules,
)
from service.render.pdf.continued import crossing_tables, show_continued_captions
from service.render.pdf.css import CHINESE_COUNTER_MAX, build_css, family_name
from service.render.pdf.element_tree import html_tree
from service.render.pdf.fetcher import ClosedURLFetcher
from service.render.pdf.fonts import InPlaceFontConfiguration
from service.render.pdf.html import RecordPlace, build_html
from service.render.pdf.signature_area import (
    SignatureArea,
    add_signature_destination,
    signature_area,
)
from service.render.pdf.templating import PDF_TEMPLATES_DIR
from service.style import HouseStyle, PdfVariant
from service.style.house_style import MM_PER_PT

WEASYPRINT_LOGGER = logging.getLogger("weasyprint")
BASE_URL = PDF_TEMPLATES_DIR.as_uri() + "/"
"""Relative URLs in the HTML and CSS resolve inside ``templates/pdf/``."""


@dataclass(frozen=True, slots=True)
class CompiledStyle:
    """A house style ready for WeasyPrint: the parsed stylesheet and its counter styles."""

    css_text: str
    css: CSS
    counter_style: CounterStyle
    families: frozenset[str]
    """The ``font-family`` names of the style's faces: the only fonts a PDF may contain."""


_lock = threading.Lock()
_font_config: InPlaceFontConfiguration | None = None
_compiled: dict[tuple[str, str], CompiledStyle] = {}
_user_agent_css: CSS | None = None


DEFLATE_LEVEL = 6
"""zlib level of the PDF's streams. pydyf asks for 9, which costs ~10 % of a render for
files 0.4 % smaller; 6 is zlib's own default."""


def _deflate_streams_at(level: int) -> None:
    """Make pydyf compress its streams at ``level``: pydyf calls ``zlib.compressobj(level=9)``
    through its module's ``zlib`` name, which is replaced by a copy of zlib whose
    ``compressobj`` deflates at that level (once per kept font subset: :mod:`.subsets`)."""
    if getattr(pydyf.zlib, "pilu_level", None) == level:
        return
    deflate = types.SimpleNamespace(**vars(zlib))
    deflate.compressobj = lambda *args, **kwargs: subsets.Deflater(level)
    deflate.pilu_level = level
    pydyf.zlib = deflate


_deflate_streams_at(DEFLATE_LEVEL)
justify.install()
serialize.install()
subsets.install()


class WriterHTML(HTML):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """WeasyPrint's ``HTML`` of a string of the writer's, with its element tree parsed by expat
    (:mod:`.element_tree`; tinyhtml5, as ``HTML`` does, when expat cannot read it) and the
    writer's own user-agent stylesheet (``templates/pdf/user-agent.css``: the HTML5 defaults of
    the elements we write)."""

    def __init__(self, string: str, base_url: str, url_fetcher: ClosedURLFetcher) -> None:
        root = html_tree(string)
        if root is None:
            super().__init__(string=string, base_url=base_url, url_fetcher=url_fetcher)
            return
        # what HTML.__init__ sets once tinyhtml5 has parsed the string (no <base> is written)
        self.base_url = base_url
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [user_agent_stylesheet()]


def user_agent_stylesheet() -> CSS:
    """The parsed ``user-agent.css``, once per process."""
    global _user_agent_css
    with _lock:
        if _user_agent_css is None:
            _user_agent_css = CSS(
                filename=str(PDF_TEMPLATES_DIR / "user-agent.css"),
                counter_style=UA_COUNTER_STYLE,
            )
        return _user_agent_css


def font_config() -> InPlaceFontConfiguration:
    """The process's one font configuration, created on first use (:mod:`.fonts`)."""
    global _font_config
    with _lock:
        if _font_config is None:
            _font_config = InPlaceFontConfiguration()
        return _font_config


def compiled_style(style: HouseStyle) -> CompiledStyle:
    """``style`` compiled for WeasyPrint, once per process and (name, version) of the style."""
    key = (style.name, style.version)
    if (found := _compiled.get(key)) is not None:
        return found
    fonts = font_config()
    with _lock:
        if key not in _compiled:
            css_text = build_css(style)
            counter_style = CounterStyle()
            with guarded(f"house style {style.name}"):
                css = CSS(
                    string=css_text,
                    base_url=BASE_URL,
                    url_fetcher=ClosedURLFetcher(),
                    font_config=fonts,
                    counter_style=counter_style,
                )
            families = frozenset(family_name(face) for face in style.faces)
            _compiled[key] = CompiledStyle(css_text, css, counter_style, families)
        return _compiled[key]


def warm_up(style: HouseStyle) -> None:
    """Load templates, fonts and ``style``'s stylesheet now, and lay out a line in every role.

    For a worker's initializer: afterwards the first real document renders as fast as the next.
    """
    render_pdf(_warm_up_document(), style)


@contextmanager
def guarded(subject: str) -> Iterator[None]:
    """Turn WeasyPrint's logged warnings and errors, and refused URLs, into :class:`RenderFailed`.

    WeasyPrint logs instead of raising (a missing glyph, an unreadable font, bad CSS); a document
    must never ship with such a fault. Only records of the calling thread are collected.
    """
    records: list[logging.LogRecord] = []
    thread = threading.get_ident()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                records.append(record)

    handler = Collect(logging.WARNING)
    old_level = WEASYPRINT_LOGGER.level
    if WEASYPRINT_LOGGER.getEffectiveLevel() > logging.WARNING:
        WEASYPRINT_LOGGER.setLevel(logging.WARNING)
    WEASYPRINT_LOGGER.addHandler(handler)
    try:
        yield
    except FatalURLFetchingError as exc:
        raise RenderFailed(f"PDF of {subject}: {exc}: {exc.__cause__}") from exc
    finally:
        WEASYPRINT_LOGGER.removeHandler(handler)
        WEASYPRINT_LOGGER.setLevel(old_level)
    if records:
        messages = [record.getMessage() for record in records]
        raise RenderFailed(f"PDF of {subject}: WeasyPrint: {messages[0]}", details=messages)


def render_pdf(
    document: Document,
    style: HouseStyle,
    files: tuple[EmbeddedFile, ...] = (),
    variant: PdfVariant | None = None,
) -> bytes:
    """The PDF of ``document`` in house style ``style``, carrying ``files``.

    PDF/A-3b and tagged (PDF/UA-1) unless ``variant`` (the request's choice), else the house
    style (``[pdf] variant``), asks for a plain PDF, which also leaves ``files`` out; see
    :mod:`.archival`. The place of the signature block is recorded in either
    (:mod:`.signature_area`).
    The same document, style and files give the same bytes: the creation date is
    ``meta.created``, no modification date is written and the file identifier is a hash of the
    input. Raises :class:`RenderFailed` for a character the style's fonts lack, a heading number
    the Chinese counter style cannot draw, any WeasyPrint warning, a refused URL, or a font in
    the PDF that is not one of the style's faces.
    """
    _check_heading_numbers(document)
    check_coverage(document, style)
    compiled = compiled_style(style)
    subject = repr(document.meta.title)
    with guarded(subject):
        html_text, rendered = _lay_out(document, style, compiled, subject)
        area = signature_area(rendered)
    archival = (variant or style.pdf.variant) == VARIANT
    identifier = _identifier(
        style.name,
        style.version,
        compiled.css_text,
        html_text,
        *(f"{f.name}\0{hashlib.sha256(f.data).hexdigest()}" for f in files if archival),
    )
    with guarded(subject):
        if archival:
            created = datetime.combine(document.meta.created, datetime.min.time())
            make_archival(rendered, files, created)
            with tag_rules(rendered) as finish_structure:
                pdf = rendered.write_pdf(
                    pdf_identifier=identifier,
                    pdf_variant=VARIANT,
                    pdf_tags=True,
                    finisher=_finisher(finish_structure, area),
                )
        else:
            pdf = rendered.write_pdf(pdf_identifier=identifier, finisher=_finisher(None, area))
    foreign = sorted({font.family for font in rendered.fonts.values()} - compiled.families)
    if foreign:
        raise RenderFailed(
            f"PDF of {subject}: fonts outside the house style: {', '.join(foreign)}",
            details=foreign,
        )
    assert isinstance(pdf, bytes)
    return pdf


def _finisher(
    structure: StructureFixer | None, area: SignatureArea | None
) -> Callable[[Any, pydyf.PDF], None]:
    """What is done to the PDF objects before they are written: the structure tree finished
    (a tagged PDF) and the signature block's place recorded (:mod:`.signature_area`)."""

    def finish(rendered: Any, pdf: pydyf.PDF) -> None:
        if structure is not None:
            structure(rendered, pdf)
        if area is not None:
            add_signature_destination(pdf, area)

    return finish


MAX_LAYOUTS = 4
"""Layouts of one document at most: the first, then one more each time a 续表 line pushes
another table over a page (see :mod:`.continued`)."""


def _lay_out(
    document: Document, style: HouseStyle, compiled: CompiledStyle, subject: str
) -> tuple[str, Any]:
    """The HTML of ``document`` and its layout: with a 续表N row in every table that crosses a
    page, drawn on the pages after its first, and a letter's 版记 on the foot of its last page
    (one more layout, once the place is known; see :func:`record_place`)."""
    continued: frozenset[int] = frozenset()
    for _ in range(MAX_LAYOUTS):
        html_text = build_html(document, style, continued)
        rendered = _layout(html_text, compiled)
        crossing = crossing_tables(rendered)
        if crossing <= continued:
            break
        continued |= crossing
    if document.letter is not None and document.letter.distribution is not None:
        place, unnumbered = record_place(rendered, style)
        html_text = build_html(document, style, continued, place)
        rendered = _layout(html_text, compiled, unnumbered_pages_css(unnumbered))
        _check_record(rendered, style, subject)
    show_continued_captions(rendered)
    return html_text, rendered


def _layout(html_text: str, compiled: CompiledStyle, extra_css: str = "") -> Any:
    html = WriterHTML(string=html_text, base_url=BASE_URL, url_fetcher=ClosedURLFetcher())
    sheets = [compiled.css]
    if extra_css:
        sheets.append(CSS(string=extra_css, counter_style=compiled.counter_style))
    return html.render(
        font_config=font_config(), counter_style=compiled.counter_style, stylesheets=sheets
    )


PX_PER_PT = 4 / 3
"""WeasyPrint lays out in CSS pixels (96 per inch)."""
_FIT_SLACK_PT = 0.01
"""Taken off the space above the 版记, so that rounding never pushes it onto the next page."""


def _boxes_by_id(rendered: Any, element_id: str) -> list[tuple[int, Any]]:
    """``(1-based page, box)`` of every box of the element with id ``element_id``."""
    found = []
    for number, page in enumerate(rendered.pages, start=1):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None and element.get("id") == element_id:
                found.append((number, box))
    return found


def _text_block_px(style: HouseStyle) -> tuple[float, float]:
    page = style.page
    top = page.margin_top_mm / MM_PER_PT * PX_PER_PT
    bottom = (page.height_mm - page.margin_bottom_mm) / MM_PER_PT * PX_PER_PT
    return top, bottom


def record_place(rendered: Any, style: HouseStyle) -> tuple[RecordPlace, frozenset[int]]:
    """Where a letter's 版记 goes, from a first layout with it right after the text, and the
    pages (1-based) that then carry no page number.

    The 版记's last line stands on the bottom edge of the last page's text block (GB/T 9704
    §7.4.1): on the page where the text ends when it fits there (and that page is even, when
    the house style keeps the 版记 on the last side of a sheet), else on the next page (the next
    even one). Blank pages before the 版记 page, and that page, carry no page number (§7.5).
    """
    (end_page, end_box), *_ = _boxes_by_id(rendered, "pilu-record-end")
    (_, record_box), *_ = _boxes_by_id(rendered, "pilu-record")
    top, bottom = _text_block_px(style)
    height = record_box.margin_height()
    end_y = end_box.position_y
    even_rule = style.letter.record_on_even_page
    if bottom - end_y >= height and (not even_rule or end_page % 2 == 0):
        space = (bottom - end_y - height) / PX_PER_PT - _FIT_SLACK_PT
        return RecordPlace(space_pt=max(space, 0)), frozenset()
    target = end_page + 1
    if even_rule and target % 2:
        target += 1
    blank = set(range(end_page + 1, target))
    space = (bottom - top - height) / PX_PER_PT - _FIT_SLACK_PT
    place = RecordPlace(space_pt=space, new_page=not even_rule, even_page=even_rule)
    return place, frozenset(blank | {target}) if blank else frozenset()


def unnumbered_pages_css(pages: frozenset[int]) -> str:
    """CSS taking the page number off ``pages`` (1-based)."""
    areas = " ".join(f"@bottom-{side} {{ content: none; }}" for side in ("left", "center", "right"))
    return "\n".join(f"@page :nth({page}) {{ {areas} }}" for page in sorted(pages))


def _check_record(rendered: Any, style: HouseStyle, subject: str) -> None:
    """The 版记 ended on the bottom edge of the text block of the document's last page."""
    boxes = _boxes_by_id(rendered, "pilu-record")
    _, bottom = _text_block_px(style)
    page, box = boxes[-1]
    box_bottom = box.position_y + box.margin_height()
    if len(boxes) != 1 or page != len(rendered.pages) or abs(box_bottom - bottom) > 1:
        raise RenderFailed(
            f"PDF of {subject}: the 版记 does not fit at the foot of the last page "
            f"(page {page} of {len(rendered.pages)}, {abs(box_bottom - bottom) / PX_PER_PT:.1f} pt off)"
        )


def _identifier(*parts: str) -> bytes:
    """The PDF file identifier: a hash of everything the bytes depend on (32 hex digits)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:32].encode()


def _check_heading_numbers(document: Document) -> None:
    for heading in document.headings:
        chinese = LADDER[heading.level].counter == "chinese"
        if heading.number < 1 or (chinese and heading.number > CHINESE_COUNTER_MAX):
            raise RenderFailed(
                f"heading {heading.full_text[:30]!r}: number {heading.number} "
                f"outside 1..{CHINESE_COUNTER_MAX}"
            )


def _warm_up_document() -> Document:
    """A one-page document with a line in every role, laid out by :func:`warm_up`."""
    meta = DocumentMeta(
        title="预热", author="Pilu", subject="预热", keywords=("预热",), language="zh-CN",
        created=date(2024, 1, 1), report_kind="warm-up", report_year=2024,
        company_short_name="Pilu", template_version="0", house_style="",
    )  # fmt: skip
    headings = [Heading(level, 1, heading_label(level, 1), "标题") for level in (1, 2, 3, 4)]
    table = Table(
        1, "表1 预热", (TableColumn("项目", "left"), TableColumn("件数", "right")),
        (TableRow(("合计", "1,234"), "total"),),
    )  # fmt: skip
    blocks: tuple[Block, ...] = (
        Paragraph("发布时间：2024年1月1日", role="lead"),
        *headings,
        Paragraph("正文，2023年。"),
        table,
        Paragraph("注：预热。", role="note"),
    )
    return Document(meta, "预热", blocks, Signature("Pilu", "2024年1月1日"))
