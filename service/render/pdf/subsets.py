"""Font subsets kept per process: a face subset to the same glyphs again is not subset again.

WeasyPrint (70) subsets every face a PDF uses with HarfBuzz on every render
(``Font._harfbuzz_subset``: two passes over the whole face, 1–20 ms each for the Fandol faces,
~35 ms of a reference render). The title, heading and signature faces of one kind of report
draw the same few dozen glyphs in every document, and the body face often does too, so
:func:`install` keeps each subset's bytes, keyed by the face and the sorted glyph ids (and the
two other inputs of the subset: whether glyphs are missing, hinting). A hit hands out the same
bytes HarfBuzz gave the first time; a failed subset (WeasyPrint logs a warning, which fails
the render) is not kept. The font file stream pydyf deflates from a kept subset is deflated
once too: :class:`Deflater`, what pydyf gets for ``zlib.compressobj``, hands out the deflated
bytes of a kept subset's last time (a body face's subset deflates in ~15 ms).

WeasyPrint also spells the glyph arrays it gives HarfBuzz with their length in the C type
(``ffi.new(f"hb_codepoint_t[{n}]", ids)``), and cffi parses every new type string with
pycparser: ~7 ms for each new length, two per subset, so ~70 ms for a document whose five faces
are all new. :class:`_OpenArrays` hands WeasyPrint's font module an ``ffi`` that writes such an
array as ``hb_codepoint_t[]`` (parsed once per process) with the same items: the same array.

A face is known by the address of its HarfBuzz face, and the cache holds a reference to that
face, so the address cannot be reused by another face while an entry names it. What it cannot
do: notice a face whose file changed on disk under a running process (fontconfig and Pango do
not either). Bounds: :data:`MAX_BYTES` of subsets (least recently used dropped first) and
:data:`MAX_FACES` faces (past that everything is dropped). One thread at a time, like the rest
of the writer.
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sized
from typing import Any, Final

from weasyprint.pdf import fonts as weasy_fonts
from weasyprint.text.ffi import ffi

MAX_BYTES: Final = 32 * 1024 * 1024
"""Subset bytes kept at most (a body face's subset is ~0.4 MB, a heading face's ~60 KB)."""
MAX_FACES: Final = 64
"""Faces referenced at most; a house style has five to nine."""

SubsetKey = tuple[int, tuple[int, ...], bool, bool]

_subsets: OrderedDict[SubsetKey, bytes] = OrderedDict()
_faces: dict[int, Any] = {}
"""Face address -> the face (a reference held, so the address stays this face's)."""
_size = 0
_kept: dict[int, bytes] = {}
"""``id(subset bytes) -> subset bytes`` of every kept subset (the bytes are alive while kept)."""
_deflated: dict[tuple[int, int], bytes] = {}
"""``(id(kept subset bytes), zlib level) -> deflated bytes``."""

_original_subset: Callable[..., None] = weasy_fonts.Font._harfbuzz_subset


def _subset(self: Any, to_unicode: dict[int, Any], hinting: bool) -> None:
    global _size
    address = int(ffi.cast("uintptr_t", self.hb_face))
    key: SubsetKey = (address, tuple(sorted(to_unicode)), bool(self.missing), bool(hinting))
    if address in _faces and (found := _subsets.get(key)) is not None:
        _subsets.move_to_end(key)
        self.file_content = found
        return
    before = self.file_content
    _original_subset(self, to_unicode, hinting)
    if self.file_content is before:  # HarfBuzz failed; WeasyPrint has logged it
        return
    if address not in _faces and len(_faces) >= MAX_FACES:
        clear()
    _faces.setdefault(address, self.hb_face)
    _subsets[key] = self.file_content
    _kept[id(self.file_content)] = self.file_content
    _size += len(self.file_content)
    while _size > MAX_BYTES and _subsets:
        _, dropped = _subsets.popitem(last=False)
        _forget(dropped)


def _forget(data: bytes) -> None:
    global _size
    _size -= len(data)
    del _kept[id(data)]
    for key in [key for key in _deflated if key[0] == id(data)]:
        del _deflated[key]


class Deflater:
    """``zlib.compressobj(level)`` as pydyf uses it (``compress`` once, then ``flush``), the
    bytes the same; deflating at ``flush``, and only once per process for a kept subset."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.pieces: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self.pieces.append(data)
        return b""

    def flush(self) -> bytes:
        data = self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)
        self.pieces = []
        key = (id(data), self.level)
        kept = _kept.get(key[0]) is data
        if kept and (found := _deflated.get(key)) is not None:
            return found
        deflate = zlib.compressobj(self.level)
        out = deflate.compress(data) + deflate.flush()
        if kept:
            _deflated[key] = out
        return out


def clear() -> None:
    """Forget every subset and let go of the faces."""
    global _size
    _subsets.clear()
    _faces.clear()
    _kept.clear()
    _deflated.clear()
    _size = 0


_SIZED_ARRAY = re.compile(r"^(\w+)\[(\d+)\]$")


class _OpenArrays:
    """WeasyPrint's ``ffi`` for its font module, with ``new("T[n]", items)`` of exactly ``n``
    items made as ``new("T[]", items)``; everything else is the real ``ffi``'s."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def new(self, cdecl: str, init: Any = None) -> Any:
        if isinstance(cdecl, str) and isinstance(init, Sized):
            sized = _SIZED_ARRAY.match(cdecl)
            if sized is not None and int(sized[2]) == len(init):
                return self.real.new(f"{sized[1]}[]", init)
        return self.real.new(cdecl, init)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def install() -> None:
    """Put the cached subset in WeasyPrint's place (idempotent)."""
    weasy_fonts.Font._harfbuzz_subset = _subset
    if not isinstance(weasy_fonts.ffi, _OpenArrays):
        weasy_fonts.ffi = _OpenArrays(weasy_fonts.ffi)
