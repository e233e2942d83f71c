"""Where the 署名 and 日期 stand on the page, recorded in the PDF for a visible signature.

The company signature is added after rendering (:mod:`service.signing`), from the PDF bytes
alone; to put a visible signature field at the 署名 it must know where the layout placed the
signature block, wherever the stylesheet puts it. The layout knows: :func:`signature_area`
reads the text of the ``signature`` block (the 署名 and its date) from WeasyPrint's laid-out
pages, and :func:`add_signature_destination` records that rectangle in the PDF as the named
destination :data:`~service.formats.SIGNATURE_DESTINATION` (``/FitR``: a viewer jumping there
shows the block). Reading it back is :func:`service.signing.pades.signature_rectangle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydyf
from weasyprint.formatting_structure.boxes import LineBox, TextBox

from service.formats import SIGNATURE_DESTINATION

BLOCK_CLASS = "signature"
"""The HTML class of the block holding the 署名 and 日期 (``templates/pdf/document.html.j2``)."""
PX_TO_PT = 0.75
"""CSS pixels (WeasyPrint's layout unit, 1/96 in) to PDF points (1/72 in)."""


@dataclass(frozen=True, slots=True)
class SignatureArea:
    page: int
    """Index of the page (0 for the first)."""
    rectangle: tuple[float, float, float, float]
    """Left, bottom, right, top in PDF points, from the page's lower left corner."""


def signature_area(document: Any) -> SignatureArea | None:
    """The extent of the signature block's text on the last page holding it, in a laid-out
    WeasyPrint ``document``: across, from the first glyph to the last; down, the lines that
    hold the text (a text box's own top lies above its glyphs by an amount that depends on the
    font); ``None`` for a document without one."""
    for index in reversed(range(len(document.pages))):
        page_box = document.pages[index]._page_box
        lines = [line for block in _blocks(page_box) for line in _lines(block)]
        texts = [text for line in lines for text in _texts(line)]
        if texts:
            left = min(box.position_x for box in texts)
            right = max(box.position_x + box.width for box in texts)
            top = min(line.position_y for line in lines)
            bottom = max(line.position_y + line.height for line in lines)
            height = document.pages[index].height  # the page's, not its content area's
            return SignatureArea(
                index,
                (
                    round(left * PX_TO_PT, 2),
                    round((height - bottom) * PX_TO_PT, 2),
                    round(right * PX_TO_PT, 2),
                    round((height - top) * PX_TO_PT, 2),
                ),
            )
    return None


def _blocks(box: Any) -> list[Any]:
    element = getattr(box, "element", None)
    if element is not None and BLOCK_CLASS in (element.get("class") or "").split():
        return [box]
    return [found for child in getattr(box, "children", ()) for found in _blocks(child)]


def _lines(block: Any) -> list[Any]:
    return [box for box in block.descendants() if isinstance(box, LineBox) and _texts(box)]


def _texts(box: Any) -> list[Any]:
    return [b for b in box.descendants() if isinstance(b, TextBox) and b.text.strip()]


def add_signature_destination(pdf: pydyf.PDF, area: SignatureArea) -> None:
    """Record ``area`` as the named destination ``signature`` (``/FitR``)."""
    destination = pydyf.Array([pdf.page_references[area.page], "/FitR", *area.rectangle])
    names = pdf.catalog.setdefault("Names", pydyf.Dictionary())
    dests = names.setdefault("Dests", pydyf.Dictionary({"Names": pydyf.Array()}))
    pairs = list(zip(dests["Names"][::2], dests["Names"][1::2], strict=True))
    pairs.append((pydyf.String(SIGNATURE_DESTINATION), destination))
    pairs.sort(key=lambda pair: str(pair[0].string))
    dests["Names"] = pydyf.Array(item for pair in pairs for item in pair)
