"""The functions the API runs in a worker: their formats, and renders name their files."""

from __future__ import annotations

import pytest

from service.jobs import tasks


def test_output_formats_are_the_pipeline_formats_and_zip() -> None:
    assert tasks.OUTPUT_FORMATS[0] == "pdf"
    assert set(tasks.OUTPUT_FORMATS) == {"pdf", "docx", "zip"}


def test_every_output_format_has_a_media_type() -> None:
    from service.formats import MEDIA_TYPES

    assert set(tasks.OUTPUT_FORMATS) <= set(MEDIA_TYPES)


@pytest.mark.slow
def test_render_pdf_of_the_reference_example(reference_example_bytes: bytes) -> None:
    content, filename = tasks.render(reference_example_bytes, "pdf")
    assert content.startswith(b"%PDF-")
    assert filename == "小康人寿-2023-消费者权益保护工作重大信息披露.pdf"
