"""Inter-character justification of Chinese lines in WeasyPrint, as Word and WPS justify them.

WeasyPrint (70) justifies a line by widening its spaces only (``layout.inline.justify_line``;
``text-justify`` is not implemented). A Chinese line has no spaces, so a line that ends early,
because the next piece cannot be split (“3·15”, a number with its unit, a closing quote that
may not start a line), stays ragged in a justified paragraph. :func:`install` replaces that one
function: on a line with Chinese text the missing width is spread evenly over every gap between
characters (CSS Text 3's ``inter-character``), by raising the letter spacing of each text box of
the line (drawn with it: WeasyPrint sets a text box's layout up again from its style when it
draws it); lines without Chinese text keep WeasyPrint's own word spacing.

The replacement sits in WeasyPrint's module because WeasyPrint offers no hook for it; it only
acts on lines WeasyPrint itself justifies (``text-align: justify``, not a paragraph's last line).

Pango draws letter spacing half before and half after each character but not at the ends of a
layout, and WeasyPrint counts one whole spacing per character in a text box's width; so a
line of ``n`` characters whose letter spacing rises by ``d`` grows by ``n·d`` in width while its
last glyph moves right by only ``(n - 1)·d``. The spacing is chosen so that the last glyph ends
at the right edge of the line, where a full line of the grid ends. A line that would need gaps
wider than :data:`MAX_SPREAD_EM` is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from weasyprint.formatting_structure import boxes
from weasyprint.layout import inline

_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
"""CJK symbols and punctuation, ideographs and full-width forms."""

_space_justify: Callable[[Any, Any, float], None] = inline.justify_line
"""WeasyPrint's own justification, kept for lines without Chinese text."""

MIN_EXTRA_PX = 1.0
"""Below this shortfall (CSS px: 0.75 pt) a line is left as it is: a full line of the grid
ends a fraction of a point short of the margin by construction (see :mod:`.css`)."""

MAX_SPREAD_EM = 0.5
"""The most a gap between characters may widen, in ems. A line that would need more (a few
characters before a piece longer than the line, such as a hash) stays flush left, as CSS Text
allows, rather than being spread letter by letter over the width."""


def install() -> None:
    """Put :func:`justify_line` in WeasyPrint's place (idempotent)."""
    inline.justify_line = justify_line


def justify_line(context: Any, line: Any, extra_width: float) -> None:
    """Justify ``line`` to ``extra_width`` more: between characters when it holds Chinese."""
    if extra_width < MIN_EXTRA_PX:
        return
    texts = list(_text_boxes(line))
    if not any(_CHINESE.search(box.text) for box in texts):
        _space_justify(context, line, extra_width)
        return
    gaps = sum(len(box.text) for box in texts) - 1
    if gaps < 1:
        return
    extra = (extra_width + _letter_spacing(texts[-1].style)) / gaps
    if extra <= MAX_SPREAD_EM * texts[-1].style["font_size"]:
        _spread(context, line, extra, 0.0)


def _text_boxes(box: Any) -> Iterator[Any]:
    if isinstance(box, boxes.TextBox):
        yield box
    elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        for child in box.children:
            if child.is_in_normal_flow():
                yield from _text_boxes(child)


def _letter_spacing(style: Any) -> float:
    value = style["letter_spacing"]
    return 0.0 if value == "normal" else float(value)


def _spread(context: Any, box: Any, extra: float, x_advance: float) -> float:
    """Add ``extra`` pt of letter spacing to every character under ``box``, moving it and what
    follows by ``x_advance`` plus what the boxes before it grew; the growth so far."""
    if isinstance(box, boxes.TextBox):
        box.position_x += x_advance
        style = box.style.copy()
        style["letter_spacing"] = _letter_spacing(box.style) + extra
        # The box's Pango layout is set up again from its style when it is drawn
        # (``Layout.reactivate``), so the new spacing needs no layout now.
        box.style = style
        grown = extra * len(box.text)
        box.width += grown
        return x_advance + grown
    if isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        box.position_x += x_advance
        before = x_advance
        for child in box.children:
            if child.is_in_normal_flow():
                x_advance = _spread(context, child, extra, x_advance)
        box.width += x_advance - before
        return x_advance
    box.translate(x_advance, 0)
    return x_advance
