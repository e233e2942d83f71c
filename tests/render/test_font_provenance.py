"""The render manifest names, with its SHA-256, every face file an output embeds a font from:
the role faces (``fonts``, as always) and the fallback faces (``fallback_fonts``), which draw
what the role faces lack (in the DOCX as overflow fonts)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pikepdf
from lxml import etree

from service.model import Paragraph
from service.provenance import render_manifest
from service.render.docx import render_docx
from service.render.pdf import render_pdf
from service.render.pdf.css import family_name
from service.style import load_house_style
from tests.render import docx_fixtures as fx

GBT = load_house_style("gbt9704")
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
TEXT = "朱镕基签发，面积120㎡，注册商标®。"
"""镕 and ㎡ are not in FandolFang (the body's face), ® neither: Noto Serif CJK SC draws them."""


def pdf_face_files(pdf: bytes) -> set[str]:
    """The face file of every font the PDF embeds (BaseFont ``ABCDEF+pilu-<key>[-Bold]``)."""
    by_family = {family_name(key): face.file for key, face in GBT.faces.items()}
    files = set()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            for font in page.Resources.Font.values():
                family = str(font.BaseFont).split("+", 1)[1].removesuffix("-Bold")
                files.add(by_family[family])
    return files


def docx_face_files(docx: bytes) -> set[str]:
    """The face file of every font the DOCX embeds: a face's family, or an overflow font named
    ``<family> <digest>``."""
    table = etree.fromstring(zipfile.ZipFile(io.BytesIO(docx)).read("word/fontTable.xml"))
    files = set()
    for entry in table.iterfind(f"{{{W}}}font"):
        if entry.find(f"{{{W}}}embedRegular") is None:
            continue
        name = entry.get(f"{{{W}}}name") or ""
        prefix, _, digest = name.rpartition(" ")
        named = prefix if len(digest) == 8 else name
        (face,) = [f for f in GBT.faces.values() if f.family in (name, named)]
        files.add(face.file)
    return files


def test_every_embedded_face_is_in_the_manifest_with_its_hash() -> None:
    document = fx.document([Paragraph(TEXT)])
    manifest = render_manifest(document, GBT, b"{}")
    listed = {**manifest["fonts"], **manifest["fallback_fonts"]}
    embedded = pdf_face_files(render_pdf(document, GBT)) | docx_face_files(
        render_docx(document, GBT)
    )
    assert GBT.faces["noto_serif"].file in embedded, "the document needs a fallback face"
    assert embedded <= set(listed)
    for file in listed:
        face = next(f for f in GBT.faces.values() if f.file == file)
        assert listed[file] == hashlib.sha256(face.path.read_bytes()).hexdigest()


def test_fonts_keeps_its_meaning_the_role_faces() -> None:
    manifest = render_manifest(fx.document([Paragraph("正文")]), GBT, b"{}")
    assert manifest["fonts"] == {face.file: face.sha256 for face in GBT.used_faces()}
    assert set(manifest["fallback_fonts"]) == {
        GBT.faces[key].file for key in ("noto_serif", "noto_serif_bold", "noto_sans", "wenkai")
    }
    assert not set(manifest["fonts"]) & set(manifest["fallback_fonts"])
