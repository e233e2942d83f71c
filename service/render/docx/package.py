"""Write the OPC package (a ZIP file) reproducibly, with font parts deflated once per font.

python-docx saves through :class:`zipfile.ZipFile`, which stamps every entry with the current
time and deflates every part, embedded fonts included. We let python-docx serialise the parts
(with empty placeholders for the fonts), then write our own ZIP: entries in python-docx's
order, every timestamp the document's own date, XML parts deflated, and each font part's
pre-built deflate stream copied in as it is (see :class:`~service.render.docx.fonts.EmbeddedFont`).
Same document, same bytes.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from service.render.docx.fonts import EmbeddedFont

XML_DEFLATE_LEVEL = 6


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    deflated: tuple[bytes, ...]
    """The raw-deflate stream in pieces (a font's base glyph stream is shared, not copied)."""
    crc32: int
    size: int

    @property
    def compressed_size(self) -> int:
        return sum(len(piece) for piece in self.deflated)


def repack(package: bytes, fonts: Mapping[str, EmbeddedFont], stamp: date) -> bytes:
    """``package`` (python-docx's output) rewritten reproducibly, with font parts filled in.

    ``fonts`` maps ZIP member names (``word/fonts/font1.odttf``) to the font each placeholder
    stands for; ``stamp`` is the date every entry carries (DOS time has no zone: midnight).
    """
    entries: list[_Entry] = []
    with zipfile.ZipFile(io.BytesIO(package)) as source:
        for info in source.infolist():
            font = fonts.get(info.filename)
            if font is not None:
                entries.append(_Entry(info.filename, font.deflated_parts, font.crc32, font.size))
                continue
            data = source.read(info)
            compressor = zlib.compressobj(XML_DEFLATE_LEVEL, zlib.DEFLATED, -15)
            entries.append(
                _Entry(
                    info.filename,
                    (compressor.compress(data) + compressor.flush(),),
                    zlib.crc32(data),
                    len(data),
                )
            )
    missing = set(fonts) - {e.name for e in entries}
    if missing:
        raise ValueError(f"font parts missing from the package: {sorted(missing)}")
    return _write_zip(entries, stamp)


def _write_zip(entries: list[_Entry], stamp: date) -> bytes:
    """A plain ZIP (method 8, no extra fields, no data descriptors) of ``entries``."""
    dos_time = 0
    year = min(max(stamp.year, 1980), 2107)  # all a DOS date holds (7 bits from 1980)
    dos_date = ((year - 1980) << 9) | (stamp.month << 5) | stamp.day
    out = io.BytesIO()
    central: list[bytes] = []
    for entry in entries:
        name = entry.name.encode("utf-8")
        flags = 0 if entry.name.isascii() else 0x0800
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                flags,
                8,
                dos_time,
                dos_date,
                entry.crc32,
                entry.compressed_size,
                entry.size,
                len(name),
                0,
            )
        )
        out.write(name)
        for piece in entry.deflated:
            out.write(piece)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flags,
                8,
                dos_time,
                dos_date,
                entry.crc32,
                entry.compressed_size,
                entry.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    directory_offset = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(
        struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            len(entries),
            len(entries),
            len(directory),
            directory_offset,
            0,
        )
    )
    return out.getvalue()
