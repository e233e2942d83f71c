"""Archival PDFs: PDF/A-3b and PDF/UA-1 clauses (tests/render/pdf_conformance.py, listed in
docs/pdf-archival.md) over every example and every test document, the attachments as poppler
lists them, the structure tree, the plain variant, reproducible bytes."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pikepdf
import pytest

from service import pipeline
from service.model import Document, Paragraph
from service.render.pdf import archival, render_pdf
from service.style import PdfVariant, load_house_style
from tests.conftest import EXAMPLE_FILES, EXAMPLES
from tests.render import model_fixtures as mx
from tests.render import pdf_fixtures as fx
from tests.render.pdf_conformance import (
    archival_problems,
    artifact_texts,
    reading_order,
    signature_destination,
)

GBT = load_house_style("gbt9704")
PLAIN = GBT.model_copy(update={"pdf": GBT.pdf.model_copy(update={"variant": "plain"})})

TEST_DOCUMENTS = {
    "sample": fx.sample_document,
    "long body": fx.long_body_document,
    "long table": lambda: fx.document([fx.table(1, 60, wrap=True)]),
    "ladder": lambda: fx.ladder_document(12),
    "ladder from （一）": lambda: fx.document([mx.heading(2, 1, "重要政策"), Paragraph("正文。")]),
}


@pytest.fixture(scope="module")
def example_pdfs() -> dict[str, tuple[bytes, bytes]]:
    """Each example's payload bytes and PDF, as the CLI and the API render them."""
    out = {}
    for path in EXAMPLE_FILES:
        raw = path.read_bytes()
        out[path.name] = (raw, pipeline.render_payload(raw, ("pdf",))["pdf"])
    return out


@pytest.mark.parametrize("name", [p.name for p in EXAMPLE_FILES])
def test_every_example_passes_the_archival_checks(
    example_pdfs: dict[str, tuple[bytes, bytes]], name: str
) -> None:
    assert archival_problems(example_pdfs[name][1]) == []


@pytest.mark.parametrize("name", sorted(TEST_DOCUMENTS))
def test_every_test_document_passes_the_archival_checks(name: str) -> None:
    pdf = render_pdf(TEST_DOCUMENTS[name](), GBT, pipeline.pdf_files(
        TEST_DOCUMENTS[name](), GBT, {"test": name}
    ))  # fmt: skip
    assert archival_problems(pdf) == []


def test_the_checks_fail_a_plain_pdf() -> None:
    problems = archival_problems(render_pdf(fx.sample_document(), PLAIN))
    clauses = " ".join(problems)
    for clause in ("6.6.2.1", "6.2.3", "6.8 payload.json", "UA 7.1 MarkInfo", "UA 7.1 no Struct"):
        assert clause in clauses, problems


def test_the_page_numbers_are_pagination_artifacts_and_nothing_else_is() -> None:
    pdf = render_pdf(fx.long_body_document(), GBT)
    pages = artifact_texts(pdf)
    assert len(pages) >= 2
    assert pages == [[("Pagination", GBT.page_number.text(n))] for n in range(1, len(pages) + 1)]
    tree_text = "".join(text for _, _, text in reading_order(pdf))
    assert GBT.page_number.text(2) not in tree_text, "a screen reader skips the page numbers"


def test_the_checks_fail_page_numbers_tagged_outside_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WeasyPrint's own tagging of the margins: an MCID whose element the tree does not hold."""

    class NoMarginBox:
        pass

    monkeypatch.setattr(archival, "_margin_artifacts", lambda document: {})
    monkeypatch.setattr(archival, "MarginBox", NoMarginBox)
    problems = " ".join(archival_problems(render_pdf(fx.sample_document(), GBT)))
    assert "tagged outside the structure tree" in problems, problems
    assert "page number not a Pagination artifact" in problems, problems


@pytest.mark.parametrize("variant", [None, "plain"])
def test_the_signature_block_is_recorded_where_poppler_finds_its_text(
    variant: PdfVariant | None, tmp_path: Path
) -> None:
    raw = (EXAMPLES / "kangning-property-2022.json").read_bytes()
    _, document = pipeline.build(raw)
    assert document.signature is not None
    pdf = pipeline.render_document(document, ("pdf",), raw, pdf_variant=variant)["pdf"]
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        page, kind, (left, bottom, right, top) = signature_destination(reader)
        assert page == len(reader.pages) - 1 and kind == "/FitR"
        height = float(reader.pages[page].mediabox[3])
    path = tmp_path / "signed-place.pdf"
    path.write_bytes(pdf)
    words = run("pdftotext", "-bbox", "-f", page + 1, "-l", page + 1, path, "-")
    boxes = [
        tuple(float(v) for v in (x0, y0, x1, y1))
        for x0, y0, x1, y1, word in re.findall(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<', words
        )
        if word in (document.signature.signer, document.signature.date_text)
    ]
    assert len(boxes) == 2, words
    for x0, y0, x1, y1 in boxes:  # poppler's y runs down from the top
        assert left - 1 <= x0 < x1 <= right + 1, (boxes, left, right)
        assert bottom - 1 <= height - y1 < height - y0 <= top + 1, (boxes, bottom, top)


