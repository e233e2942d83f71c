"""The characters a document may hold (通用规范汉字表, GB2312, common symbols) and a document that
sets every one of them in every role."""

from __future__ import annotations

from service.model import Block, Document, Paragraph, Signature, Table, TableColumn, TableRow
from service.style.coverage import UNIHAN_MAPPINGS, promised_characters, tgh_characters
from tests.render.model_fixtures import document, heading

__all__ = [
    "UNIHAN_MAPPINGS",
    "breakable",
    "every_role_document",
    "promised_characters",
    "tgh_characters",
]


def breakable(chars: str) -> str:
    """``chars`` with a space after each one that is not a hanzi: a run of letters or symbols
    with no break opportunity would run off the page, where no text extraction sees it."""
    return "".join(c if "\u3400" <= c <= "\u9fff" or c > "\uffff" else c + " " for c in chars)


def every_role_document(chars: str) -> Document:
    """``chars`` as the title, lead, body, each heading level, caption, table header and cell,
    note and signature: every role of the house style sets all of them."""
    chars = breakable(chars)
    row = TableRow((chars,))
    table = Table(1, chars, (TableColumn(chars, "left"),), (row,))
    blocks: list[Block] = [
        Paragraph(chars, "lead"),
        Paragraph(chars),
        heading(1, 1, chars),
        heading(2, 1, chars),
        heading(3, 1, chars),
        heading(4, 1, chars),
        table,
        Paragraph(chars, "note"),
    ]
    return document(blocks, title=chars, signature=Signature(chars, chars))
