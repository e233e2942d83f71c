"""Fonts embedded in a DOCX: a CFF face in, an obfuscated TrueType subset (``.odttf``) out.

Word embeds only TrueType-outline fonts, and our faces (Fandol) are CFF. Each glyph is turned
into quadratic outlines with fontTools' cu2qu (the ``otf2ttf`` recipe) and written into a small
TrueType font of our own, named after the catalogue family so that Word (which matches legacy
name ID 1) and LibreOffice (fontconfig family) both find it under the name the styles use.

Why the pipeline looks like this (measured on a 2-core machine, FandolFang, 10,365 glyphs):

- Converting one glyph costs ~1.2 ms, so the GB2312 level-1 set (~3,850 glyphs) costs ~5 s per
  face and a whole face ~13 s; fontTools' subsetter adds 3-6 s per subset. A service cannot pay
  that per document. So converted glyphs are kept **per glyph**, in memory and on disk
  (``fonts/build/docx/<face>-<source sha>-g<version>.glyphs``), keyed by the hash of the source
  font; a character a document needs and the store lacks is converted then (milliseconds). The
  subset itself is assembled from stored glyph bytes by :func:`_assemble` in a few ms, so it is
  cached only in memory.
- Deflating ~8 MB of editable font parts costs 170-270 ms per document and saves ~25 %. The glyph
  data of the stable base set (GB2312 level 1 etc.) is laid out first in ``glyf``, right after
  the table directory, and its raw-deflate stream (ended with a sync flush) is cached; a
  document's font part is then ``deflate(directory) + cached deflate(base glyphs) +
  deflate(extra glyphs and small tables)``: a valid deflate stream that only compresses what
  changes (see :attr:`EmbeddedFont.deflated`).

Obfuscation (ECMA-376 Part 1 §17.8.1): the first 32 bytes of the font are XORed with the 16 bytes
of the font key GUID taken in reverse order. Keys here are derived from the font's content, so
the same document gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import sys
import tempfile
import threading
import zlib
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Literal, NamedTuple

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fontTools.ttLib.tables._n_a_m_e import NameRecord

from service import FONTS_DIR
from service.errors import RenderFailed
from service.style.house_style import FontFace

EmbedMode = Literal["editable", "used", "full", "none"]

CACHE_DIR = FONTS_DIR / "build" / "docx"
"""Where converted glyphs are kept between processes (``fonts/build`` is git-ignored)."""

CONVERTER_VERSION = 1
"""Bump when the glyph conversion changes, so stale cache files are not read."""

MAX_ERROR_UNITS = 1.0
"""cu2qu tolerance in font units (1/1000 em for Fandol): below what any printer can show."""

DEFLATE_LEVEL = 6
DISK_CHUNK_MIN_BYTES = 256 * 1024
"""Base chunks smaller than this (the lone .notdef of "used" mode) are not worth a file."""

FS_TYPE_RESTRICTED = 0x0002
"""OS/2 fsType bit: restricted-licence embedding; the font must not be embedded."""
FS_TYPE_NO_SUBSETTING = 0x0100
FS_TYPE_BITMAP_ONLY = 0x0200


class FontEmbeddingForbidden(RenderFailed):
    """A face's licence flags (OS/2 ``fsType``) forbid embedding it in a document."""

    code = "font_embedding_forbidden"


# --- character sets -------------------------------------------------------------------------


@cache
def gb2312_characters(rows: tuple[int, ...]) -> frozenset[str]:
    """The characters of GB2312 rows ``rows`` (lead bytes 0xA1…0xF7), decoded with Python's codec."""
    chars: set[str] = set()
    for lead in rows:
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


GB2312_LEVEL1_ROWS = tuple(range(0xB0, 0xD8))
"""Lead bytes of the 3,755 level-1 hanzi (0xB0A1–0xD7F9)."""
GB2312_SYMBOL_ROWS = (0xA1, 0xA3)
"""Row 1 (、。·—…“”《》【】 …) and row 3 (full-width ASCII)."""


