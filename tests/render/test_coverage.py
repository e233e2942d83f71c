"""Every character of 通用规范汉字表, GB2312 and the common symbols, in every role, in both
writers: from the role's face where it has the character, else from the face's fallbacks."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from service.model import Paragraph
from service.render.docx import render_docx
from service.render.docx.fonts import embed_face, obfuscate, truetype_font
from service.render.docx.fonts.runs import set_family
from service.render.pdf import render_pdf
from service.style import load_house_style
from service.style.coverage import COMMON_SYMBOLS, uncovered_characters
from tests.render import docx_libreoffice as lo
from tests.render import model_fixtures as fx
from tests.render.coverage_fixtures import (
    UNIHAN_MAPPINGS,
    every_role_document,
    promised_characters,
    tgh_characters,
)

pytestmark = pytest.mark.skipif(
    not UNIHAN_MAPPINGS.exists(), reason="Debian's unicode-data (scripts/install-system.sh --test)"
)

GBT = load_house_style("gbt9704")
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}


def _glyph_sharers(style_faces: list[Path]) -> set[str]:
    """Characters that share a glyph with another character in some face: a PDF's ToUnicode maps
    a glyph to one text, so text extraction gives back the other one (• and ·)."""
    shared: set[str] = set()
    for path in style_faces:
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap()
        counts = Counter(cmap.values())
        shared |= {chr(cp) for cp, glyph in cmap.items() if counts[glyph] > 1}
    return shared


def test_the_promised_set_is_tgh_gb2312_and_the_symbols() -> None:
    assert len(tgh_characters()) == 8105
    assert {"镕", "堃", "喆", "昇", "玥", "祎", "珺"} <= set(tgh_characters())
    assert {"®", "㎡", "−", "²"} <= set(COMMON_SYMBOLS)


def test_no_promised_character_is_refused() -> None:
    assert uncovered_characters(promised_characters(), GBT) == []


def test_pdf_gives_back_every_character_in_every_role(tmp_path: Path) -> None:
    pdf = tmp_path / "all.pdf"
    pdf.write_bytes(render_pdf(every_role_document(promised_characters()), GBT))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    assert rows and all(row[-5] == "yes" for row in rows), "every font embedded"
    names = {row[0].split("+", 1)[1].removesuffix("-Bold") for row in rows}
    assert names == {f"pilu-{key}" for key in GBT.faces}, "every face and fallback, no other"
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    missing = set(promised_characters()) - set(text) - {"\u3000"}
    assert missing <= _glyph_sharers([face.path for face in GBT.faces.values()]), missing


@pytest.mark.slow
@pytest.mark.skipif(
    not lo.available() or lo.latin_font() is None, reason="LibreOffice or poppler missing"
)
def test_docx_gives_back_every_character_in_every_role_without_cjk_fonts(tmp_path: Path) -> None:
    """LibreOffice, on a machine with no CJK font, draws every character from the fonts embedded
    in the DOCX: the role's faces and the fallbacks, each under its own name."""
    font = lo.latin_font()
    assert font is not None
    sandbox = lo.Sandbox.create(tmp_path / "lo", font)
    docx = tmp_path / "all.docx"
    docx.write_bytes(render_docx(every_role_document(promised_characters()), GBT))
    (pdf,) = sandbox.convert([docx], tmp_path / "pdf")
    names = {name.split("+", 1)[-1] for name in lo.pdf_fonts(pdf)}
    embedded = {face.family.replace(" ", "") for face in GBT.used_faces()}
    fallbacks = {face.family.replace(" ", "") for face in GBT.faces.values()} - embedded
    assert embedded <= names
    others = names - embedded
    assert fallbacks <= {name[:-8] for name in others} <= fallbacks | embedded, others
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    missing = set(promised_characters()) - set(text) - {"\u3000"}
    assert missing <= _glyph_sharers([face.path for face in GBT.faces.values()]), missing


def test_docx_sets_what_the_face_lacks_in_a_fallback_run() -> None:
    """朱镕基: 镕 is not in FandolFang; its run names the Noto Serif face embedded for it alone."""
    package = zipfile.ZipFile(io.BytesIO(render_docx(fx.document([Paragraph("朱镕基签发")]), GBT)))
    body = etree.fromstring(package.read("word/document.xml"))
    runs = body.findall(".//w:body/w:p[2]/w:r", NS)
    assert ["".join(r.itertext()) for r in runs] == ["朱", "镕", "基签发"]
    fonts = runs[1].find("w:rPr/w:rFonts", NS)
    assert fonts is not None
    family = fonts.get(f"{{{NS['w']}}}eastAsia")
    assert family == set_family(GBT.faces["noto_serif"], "镕")
    table = etree.fromstring(package.read("word/fontTable.xml"))
    (entry,) = table.xpath("w:font[@w:name=$n]", namespaces=NS, n=family)
    embed = entry.find("w:embedRegular", NS)
    assert embed.get(f"{{{NS['w']}}}subsetted") == "1"
    rels = etree.fromstring(package.read("word/_rels/fontTable.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == embed.get(f"{{{NS['r']}}}id"))
    data = obfuscate(package.read(f"word/{target}"), embed.get(f"{{{NS['w']}}}fontKey"))
    font = TTFont(io.BytesIO(data))
    assert font["name"].getDebugName(1) == family
    assert {chr(c) for c in font.getBestCmap()} == {"镕"}
    assert font["glyf"][font.getBestCmap()[ord("镕")]].numberOfContours > 0


def test_a_truetype_fallback_is_copied_with_its_outlines() -> None:
    """LXGW WenKai is TrueType: its glyphs are copied (components drawn in), not converted."""
    face = GBT.faces["wenkai"]
    embedded = embed_face(face.model_copy(update={"family": "WenKai Test"}), "堃喆", "used")
    font = TTFont(io.BytesIO(truetype_font(embedded)))
    source = TTFont(face.path)
    for char in "堃喆":
        ours = font["glyf"][font.getBestCmap()[ord(char)]]
        theirs = source["glyf"][source.getBestCmap()[ord(char)]]
        ours_coords = ours.getCoordinates(font["glyf"])[0]
        theirs_coords = theirs.getCoordinates(source["glyf"])[0]
        assert list(ours_coords) == list(theirs_coords)