def test_a_plain_pdf_is_untagged_and_carries_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    path.write_bytes(render_pdf(fx.sample_document(), PLAIN, pipeline.pdf_files(
        fx.sample_document(), PLAIN, {"x": 1}
    )))  # fmt: skip
    assert poppler("pdfinfo", path)["Tagged"] == "no"
    assert "0 embedded files" in run("pdfdetach", "-list", path)


def test_poppler_sees_a_tagged_pdf_with_its_payload(
    example_pdfs: dict[str, tuple[bytes, bytes]], tmp_path: Path
) -> None:
    raw, pdf = example_pdfs["xiaokang-life-2023.json"]
    path = tmp_path / "reference.pdf"
    path.write_bytes(pdf)
    info = poppler("pdfinfo", path)
    assert (info["Tagged"], info["Metadata Stream"], info["PDF version"]) == ("yes", "yes", "1.7")
    listing = run("pdfdetach", "-list", path)
    assert "2 embedded files" in listing and "payload.json" in listing, listing
    run("pdfdetach", "-saveall", "-o", str(tmp_path), path)
    assert (tmp_path / "payload.json").read_bytes() == raw
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["payload_sha256"] == pipeline_sha(raw)
    assert manifest["template_version"] and manifest["fonts"] and manifest["libraries"]


def test_the_structure_tree_reads_as_the_document(
    example_pdfs: dict[str, tuple[bytes, bytes]],
) -> None:
    raw, pdf = example_pdfs["xiaokang-life-2023.json"]
    _, document = pipeline.build(raw)
    tree = reading_order(pdf)
    headings = [(kind, text) for depth, kind, text in tree if depth == 1 and kind[0] == "H"]
    expected = [("H1", document.title.replace("\n", ""))]
    depth = {level: n for n, level in enumerate(sorted({h.level for h in document.headings}), 1)}
    expected += [(f"H{depth[h.level]}", h.full_text) for h in document.headings]
    assert headings == expected
    assert depth[2] == 1, "the reference's ladder starts at （一）: its top headings are H1"
    tables = [(d, t) for d, kind, t in tree if kind == "Table"]
    captions = [(d, t) for d, kind, t in tree if kind == "Caption"]
    assert [t for _, t in captions] == [t.caption for t in document.tables]
    assert len(tables) == len(document.tables) and all(d == 1 for d, _ in tables)
    assert all(d == 2 for d, _ in captions), "each caption inside its table"
    body = [t for d, kind, t in tree if d == 1 and kind == "P"]
    paragraphs = [b for b in document.blocks if isinstance(b, Paragraph)]
    assert body == [p.text for p in paragraphs if p.role != "note"], (
        "one P per paragraph, in reading order, across page breaks"
    )
    notes = [t for d, kind, t in tree if d == 1 and kind == "Note"]
    assert notes == [p.text for p in paragraphs if p.role == "note"], "a note under a table"


def test_a_table_over_pages_is_one_table_with_one_header_row() -> None:
    document = fx.document([fx.table(1, 60, wrap=True), Paragraph("注：跨页。", "note")])
    pdf = render_pdf(document, GBT)
    assert rd_pages(pdf) >= 2
    tree = reading_order(pdf)
    assert [kind for d, kind, _ in tree if d == 1] == ["H1", "Table", "Note"]
    assert sum(kind == "TH" for _, kind, _ in tree) == 3
    # header, 60 rows, 合计 and the 续表 row (a header row, drawn on the next pages only)
    assert sum(kind == "TR" for _, kind, _ in tree) == 1 + 60 + 1 + 1 + 1
    assert sum(kind == "Caption" for _, kind, _ in tree) == 1
    header = "".join(column.title for column in document.tables[0].columns)
    pages = artifact_texts(pdf)
    assert header not in "".join(text for _, text in pages[0])
    assert all(header in "".join(text for _, text in page) for page in pages[1:]), (
        "the header row repeated on a later page is an artifact, read once"
    )


def test_the_outline_has_the_title_on_one_line() -> None:
    document = mx.document([mx.heading(1, 1, "概况")], title="小康人寿\n2023年度披露")
    with pikepdf.open(io.BytesIO(render_pdf(document, GBT))) as pdf, pdf.open_outline() as outline:
        titles = [item.title for item in outline.root]
    assert titles[0] == "小康人寿2023年度披露"


def test_two_renders_of_a_payload_are_byte_identical(
    example_pdfs: dict[str, tuple[bytes, bytes]],
) -> None:
    raw, pdf = example_pdfs["kangning-property-2022.json"]
    assert pipeline.render_payload(raw, ("pdf",))["pdf"] == pdf


def test_the_attachment_dates_are_the_documents() -> None:
    document: Document = fx.sample_document()
    pdf = render_pdf(document, GBT, pipeline.pdf_files(document, GBT, {"x": 1}))
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        params = reader.attachments["payload.json"].obj.EF.F.Params
        assert str(params.ModDate) == document.meta.created.strftime("D:%Y%m%d000000Z")


def pipeline_sha(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()


def rd_pages(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        return len(reader.pages)


def run(*args: object) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def poppler(tool: str, path: Path) -> dict[str, str]:
    lines = run(tool, path).splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
