"""Fonts embedded in a DOCX: a CFF face in, an obfuscated TrueType subset (``.odttf``) out.

Word embeds only TrueType-outline fonts, and our faces (Fandol) are CFF. Each glyph is turned
into quadratic outlines with fontTools' cu2qu (the ``otf2ttf`` recipe) and written into a small
TrueType font of our own, named after the catalogue family so that Word (which matches legacy
name ID 1) and LibreOffice (fontconfig family) both find it under the name the styles use.

Modules, one job each:

- :mod:`.charsets` — the fixed character sets a subset holds per embedding mode;
- :mod:`.glyphs` — the glyph store: converted glyphs kept per glyph on disk, indexed in memory;
- :mod:`.truetype` — a TrueType subset assembled table by table from the store;
- :mod:`.zipmath` — chained raw-deflate streams and combined CRC-32s for the ZIP entry;
- :mod:`.embed` — :func:`embed_face`: the obfuscated font part a document embeds.
"""

from service.render.docx.fonts.charsets import EmbedMode, editable_characters, gb2312_characters
from service.render.docx.fonts.embed import (
    EmbeddedFont,
    embed_face,
    font_key_for,
    obfuscate,
    truetype_font,
    warm_cache,
)
from service.render.docx.fonts.glyphs import CACHE_DIR, FontEmbeddingForbidden

__all__ = [
    "CACHE_DIR",
    "EmbedMode",
    "EmbeddedFont",
    "FontEmbeddingForbidden",
    "editable_characters",
    "embed_face",
    "font_key_for",
    "gb2312_characters",
    "obfuscate",
    "truetype_font",
    "warm_cache",
]
