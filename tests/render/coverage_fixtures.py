"""The characters a document may hold (通用规范汉字表, GB2312, common symbols) and a document that
sets every one of them in every role."""

from __future__ import annotations

import bz2
from functools import cache
from pathlib import Path

from service.model import Document, Paragraph, Signature, Table, TableColumn, TableRow
from service.render.docx.fonts import gb2312_characters
from service.style.coverage import COMMON_SYMBOLS
from tests.render.model_fixtures import document, heading

UNIHAN_MAPPINGS = Path("/usr/share/unicode/Unihan_OtherMappings.txt.bz2")
"""Debian's unicode-data: Unihan's ``kTGH`` field lists 通用规范汉字表 (2013)."""


@cache
def tgh_characters() -> str:
    """The 8,105 characters of 通用规范汉字表, in code point order."""
    chars = []
    with bz2.open(UNIHAN_MAPPINGS, "rt", encoding="utf-8") as fh:
        for line in fh:
            if "\tkTGH\t" in line:
                chars.append(chr(int(line.split("\t", 1)[0][2:], 16)))
    return "".join(sorted(chars))


def promised_characters() -> str:
    """Every character the docs promise in every role: 通用规范汉字表, GB2312, the symbols."""
    gb2312 = gb2312_characters(tuple(range(0xA1, 0xF8)))
    return "".join(sorted(set(tgh_characters()) | gb2312 | set(COMMON_SYMBOLS)))


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
    blocks = [
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
