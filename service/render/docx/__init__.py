"""DOCX writer: the document model and a house style in, the bytes of a Word document out.

Modules, in the order a render runs through them:

- :mod:`.writer` — :func:`render_docx`: styles, numbering, page, body, properties, fonts;
- :mod:`.styles` — house-style roles as Word styles (built-in ones where Word has them);
- :mod:`.oxml` — every piece of raw WordprocessingML python-docx does not model;
- :mod:`.fonts` — CFF faces as obfuscated TrueType subsets, converted once and cached (a package:
  character sets, glyph store, TrueType assembly, ZIP arithmetic);
- :mod:`.package` — the ZIP, reproducible, with font parts deflated once per font.
"""

from service.render.docx.fonts import EmbeddedFont, FontEmbeddingForbidden, embed_face, warm_cache
from service.render.docx.writer import NumberingMismatch, render_docx, warm_up

__all__ = [
    "EmbeddedFont",
    "FontEmbeddingForbidden",
    "NumberingMismatch",
    "embed_face",
    "render_docx",
    "warm_cache",
    "warm_up",
]
