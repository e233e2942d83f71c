"""Read a PDF as a reader sees it: text and word boxes (poppler), fonts, metadata (pypdf).

Coordinates are PDF points from the top-left corner of the page, as ``pdftotext -bbox`` gives
them. A word box spans the font's ascent to descent at its size; for the Fandol faces that is
exactly one em (ascent 880 + descent 120 per 1000), so a box's top is the top of the em box.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from html import unescape
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader

MM = 72 / 25.4
"""Points per millimetre."""


def _run(args: list[str], pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        to_stdout = ["-"] if args[0] == "pdftotext" else []
        result = subprocess.run(
            [*args, str(path), *to_stdout], capture_output=True, check=True, timeout=60
        )
    return result.stdout.decode("utf-8")


def text(pdf: bytes, *, layout: bool = False, page: int | None = None) -> str:
    """``pdftotext`` output: plain reading order, or ``-layout`` to keep columns."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return _run(args, pdf)


def page_texts(pdf: bytes) -> list[str]:
    """Plain text per page (pdftotext separates pages with a form feed)."""
    return text(pdf).split("\f")[:-1]


@dataclass(frozen=True, slots=True)
class Box:
    page: int
    """1-based page number."""
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">')
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def lines(pdf: bytes) -> list[Box]:
    """Every text line with its box and its words joined by single spaces, page by page."""
    out: list[Box] = []
    pages = _run(["pdftotext", "-enc", "UTF-8", "-bbox-layout"], pdf).split("<page ")[1:]
    for number, page in enumerate(pages, start=1):
        for chunk in page.split("<line ")[1:]:
            head = _LINE.match("<line " + chunk)
            assert head is not None
            words = [unescape(w[4]) for w in _WORD.findall(chunk)]
            x0, y0, x1, y1 = (float(v) for v in head.groups())
            out.append(Box(number, x0, y0, x1, y1, " ".join(words)))
    return out


def fonts(pdf: bytes) -> list[dict[str, str]]:
    """``pdffonts`` rows: name, type, encoding, emb, sub, uni."""
    rows = _run(["pdffonts"], pdf).splitlines()[2:]
    keys = ("name", "type", "encoding", "emb", "sub", "uni")
    out = []
    for row in rows:
        name, rest = row.split(None, 1)
        fields = re.split(r"\s{2,}", rest.strip())
        kind, encoding = fields[0], fields[1]
        emb, sub, uni = fields[2].split()[:3]
        out.append(dict(zip(keys, (name, kind, encoding, emb, sub, uni), strict=True)))
    return out


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(BytesIO(pdf))


def outline(pdf: bytes) -> list[str]:
    """Titles of the PDF outline (bookmarks), depth first."""

    def walk(items: list[Any]) -> list[str]:
        return [
            t for item in items for t in (walk(item) if isinstance(item, list) else [item.title])
        ]

    return walk(reader(pdf).outline)


@dataclass(frozen=True, slots=True)
class Run:
    page: int
    text: str
    font: str
    """Base font name without the subset tag: ``pilu-fangsong``."""
    size_pt: float


def runs(pdf: bytes) -> list[Run]:
    """Text runs with their font and effective size in pt (pypdf's text visitor)."""
    out: list[Run] = []
    for number, page in enumerate(reader(pdf).pages, start=1):

        def visit(
            t: str, cm: list[float], tm: list[float], font: Any, size: float, page: int = number
        ) -> None:
            if t.strip() and font is not None:
                name = str(font["/BaseFont"]).lstrip("/").split("+", 1)[-1]
                out.append(Run(page, t.strip(), name, round(size * abs(cm[0] * tm[0]), 2)))

        page.extract_text(visitor_text=visit)
    return out


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)


def word_pages(pdf: bytes) -> list[tuple[float, float, list[Box]]]:
    """Each page's width, height and words (runs of text without a wide gap) with their boxes."""
    listing = _run(["pdftotext", "-enc", "UTF-8", "-bbox"], pdf)
    return [
        (
            float(width),
            float(height),
            [
                Box(number, float(x0), float(y0), float(x1), float(y1), unescape(word))
                for x0, y0, x1, y1, word in _WORD.findall(page)
            ],
        )
        for number, (width, height, page) in enumerate(_PAGE.findall(listing), start=1)
    ]


def words(pdf: bytes) -> list[Box]:
    """Every word with its box, page by page."""
    return [box for _, _, boxes in word_pages(pdf) for box in boxes]
