"""``python -m service.render.docx``: build the converted-glyph cache at install time.

The only writer of ``fonts/build/docx``: render workers open it read-only (so the install tree
may be read-only and owned by another user). It converts each house style's base sets and every
glyph of the characters every role promises (通用规范汉字表, GB2312, the symbols) in every face and
fallback: ~1 min of CPU on two cores when cold, nothing when warm. A glyph outside it that a
document needs is converted in memory by the worker that needs it.
"""

from __future__ import annotations

import os
import sys
import time

from service.render.docx.fonts import CACHE_DIR, glyphs
from service.render.docx.fonts.embed import convert_characters
from service.render.docx.writer import warm_up
from service.style import list_house_styles, load_house_style
from service.style.coverage import promised_characters


def main() -> int:
    start = time.perf_counter()
    glyphs.WRITE_CACHE = True
    workers = os.cpu_count() or 1
    faces = {}
    for name in list_house_styles():
        style = load_house_style(name)
        warm_up(style, workers=workers)
        faces.update({str(face.path): face for face in style.faces.values()})
    chars = promised_characters()
    convert_characters(list(faces.values()), chars, workers)
    print(f"{len(faces)} faces ready in {CACHE_DIR} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
