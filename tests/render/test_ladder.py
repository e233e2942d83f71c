"""The ladder table of :mod:`service.model.numbering` drives both writers.

Changing a rung changes the model's labels, Word's list level and the PDF's CSS marker alike:
neither writer keeps a ladder of its own.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from service.model import numbering
from service.model.numbering import Rung
from service.render.docx import render_docx
from service.render.pdf import render_pdf
from tests.render import docx_fixtures as fx
from tests.render import pdf_reading as rd
from tests.render.model_fixtures import document, heading

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def test_a_changed_rung_shows_in_the_model_docx_and_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(numbering.LADDER, 3, Rung(3, "chinese", "第", "项", "heading3"))
    # Another version, so that neither writer reuses what it built for the real ladder.
    style = fx.GBT.model_copy(update={"version": "ladder-test"})
    doc = document([heading(1, 1, "总述"), heading(3, 1, "首项"), heading(3, 2, "次项")])
    assert [h.label for h in doc.headings] == ["一、", "第一项", "第二项"]

    with zipfile.ZipFile(io.BytesIO(render_docx(doc, style))) as docx:
        numbering_xml = etree.fromstring(docx.read("word/numbering.xml"))
    level3 = numbering_xml.find(f"{{{W}}}abstractNum/{{{W}}}lvl[@{{{W}}}ilvl='2']")
    assert level3 is not None
    shown = [level3.find(f"{{{W}}}{name}") for name in ("numFmt", "lvlText")]
    assert [e.get(f"{{{W}}}val") if e is not None else None for e in shown] == [
        "chineseCounting",
        "第%3项",
    ]

    lines = [line.strip() for line in rd.text(render_pdf(doc, style)).splitlines()]
    assert "第一项首项" in lines and "第二项次项" in lines
