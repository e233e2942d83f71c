"""Both writers refuse, with one check, text the house style's fonts cannot draw."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.errors import RenderFailed
from service.model import Document, Paragraph
from service.render.docx import render_docx
from service.render.pdf import render_pdf
from service.style import HouseStyle
from service.style.house_style import FontFace
from tests.render import docx_fixtures as fx

Writer = Callable[[Document, HouseStyle], bytes]
WRITERS: dict[str, Writer] = {"pdf": render_pdf, "docx": render_docx}


@pytest.mark.parametrize("text", ["正文\ue000正文", "\U0001f600正\ue001文\U0001f600"])
def test_both_writers_refuse_the_same_characters_with_the_same_error(text: str) -> None:
    document = fx.document([Paragraph(text)])
    refused = {}
    for name, writer in WRITERS.items():
        with pytest.raises(RenderFailed) as caught:
            writer(document, fx.GBT)
        refused[name] = caught.value.as_dict()
    assert refused["pdf"] == refused["docx"]
    missing = list(dict.fromkeys(char for char in text if char not in "正文"))
    assert refused["pdf"]["error"]["details"] == [f"U+{ord(c):04X} {c!r}" for c in missing]


def test_page_number_placeholder_is_not_checked_but_its_digits_are() -> None:
    """``{n}`` is never printed: the digits it stands for are checked in its place."""
    style = fx.GBT.model_copy(
        update={"page_number": fx.GBT.page_number.model_copy(update={"format": "\ue000{n}"})}
    )
    for writer in WRITERS.values():
        with pytest.raises(RenderFailed) as caught:
            writer(fx.document([Paragraph("正文")]), style)
        assert caught.value.details == [f"U+E000 {chr(0xE000)!r}"]


@pytest.mark.parametrize("name", list(WRITERS))
def test_an_unreadable_font_is_a_render_failure_in_both_writers(name: str) -> None:
    broken_face = FontFace(
        key="fangsong", family="x", file="../service/__init__.py", sha256="", role_name="仿宋"
    )
    broken = fx.GBT.model_copy(
        update={"name": "broken-coverage", "faces": {**fx.GBT.faces, "fangsong": broken_face}}
    )
    with pytest.raises(RenderFailed, match="a font of house style broken-coverage cannot be read"):
        WRITERS[name](fx.document([Paragraph("正文")]), broken)


@pytest.mark.parametrize("key", sorted(fx.GBT.faces))
def test_harfbuzz_reads_the_same_character_map_as_fonttools(key: str) -> None:
    """The check reads each face's cmap with HarfBuzz; fontTools' best cmap of the file agrees."""
    from fontTools.ttLib import TTFont

    from service.style.coverage import face_codepoints

    path = fx.GBT.faces[key].path
    with TTFont(path, lazy=True) as font:
        expected = frozenset(font.getBestCmap())
    assert frozenset(face_codepoints(str(path))) == expected
