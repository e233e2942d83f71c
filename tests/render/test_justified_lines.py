"""No ragged line inside a justified paragraph of the PDF: a line that ends early because the
next piece cannot be split (“3.15”, a number with its unit, a quote that may not start a line)
is spread between its characters to the right edge of the text block, as Word and WPS do.
Read back as word boxes (``pdftotext -bbox``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.pipeline import build
from service.render.pdf import render_pdf
from service.style import load_house_style
from service.style.house_style import MM_PER_PT
from tests.conftest import EXAMPLE_FILES, EXAMPLES
from tests.render import justified as jl

TOLERANCE_PT = 1.0


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_line_but_the_last_reaches_the_right_edge(path: Path) -> None:
    _, document = build(path.read_bytes())
    style = load_house_style(document.meta.house_style)
    pdf = render_pdf(document, style)
    paragraphs = jl.paragraph_lines(jl.text_lines(pdf, style), jl.justified_texts(document, style))
    assert paragraphs
    right = jl.text_block_right(style)
    for lines in paragraphs:
        for line in lines[:-1]:
            assert abs(line.x1 - right) <= TOLERANCE_PT, line
        assert lines[-1].x1 <= right + TOLERANCE_PT, lines[-1]


def test_two_lines_in_a_row_that_end_before_a_quote() -> None:
    """The reference disclosure's 重大活动 paragraph: “了“3.15”” cannot start after 开展 on its
    line, and “9月” cannot follow “宣传日”“ on the next: flush left, both lines ended a quote's
    width or two short of the margin, one after the other."""
    _, document = build((EXAMPLES / "xiaokang-life-2023.json").read_bytes())
    style = load_house_style(document.meta.house_style)
    pdf = render_pdf(document, style)
    (lines,) = [
        lines
        for lines in jl.paragraph_lines(
            jl.text_lines(pdf, style), jl.justified_texts(document, style)
        )
        if lines[0].text.startswith("2023年，公司深入践行绿色发展理念")
    ]
    texts = [line.text for line in lines]
    (at,) = [i for i, text in enumerate(texts) if text.endswith("先后组织开展")]
    assert texts[at + 1].startswith("了“3.15”") and texts[at + 1].endswith("“9"), texts
    right = jl.text_block_right(style)
    for line in lines[at : at + 2]:
        assert abs(line.x1 - right) <= TOLERANCE_PT, line
    grid = style.page.text_width_mm / MM_PER_PT / style.page.chars_per_line
    assert len(texts[at]) < style.page.chars_per_line - 1, "the line is short of characters"
    assert lines[at].x1 - lines[at].x0 > (len(texts[at]) + 1) * grid, "and spread to the edge"
