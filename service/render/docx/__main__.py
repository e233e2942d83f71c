"""``python -m service.render.docx``: fill the converted-glyph cache before the service starts.

A cold cache costs ~5 s of CPU per face (GB2312 level 1 set as TrueType); run this in an image
build or an install step so that no render worker pays for it.
"""

from __future__ import annotations

import os
import sys
import time

from service.render.docx.fonts import CACHE_DIR
from service.render.docx.writer import warm_up
from service.style import list_house_styles, load_house_style


def main() -> int:
    start = time.perf_counter()
    faces = set()
    for name in list_house_styles():
        style = load_house_style(name)
        warm_up(style, workers=os.cpu_count() or 1)
        faces.update(face.file for face in style.used_faces())
    print(f"{len(faces)} faces ready in {CACHE_DIR} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