@cache
def editable_characters() -> frozenset[str]:
    """What an "editable" subset holds besides the document's own characters.

    GB2312 level 1, ASCII, CJK symbols and punctuation (U+3000–303F), full-width forms
    (U+FF01–FF5E), general punctuation (U+2010–2027) and GB2312's symbol rows: enough for a user
    to type on in the same face, and enough glyphs that LibreOffice keeps the font for editing
    (it drops small subsets, tdf#162002).
    """
    ranges = [(0x20, 0x7E), (0x3000, 0x303F), (0xFF01, 0xFF5E), (0x2010, 0x2027)]
    chars = {chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)}
    return frozenset(
        chars | gb2312_characters(GB2312_LEVEL1_ROWS) | gb2312_characters(GB2312_SYMBOL_ROWS)
    )


# --- the embedded font ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddedFont:
    """One obfuscated font part, ready for the package writer."""

    family: str
    """The name in ``w:font/@w:name`` and every ``w:rFonts`` that uses the face."""
    font_key: str
    """``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}``, upper-case (LibreOffice reads only A-F)."""
    chunks: tuple[bytes, ...]
    """The obfuscated font, in pieces (joined by :attr:`odttf`)."""
    deflated: bytes
    """A raw deflate stream of :attr:`odttf`, for a ZIP entry of method 8."""
    crc32: int
    size: int
    subsetted: bool
    glyph_count: int

    @property
    def odttf(self) -> bytes:
        return b"".join(self.chunks)


def embed_face(face: FontFace, used: Iterable[str], mode: EmbedMode) -> EmbeddedFont:
    """The embedded form of ``face`` for a document whose text in this face is ``used``.

    ``mode`` is the house style's ``docx.embed_fonts`` (not ``none``). Raises
    :class:`FontEmbeddingForbidden` when the face's ``fsType`` forbids embedding.
    """
    if mode == "none":
        raise ValueError("embed_face needs an embedding mode other than 'none'")
    return _embed_cached(str(face.path), face.family, mode, frozenset(used))


def truetype_font(embedded: EmbeddedFont) -> bytes:
    """The plain TrueType font inside an embedded font part (for tests and debugging)."""
    return deobfuscate(embedded.odttf, embedded.font_key)


def obfuscate(data: bytes, font_key: str) -> bytes:
    """XOR the first 32 bytes of ``data`` with the reversed GUID bytes of ``font_key``.

    The operation is its own inverse; :func:`deobfuscate` is the same function.
    """
    digits = font_key.strip("{}").replace("-", "")
    if len(digits) != 32:
        raise ValueError(f"font key must be a GUID, got {font_key!r}")
    key = bytes.fromhex(digits)[::-1]
    head = bytes(b ^ key[i % 16] for i, b in enumerate(data[:32]))
    return head + data[32:]


deobfuscate = obfuscate


def font_key_for(seed: bytes) -> str:
    """A GUID-shaped font key derived from ``seed``: reproducible, upper-case hex."""
    h = hashlib.sha256(seed).hexdigest().upper()[:32]
    return f"{{{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}}}"


def warm_cache(faces: Sequence[FontFace], mode: EmbedMode = "editable", workers: int = 2) -> None:
    """Make the first render of ``mode`` in this process fast: glyphs converted (into the disk
    cache, on ``workers`` processes when several faces are cold) and base chunks deflated.

    For a worker's initializer and test sessions. A cold disk cache costs ~5 s of CPU per face
    in "editable" mode (~13 s in "full"); a warm one ~0.1 s per face.
    """
    if mode == "none":
        return
    unique = list({str(f.path): f for f in faces}.values())
    cold = [f for f in unique if not _store(str(f.path)).has_base(mode)]
    if len(cold) > 1 and workers > 1:
        with ProcessPoolExecutor(min(workers, len(cold)), mp_context=get_context("spawn")) as pool:
            list(pool.map(_warm_one, [(str(f.path), mode) for f in cold]))
        for f in cold:
            _store(str(f.path)).reload()
    for f in unique:
        _warm_one((str(f.path), mode))


def _warm_one(job: tuple[str, EmbedMode]) -> None:
    path, mode = job
    store = _store(path)
    base = store.base_gids(mode)
    store.ensure(base)
    store.base_chunk(base)


# --- glyph store ----------------------------------------------------------------------------


