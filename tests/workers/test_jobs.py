"""The worker-side jobs: the ZIP is reproducible, and renders name their files."""

from __future__ import annotations

import io
import zipfile

import pytest

from service.workers import jobs
from service.ziparchive import deterministic_zip


def test_zip_bytes_depend_only_on_members() -> None:
    a = deterministic_zip({"小康人寿-2023.pdf": b"%PDF", "小康人寿-2023.docx": b"PK"})
    b = deterministic_zip({"小康人寿-2023.docx": b"PK", "小康人寿-2023.pdf": b"%PDF"})
    assert a == b
    archive = zipfile.ZipFile(io.BytesIO(a))
    assert archive.namelist() == ["小康人寿-2023.docx", "小康人寿-2023.pdf"]
    info = archive.getinfo("小康人寿-2023.pdf")
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert info.flag_bits & 0x800  # names are marked UTF-8
    assert archive.read("小康人寿-2023.pdf") == b"%PDF"


def test_output_formats_are_the_pipeline_formats_and_zip() -> None:
    assert jobs.OUTPUT_FORMATS[0] == "pdf"
    assert set(jobs.OUTPUT_FORMATS) == {"pdf", "docx", "zip"}


def test_every_output_format_has_a_media_type() -> None:
    from service import pipeline
    from service.api.negotiation import MEDIA_TYPES

    assert set(jobs.OUTPUT_FORMATS) <= set(MEDIA_TYPES)
    assert {f: MEDIA_TYPES[f] for f in pipeline.MEDIA_TYPES} == pipeline.MEDIA_TYPES


@pytest.mark.slow
def test_render_pdf_of_the_reference_example(reference_example_bytes: bytes) -> None:
    content, filename = jobs.render(reference_example_bytes, "pdf")
    assert content.startswith(b"%PDF-")
    assert filename == "小康人寿-2023-消费者权益保护工作重大信息披露.pdf"
