"""Why the marks are bookmarks: what LibreOffice's "save as DOCX" keeps of a Pilu DOCX's
bookmarks and marks part, and (on LibreOffice 7.4, the version the choice was made on) what it
does to a run-level content control's tag."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx.oxml.ns import qn
from lxml import etree

from service.formats import MARK_BOOKMARK_PREFIX
from tests.conftest import EXAMPLES
from tests.readback import edits

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice missing"),
]


def _libreoffice_version() -> str:
    out = subprocess.run(
        ["soffice", "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    match = re.search(r"LibreOffice (\d+\.\d+)", out)
    return match.group(1) if match else ""


def test_bookmarks_and_the_marks_part_survive_where_a_content_control_tag_does_not(
    tmp_path: Path,
) -> None:
    doc = edits.open_docx(edits.render((EXAMPLES / "xiaokang-life-2023.json").read_bytes()))
    before = edits.marks(doc)
    # A content control with a tag, as the other way of marking a figure would write it.
    paragraph: etree._Element = edits.paragraph_with(doc, "数据安全和客户信息保护机制")._p
    sdt = etree.SubElement(paragraph, qn("w:sdt"))
    etree.SubElement(etree.SubElement(sdt, qn("w:sdtPr")), qn("w:tag")).set(
        qn("w:val"), "training.participants"
    )
    run = etree.SubElement(etree.SubElement(sdt, qn("w:sdtContent")), qn("w:r"))
    etree.SubElement(run, qn("w:t")).text = "1486"

    again = edits.open_docx(edits.libreoffice_round_trip(edits.save(doc), tmp_path))

    names = {
        start.get(qn("w:name"))
        for start in again.element.body.iter(qn("w:bookmarkStart"))
        if (start.get(qn("w:name")) or "").startswith(MARK_BOOKMARK_PREFIX)
    }
    assert names == set(before)
    assert edits.marks(again) == before
    tags = [t.get(qn("w:val")) for t in again.element.body.iter(qn("w:tag"))]
    if _libreoffice_version() == "7.4":
        assert "training.participants" not in tags
