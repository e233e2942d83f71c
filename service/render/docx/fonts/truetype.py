"""TrueType assembly: a subset font written table by table from a glyph store.

The subset is assembled by :func:`assemble` in a few ms (no fontTools subsetter, which costs
3-6 s per subset), so it is cached only in memory, keyed by its glyphs. ``glyf`` data comes first
in the file so that the stable base glyphs sit at a fixed place right after the table directory.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import accumulate
from typing import TYPE_CHECKING

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fontTools.ttLib.tables._n_a_m_e import NameRecord

if TYPE_CHECKING:
    from service.render.docx.fonts.glyphs import BaseChunk, FaceStore


def assemble(
    store: FaceStore,
    chunk: BaseChunk,
    extras: tuple[int, ...],
    family: str,
    keep_layout: bool,
) -> tuple[bytes, bytes]:
    """A TrueType font of glyphs ``chunk.gids + extras`` (renumbered in that order), in pieces.

    Returns the header with the table directory, and everything after the base glyph chunk
    (first in ``glyf``). ``glyf`` data comes first in the file so the base chunk sits at a fixed
    place; table records stay sorted by tag as the spec asks. GPOS (only optional ``halt``/
    ``vhal``-style features in Fandol) is kept only when glyph ids are unchanged (``full``).
    """
    order = chunk.gids + extras
    extra_data = store.read(extras)
    new_id = {old: new for new, old in enumerate(order)}
    cmap = {
        cp: new_id[g]
        for cp, g in zip(store.codepoints, store.cmap_gids, strict=False)
        if g and g in new_id
    }

    sizes = store.sizes
    offsets = array("I", accumulate((sizes[g] for g in order), initial=0))
    if sys.byteorder == "little":
        offsets.byteswap()

    n = len(order)
    advances, bearings = store.hmetrics
    x_mins = store.x_mins
    metrics: list[int] = []
    for o in order:
        metrics += (advances[o], x_mins[o] if sizes[o] else bearings[o])
    hmtx = struct.pack(">" + "Hh" * n, *metrics)
    tables: dict[str, bytes] = {
        "head": _patched_head(store.raw["head"]),
        "hhea": _with_u16(store.raw["hhea"], 34, n),
        "maxp": struct.pack(
            ">IHHHHHHHHHHHHHH",
            0x00010000,
            n,
            max(chunk.max_points, *(store.points[g] for g in extras), 0),
            max(chunk.max_contours, *(store.contours[g] for g in extras), 0),
            0,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ),
        "OS/2": _patched_os2(store.raw["OS/2"], cmap),
        "hmtx": hmtx,
        "cmap": _cmap_table(cmap, n),
        "loca": offsets.tobytes(),
        "post": struct.pack(">I", 0x00030000) + store.raw["post"][4:32],
        "name": store.name_table(family),
    }
    if store.vmetrics is not None:
        tables["vhea"] = _with_u16(store.raw["vhea"], 34, n)
        v_advances, v_bearings = store.vmetrics
        vmetrics: list[int] = []
        for o in order:
            vmetrics += (v_advances[o], v_bearings[o])
        tables["vmtx"] = struct.pack(">" + "Hh" * n, *vmetrics)
    if "BASE" in store.raw:
        tables["BASE"] = store.raw["BASE"]
    if keep_layout and "GPOS" in store.raw:
        tables["GPOS"] = store.raw["GPOS"]

    tags = sorted([*tables, "glyf"])
    header_size = 12 + 16 * len(tags)
    lengths = {t: len(d) for t, d in tables.items()} | {"glyf": chunk.size + len(extra_data)}
    sums = {t: table_checksum(d) for t, d in tables.items()}
    sums["glyf"] = (chunk.checksum + table_checksum(extra_data)) & 0xFFFFFFFF
    placed = ["glyf", *(t for t in tags if t != "glyf")]
    offset_of, pos = {}, header_size
    for t in placed:
        offset_of[t] = pos
        pos += _padded(lengths[t])

    def directory() -> bytes:
        power = 1 << (len(tags).bit_length() - 1)
        head = struct.pack(
            ">IHHHH",
            0x00010000,
            len(tags),
            power * 16,
            power.bit_length() - 1,
            len(tags) * 16 - power * 16,
        )
        records = b"".join(
            struct.pack(">4sIII", t.encode("latin-1"), sums[t], offset_of[t], lengths[t])
            for t in tags
        )
        return head + records

    total = table_checksum(directory()) + sum(sums.values())
    tables["head"] = _with_u32(tables["head"], 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
    rest = extra_data + b"".join(_pad(tables[t]) for t in placed[1:])
    return directory(), rest


def _patched_head(head: bytes) -> bytes:
    """``head`` with the checksum adjustment zeroed, no bold/italic style and long ``loca``."""
    out = bytearray(head)
    struct.pack_into(">I", out, 8, 0)
    struct.pack_into(">H", out, 44, 0)  # macStyle: the renamed face is a regular of its family
    struct.pack_into(">hh", out, 50, 1, 0)  # indexToLocFormat long, glyphDataFormat 0
    return bytes(out)


def _patched_os2(os2: bytes, cmap: dict[int, int]) -> bytes:
    out = bytearray(os2)
    selection = struct.unpack_from(">H", out, 62)[0]
    struct.pack_into(">H", out, 62, (selection & ~0x0021) | 0x0040)  # REGULAR, not BOLD/ITALIC
    bmp = [cp for cp in cmap if cp <= 0xFFFF] or [0x20]
    struct.pack_into(">HH", out, 64, min(bmp), max(bmp))
    return bytes(out)


def _cmap_table(cmap: dict[int, int], glyph_count: int) -> bytes:
    """A Windows Unicode cmap: format 4 (and format 12 when a character is beyond the BMP).

    The Windows subtables are the ones Word reads and enough for LibreOffice; the Unicode-platform
    duplicates would double the cost of the slowest table to build.
    """
    names = [".notdef", *(f"g{i}" for i in range(1, glyph_count))]
    font = TTFont()
    font.setGlyphOrder(names)
    table = newTable("cmap")
    table.tableVersion = 0
    table.tables = []
    by_name = {cp: names[g] for cp, g in cmap.items()}
    bmp = {cp: name for cp, name in by_name.items() if cp <= 0xFFFF}
    subtables: list[tuple[int, int, int, dict[int, str]]] = [(3, 1, 4, bmp)]
    if len(bmp) < len(by_name):
        subtables.append((3, 10, 12, by_name))
    for platform, encoding, fmt, mapping in subtables:
        sub = CmapSubtable.newSubtable(fmt)
        sub.platformID, sub.platEncID, sub.language = platform, encoding, 0
        sub.cmap = mapping
        table.tables.append(sub)
    return bytes(table.compile(font))


def name_table_for(store: FaceStore, family: str) -> bytes:
    """The source's name records with the family renamed to ``family`` (a regular face).

    Fandol's legacy family names differ from the catalogue's (``FandolFang R``; the bold Song is
    the ``Bold`` style of ``FandolSong``); Word matches on name ID 1, so the embedded font must
    carry exactly the name the styles use.
    """
    ps_name = "".join(ch for ch in family if ch.isalnum() or ch == "-")
    ours = {
        1: family,
        2: "Regular",
        3: f"{ps_name};pilu-{store.sha256[:12]}",
        4: family,
        6: ps_name,
    }
    table = newTable("name")
    table.names = []
    for record in store.names:
        if record.nameID in ours or record.nameID in (16, 17):
            continue
        table.names.append(record)
    for name_id, text in ours.items():
        for platform, encoding, language in ((1, 0, 0), (3, 1, 0x409)):
            record = NameRecord()
            record.nameID, record.platformID, record.platEncID, record.langID = (
                name_id,
                platform,
                encoding,
                language,
            )
            record.string = text
            table.names.append(record)
    table.names.sort(key=lambda r: (r.platformID, r.platEncID, r.langID, r.nameID))
    return bytes(table.compile(None))  # a name table compiles without its font


# --- small binary helpers -------------------------------------------------------------------


def long_metrics(data: bytes, long_count: int, glyph_count: int) -> tuple[array[int], array[int]]:
    """``(advances, side bearings)`` per glyph from an ``hmtx``/``vmtx`` table."""
    advances = array("H", data[: 4 * long_count])
    bearings = array("h", data[: 4 * long_count])
    rest = array("h", data[4 * long_count : 4 * long_count + 2 * (glyph_count - long_count)])
    if sys.byteorder == "little":
        for a in (advances, bearings, rest):
            a.byteswap()
    advances = advances[0::2]
    bearings = bearings[1::2]
    advances.extend([advances[-1]] * (glyph_count - long_count))
    bearings.extend(rest)
    return advances, bearings


def u16(data: bytes, offset: int) -> int:
    return int(struct.unpack_from(">H", data, offset)[0])


def _with_u16(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">H", value) + data[offset + 2 :]


def _with_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (_padded(len(data)) - len(data))


def table_checksum(data: bytes) -> int:
    """The OpenType table checksum: the sum of big-endian uint32 words, zero-padded."""
    words = array("I", _pad(data))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF
