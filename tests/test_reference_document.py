"""The reference disclosure, rendered by the command line as a user runs it, read back as a
reader sees it: text (pdftotext), fonts (pdffonts), page size, reproducibility."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import EXAMPLES
from tests.report.test_build import assert_in_order, reference_sentences

PILU = Path(sys.executable).with_name("pilu")
A4_PT = (595.28, 841.89)


def render_pdf(out: Path) -> Path:
    subprocess.run(
        [
            str(PILU),
            "render",
            str(EXAMPLES / "xiaokang-life-2023.json"),
            "--out",
            str(out),
            "--format",
            "pdf",
        ],
        check=True,
        capture_output=True,
    )
    (pdf,) = out.glob("*.pdf")
    return pdf


@pytest.fixture(scope="module")
def reference_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_pdf(tmp_path_factory.mktemp("first"))


def without_space(text: str) -> str:
    """pdftotext breaks lines where the page does; the sentences are compared without them."""
    return re.sub(r"\s+", "", text)


def body_text(pdf: Path) -> str:
    """The PDF's text without page numbers ("— n —"), which interrupt a sentence at a page break."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"—\s*\d+\s*—", "", text)


def test_every_reference_sentence_is_in_the_pdf_in_order(reference_pdf: Path) -> None:
    text = body_text(reference_pdf)
    sentences = [without_space(s) for s in reference_sentences()]
    assert_in_order(sentences, without_space(text))
    assert "（一）" in text and "（1）" in text and "发布时间：" in text, "full-width punctuation"
    assert "返回列表" not in text


def test_every_font_is_an_embedded_subset(reference_pdf: Path) -> None:
    listing = subprocess.run(
        ["pdffonts", str(reference_pdf)], check=True, capture_output=True, text=True
    ).stdout
    rows = listing.splitlines()[2:]
    assert len(rows) >= 4
    for row in rows:
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert re.match(r"^[A-Z]{6}\+pilu-", name), row


def test_pages_are_a4(reference_pdf: Path) -> None:
    reader = PdfReader(reference_pdf)
    assert len(reader.pages) >= 5
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - A4_PT[0]) < 0.5 and abs(height - A4_PT[1]) < 0.5


def test_rendering_again_gives_the_same_bytes(reference_pdf: Path, tmp_path: Path) -> None:
    assert render_pdf(tmp_path).read_bytes() == reference_pdf.read_bytes()