class _Glyph(NamedTuple):
    data: bytes
    """Compiled TrueType glyph, padded to 4 bytes; empty for a glyph without outline."""
    points: int
    contours: int

    @property
    def x_min(self) -> int | None:
        return struct.unpack_from(">h", self.data, 2)[0] if self.data else None


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Glyph data of a stable base set, with its checksum and cached raw-deflate stream."""

    data: bytes
    deflated: bytes
    checksum: int


_STORES: dict[str, _FaceStore] = {}
_STORES_LOCK = threading.Lock()


def _store(path: str) -> _FaceStore:
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = _FaceStore(Path(path))
        return store


class _FaceStore:
    """One source face: its tables read once, its glyphs converted on demand and kept."""

    MAGIC = b"PILUGLYF"

    def __init__(self, path: Path, cache_dir: Path | None = None) -> None:
        source = path.read_bytes()
        self.path = path
        self.sha256 = hashlib.sha256(source).hexdigest()
        self.font = TTFont(io.BytesIO(source), lazy=True)
        self.fs_type: int = struct.unpack_from(">H", self.font.reader["OS/2"], 8)[0]
        self.order: list[str] = self.font.getGlyphOrder()
        gid = {name: i for i, name in enumerate(self.order)}
        self.cmap: dict[int, int] = {cp: gid[n] for cp, n in self.font.getBestCmap().items()}
        self.raw: dict[str, bytes] = {
            t: self.font.reader[t]
            for t in ("head", "hhea", "OS/2", "post", "vhea", "BASE", "GPOS")
            if t in self.font.reader
        }
        self.hmetrics = _long_metrics(
            self.font.reader["hmtx"], _u16(self.raw["hhea"], 34), len(self.order)
        )
        self.vmetrics = (
            _long_metrics(self.font.reader["vmtx"], _u16(self.raw["vhea"], 34), len(self.order))
            if "vhea" in self.raw and "vmtx" in self.font.reader
            else None
        )
        self.glyphs: dict[int, _Glyph] = {}
        name = f"{path.stem}-{self.sha256[:16]}-g{CONVERTER_VERSION}.glyphs"
        self.cache_file = (cache_dir or CACHE_DIR) / name
        self._glyph_set = None
        self._chunks: dict[tuple[int, ...], _Chunk] = {}
        self._lock = threading.Lock()
        self.reload()

    def check_embeddable(self, family: str) -> None:
        if self.fs_type & FS_TYPE_RESTRICTED:
            raise FontEmbeddingForbidden(
                f"字体 {family}（{self.path.name}）的许可标志禁止嵌入文档（OS/2 fsType=0x{self.fs_type:04X}）",
                details={"font": self.path.name, "fs_type": self.fs_type},
            )
        if self.fs_type & FS_TYPE_BITMAP_ONLY:
            raise FontEmbeddingForbidden(
                f"字体 {family}（{self.path.name}）只允许嵌入点阵字形（OS/2 fsType=0x{self.fs_type:04X}）",
                details={"font": self.path.name, "fs_type": self.fs_type},
            )

    def gids(self, chars: Iterable[str]) -> tuple[int, ...]:
        """Sorted glyph ids of the characters the face maps (others are skipped)."""
        return tuple(sorted({self.cmap[ord(c)] for c in chars if ord(c) in self.cmap}))

    def base_gids(self, mode: EmbedMode) -> tuple[int, ...]:
        """The stable part of a subset: .notdef plus the mode's fixed character set."""
        if mode == "full":
            return tuple(range(len(self.order)))
        if mode == "editable":
            return tuple(sorted({0, *self.gids(editable_characters())}))
        return (0,)

    def has_base(self, mode: EmbedMode) -> bool:
        return all(g in self.glyphs for g in self.base_gids(mode))

    def ensure(self, gids: Iterable[int]) -> None:
        """Convert the glyphs in ``gids`` that are not stored yet; persist if any were."""
        with self._lock:
            missing = [g for g in gids if g not in self.glyphs]
            if not missing:
                return
            if self._glyph_set is None:
                self._glyph_set = self.font.getGlyphSet()
            for g in missing:
                self.glyphs[g] = _convert(self._glyph_set, self.order[g])
            self._save(missing)

    def base_chunk(self, base: tuple[int, ...]) -> _Chunk:
        """The glyph data of ``base`` with its checksum and raw-deflate stream.

        Deflating a 3 MB base costs ~0.2 s, so the stream is also kept on disk next to the
        glyphs, headed by the CRC-32 and length of the data it must inflate to.
        """
        chunk = self._chunks.get(base)
        if chunk is not None:
            return chunk
        data = b"".join(self.glyphs[g].data for g in base)
        digest = hashlib.sha256(struct.pack(f">{len(base)}H", *base)).hexdigest()[:16]
        path = self.cache_file.with_name(
            f"{self.cache_file.stem}-{digest}-z{DEFLATE_LEVEL}.deflate"
        )
        header = struct.pack(">II", zlib.crc32(data), len(data))
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            stored = b""
        if stored[:8] == header:
            deflated = stored[8:]
        else:
            deflated = _deflate(data, final=False)
            if len(data) >= DISK_CHUNK_MIN_BYTES:
                _write_atomically(path, header + deflated)
        chunk = self._chunks[base] = _Chunk(data, deflated, _checksum(data))
        return chunk

    def reload(self) -> None:
        """Read the disk cache (glyphs another process converted)."""
        try:
            blob = self.cache_file.read_bytes()
        except FileNotFoundError:
            return
        if not blob.startswith(self.MAGIC):
            return
        pos, end = len(self.MAGIC), len(blob)
        with self._lock:
            while pos + 10 <= end:
                gid, points, contours, size = struct.unpack_from(">HHhI", blob, pos)
                pos += 10
                if pos + size > end:
                    break  # a record cut short (a writer died mid-append): ignore it
                self.glyphs.setdefault(gid, _Glyph(blob[pos : pos + size], points, contours))
                pos += size

    def _save(self, new: list[int]) -> None:
        """Append the ``new`` glyphs' records to the cache file in one write (other processes
        may append too; a reader keeps the first record of a glyph), or write the whole store
        when there is no file yet."""
        records = b"".join(self._record(g) for g in sorted(new))
        if self.cache_file.exists():
            with self.cache_file.open("ab") as fh:
                fh.write(records)
            return
        everything = b"".join(self._record(g) for g in sorted(self.glyphs))
        _write_atomically(self.cache_file, self.MAGIC + everything)

    def _record(self, gid: int) -> bytes:
        g = self.glyphs[gid]
        return struct.pack(">HHhI", gid, g.points, g.contours, len(g.data)) + g.data


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` so that another process sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _convert(glyph_set: object, name: str) -> _Glyph:
    """One CFF glyph as a compiled TrueType glyph (cubic curves to quadratic, direction reversed)."""
    pen = TTGlyphPen(None)
    glyph_set[name].draw(Cu2QuPen(pen, MAX_ERROR_UNITS, reverse_direction=True))  # type: ignore[index]
    glyph = pen.glyph()
    data = glyph.compile(None)
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    contours = glyph.numberOfContours
    return _Glyph(data, len(glyph.coordinates) if contours > 0 else 0, contours)


# --- assembling a TrueType font -------------------------------------------------------------


@lru_cache(maxsize=64)
def _embed_cached(path: str, family: str, mode: EmbedMode, used: frozenset[str]) -> EmbeddedFont:
    store = _store(path)
    store.check_embeddable(family)
    if store.fs_type & FS_TYPE_NO_SUBSETTING:
        mode = "full"
    base = store.base_gids(mode)
    base_set = set(base)
    extras = tuple(g for g in store.gids(used) if g not in base_set)
    store.ensure(base + extras)
    seed = f"{store.sha256}|{family}|{CONVERTER_VERSION}|".encode() + struct.pack(
        f">{len(base) + len(extras)}H", *base, *extras
    )
    key = font_key_for(seed)
    directory, chunk, rest = _assemble(store, base, extras, family, keep_layout=(mode == "full"))
    directory = obfuscate(directory, key)
    deflated = b"".join(
        (_deflate(directory, final=False), chunk.deflated, _deflate(rest, final=True))
    )
    crc = zlib.crc32(rest, zlib.crc32(chunk.data, zlib.crc32(directory)))
    return EmbeddedFont(
        family=family,
        font_key=key,
        chunks=(directory, chunk.data, rest),
        deflated=deflated,
        crc32=crc,
        size=len(directory) + len(chunk.data) + len(rest),
        subsetted=mode != "full",
        glyph_count=len(base) + len(extras),
    )


def _assemble(
    store: _FaceStore,
    base: tuple[int, ...],
    extras: tuple[int, ...],
    family: str,
    keep_layout: bool,
) -> tuple[bytes, _Chunk, bytes]:
    """A TrueType font of glyphs ``base + extras`` (renumbered in that order), in three pieces.

    Returns the header with the table directory, the base glyph chunk (first in ``glyf``) and
    everything after it. ``glyf`` data comes first in the file so the base chunk sits at a fixed
    place; table records stay sorted by tag as the spec asks. GPOS (only optional ``halt``/
    ``vhal``-style features in Fandol) is kept only when glyph ids are unchanged (``full``).
    """
    order = base + extras
    chunk = store.base_chunk(base)
    glyphs = [store.glyphs[g] for g in order]
    extra_data = b"".join(g.data for g in glyphs[len(base) :])
    new_id = {old: new for new, old in enumerate(order)}
    cmap = {cp: new_id[g] for cp, g in store.cmap.items() if g and g in new_id}

    offsets = array("I", [0])
    for g in glyphs:
        offsets.append(offsets[-1] + len(g.data))
    if sys.byteorder == "little":
        offsets.byteswap()

    n = len(order)
    metrics: list[int] = []
    for o, g in zip(order, glyphs):
        x_min = g.x_min
        metrics += (store.hmetrics[o][0], store.hmetrics[o][1] if x_min is None else x_min)
    hmtx = struct.pack(">" + "Hh" * n, *metrics)
    tables: dict[str, bytes] = {
        "head": _patched_head(store.raw["head"]),
        "hhea": _with_u16(store.raw["hhea"], 34, n),
        "maxp": struct.pack(
            ">IHHHHHHHHHHHHHH",
            0x00010000,
            n,
            max((g.points for g in glyphs), default=0),
            max((g.contours for g in glyphs), default=0),
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
        "name": _name_table(store, family),
    }
    if store.vmetrics is not None:
        tables["vhea"] = _with_u16(store.raw["vhea"], 34, n)
        vmetrics = store.vmetrics
        tables["vmtx"] = struct.pack(">" + "Hh" * n, *(v for o in order for v in vmetrics[o]))
    if "BASE" in store.raw:
        tables["BASE"] = store.raw["BASE"]
    if keep_layout and "GPOS" in store.raw:
        tables["GPOS"] = store.raw["GPOS"]

    tags = sorted([*tables, "glyf"])
    header_size = 12 + 16 * len(tags)
    lengths = {t: len(d) for t, d in tables.items()} | {"glyf": len(chunk.data) + len(extra_data)}
    sums = {t: _checksum(d) for t, d in tables.items()}
    sums["glyf"] = (chunk.checksum + _checksum(extra_data)) & 0xFFFFFFFF
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

    total = _checksum(directory()) + sum(sums.values())
    tables["head"] = _with_u32(tables["head"], 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
    rest = extra_data + b"".join(_pad(tables[t]) for t in placed[1:])
    return directory(), chunk, rest


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


def _name_table(store: _FaceStore, family: str) -> bytes:
    """The source's name records with the family renamed to ``family`` (a regular face).

    Fandol's legacy family names differ from the catalogue's (``FandolFang R``; the bold Song is
    the ``Bold`` style of ``FandolSong``); Word matches on name ID 1, so the embedded font must
    carry exactly the name the styles use.
    """
    source = store.font["name"]
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
    for record in source.names:
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
    return bytes(table.compile(store.font))


# --- small binary helpers -------------------------------------------------------------------


def _long_metrics(data: bytes, long_count: int, glyph_count: int) -> list[tuple[int, int]]:
    """``(advance, side bearing)`` per glyph from an ``hmtx``/``vmtx`` table."""
    metrics = [struct.unpack_from(">Hh", data, 4 * i) for i in range(long_count)]
    last = metrics[-1][0]
    base = 4 * long_count
    metrics += [
        (last, struct.unpack_from(">h", data, base + 2 * i)[0])
        for i in range(glyph_count - long_count)
    ]
    return metrics


def _u16(data: bytes, offset: int) -> int:
    return int(struct.unpack_from(">H", data, offset)[0])


def _with_u16(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">H", value) + data[offset + 2 :]


def _with_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (_padded(len(data)) - len(data))


def _checksum(data: bytes) -> int:
    """The OpenType table checksum: the sum of big-endian uint32 words, zero-padded."""
    words = array("I", _pad(data))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _deflate(data: bytes, final: bool) -> bytes:
    """Raw deflate (no zlib header) of ``data``; ``final=False`` ends with a sync flush so
    another stream can follow it."""
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    )
