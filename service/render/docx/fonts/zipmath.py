"""ZIP arithmetic: raw deflate streams that can be chained, and CRC-32s that can be combined.

A font part is written as ``deflate(directory) + cached deflate(base glyphs) + deflate(rest)``
(see :class:`~service.render.docx.fonts.embed.EmbeddedFont`); these functions make that a valid
ZIP entry without touching the base glyph data per render.
"""

from __future__ import annotations

import zlib
from functools import cache

DEFLATE_LEVEL = 6

_CRC32_POLY = 0xEDB88320
"""CRC-32's polynomial, bit-reflected as zlib holds it."""


"""CRC-32's polynomial, bit-reflected as zlib holds it."""


def _crc32_multiply(a: int, b: int) -> int:
    """``a·b`` modulo the CRC-32 polynomial (zlib's ``multmodp``); ``a`` must not be 0."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                return product
        m >>= 1
        b = (b >> 1) ^ _CRC32_POLY if b & 1 else b >> 1


@cache
def crc32_shift(length: int) -> int:
    """``x^(8·length)`` modulo the CRC-32 polynomial (zlib's ``x2nmodp(length, 3)``): what
    ``crc32_combine`` multiplies the first CRC by to append ``length`` bytes to it."""
    power = 1 << 30  # x^1
    for _ in range(3):  # squared thrice: x^8, the shift of one byte
        power = _crc32_multiply(power, power)
    result = 1 << 31  # x^0
    while length:
        if length & 1:
            result = _crc32_multiply(power, result)
        power = _crc32_multiply(power, power)
        length >>= 1
    return result


def crc32_combine(crc1: int, crc2: int, shift: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``crc32_shift(len(B))``.

    Python's :mod:`zlib` has no ``crc32_combine``; with it a font part's CRC costs two small
    CRCs and this, not a pass over the 3 MB of base glyphs per render.
    """
    return _crc32_multiply(shift, crc1) ^ crc2


def raw_deflate(data: bytes, final: bool) -> bytes:
    """Raw deflate (no zlib header) of ``data``; ``final=False`` ends with a sync flush so
    another stream can follow it."""
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    )
