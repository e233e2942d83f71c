"""Fonts embedded in a DOCX: a CFF face in, an obfuscated TrueType subset (``.odttf``) out.

Word embeds only TrueType-outline fonts, and our faces (Fandol) are CFF. Each glyph is turned
into quadratic outlines with fontTools' cu2qu (the ``otf2ttf`` recipe) and written into a small
TrueType font of our own, named after the catalogue family so that Word (which matches legacy
name ID 1) and LibreOffice (fontconfig family) both find it under the name the styles use.

Why the pipeline looks like this (measured on a 2-core machine, FandolFang, 10,365 glyphs):

- Converting one glyph costs ~1.2 ms, so the GB2312 level-1 set (~3,850 glyphs) costs ~5 s per
  face and a whole face ~13 s; fontTools' subsetter adds 3-6 s per subset. A service cannot pay
  that per document. So converted glyphs are kept **per glyph** on disk
  (``fonts/build/docx/<face>-<source sha>-g<version>.glyphs``), keyed by the hash of the source
  font; a character a document needs and the store lacks is converted then (milliseconds). The
  subset itself is assembled by :func:`_assemble` in a few ms, so it is cached only in memory,
  keyed by its glyphs.
- Memory: every render worker holds a store per face. Glyph bytes, source files and parsed
  tables held as Python objects cost ~110 MB for five faces, so the store keeps only an index
  (a few arrays) and reads glyph data from the cache file when a subset needs it: the base
  glyphs once per process (for their checksum, CRC and deflate stream), a document's few extra
  glyphs per subset. ~10 MB stay, most of it the five base deflate streams.
- Deflating ~8 MB of editable font parts costs 170-270 ms per document and saves ~25 %. The glyph
  data of the stable base set (GB2312 level 1 etc.) is laid out first in ``glyf``, right after
  the table directory, and its raw-deflate stream (ended with a sync flush) is cached; a
  document's font part is then ``deflate(directory) + cached deflate(base glyphs) +
  deflate(extra glyphs and small tables)``: a valid deflate stream that only compresses what
  changes (see :attr:`EmbeddedFont.deflated_parts`). Its CRC-32 is combined the same way
  (:func:`_crc32_combine`), so a render never touches the base glyph data.

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
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate
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
    """One obfuscated font part, ready for the package writer.

    It holds only what is particular to one subset (the table directory and what follows the
    base glyphs, ~100 KB): the base glyphs' data stays in the disk cache and their deflate
    stream is shared with every other subset of the face.
    """

    family: str
    """The name in ``w:font/@w:name`` and every ``w:rFonts`` that uses the face."""
    font_key: str
    """``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}``, upper-case (LibreOffice reads only A-F)."""
    directory: bytes
    """The obfuscated start of the font: offset table and table directory."""
    base: _Chunk
    """The base glyphs, first in ``glyf``, right after :attr:`directory`."""
    rest: bytes
    """The extra glyphs and every other table."""
    deflated_parts: tuple[bytes, ...]
    """A raw deflate stream of :attr:`odttf` in pieces, for a ZIP entry of method 8."""
    crc32: int
    size: int
    subsetted: bool
    glyph_count: int

    @property
    def odttf(self) -> bytes:
        """The whole obfuscated font (reads the base glyphs from the disk cache)."""
        return self.directory + self.base.data() + self.rest

    @property
    def deflated(self) -> bytes:
        return b"".join(self.deflated_parts)


def embed_face(face: FontFace, used: Iterable[str], mode: EmbedMode) -> EmbeddedFont:
    """The embedded form of ``face`` for a document whose text in this face is ``used``.

    ``mode`` is the house style's ``docx.embed_fonts`` (not ``none``). Raises
    :class:`FontEmbeddingForbidden` when the face's ``fsType`` forbids embedding.
    """
    if mode == "none":
        raise ValueError("embed_face needs an embedding mode other than 'none'")
    store = _store(str(face.path))
    store.check_embeddable(face.family)
    if store.fs_type & FS_TYPE_NO_SUBSETTING:
        mode = "full"
    return _embed_cached(str(face.path), face.family, mode, store.extra_gids(used, mode))


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
    _store(path).base_chunk(mode)


# --- glyph store ----------------------------------------------------------------------------


class _Glyph(NamedTuple):
    """A converted glyph, between :func:`_convert` and its record in the disk cache."""

    data: bytes
    """Compiled TrueType glyph, padded to 4 bytes; empty for a glyph without outline."""
    points: int
    contours: int


@dataclass(frozen=True, slots=True, eq=False)
class _Chunk:
    """The glyphs of a stable base set: their figures and cached raw-deflate stream.

    The glyph data itself (3–4 MB a face) is not kept: a subset needs only its length, checksum
    and CRC-32, and :meth:`data` reads it back from the disk cache when asked (tests).
    """

    store: _FaceStore
    gids: tuple[int, ...]
    members: bytearray
    """``members[gid]`` is 1 for a glyph of the base set."""
    deflated: bytes
    size: int
    checksum: int
    crc32: int
    crc_shift: int
    """``x^(8·size)`` modulo the CRC-32 polynomial: the CRC of data followed by this chunk is
    :func:`_crc32_combine` of the two CRCs (see :func:`_crc32_shift`)."""
    max_points: int
    max_contours: int

    def data(self) -> bytes:
        return self.store.read(self.gids)


_STORES: dict[str, _FaceStore] = {}
_STORES_LOCK = threading.Lock()


def _store(path: str) -> _FaceStore:
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = _FaceStore(Path(path))
        return store


_MISSING = 0xFFFFFFFF
"""Offset of a glyph the disk cache does not hold."""


class _FaceStore:
    """One source face: the tables a subset needs, read once, and an index of its converted
    glyphs in the disk cache.

    Glyph data is read from the cache file (``os.pread`` on a descriptor kept open) when a subset
    needs it, not held in memory: held as ``bytes``, five faces' glyphs, source files and parsed
    tables cost a render worker ~110 MB. What stays is ~0.3 MB a face: per-glyph arrays (offset,
    length, points, contours, x-min, metrics), the character map as two sorted arrays, and a
    deflate stream per base set. Records are only ever appended to the cache file, so an offset
    stays valid for the life of the process.
    """

    MAGIC = b"PILUGLYF"
    RECORD = struct.Struct(">HHhI")
    """A cache record's head: glyph id, points, contours, data length; then the data."""

    def __init__(self, path: Path, cache_dir: Path | None = None) -> None:
        self.path = path
        self._read_source(path.read_bytes())
        n = self.glyph_count
        self.offsets = array("I", [_MISSING]) * n
        self.sizes = array("I", [0]) * n
        self.points = array("H", [0]) * n
        self.contours = array("h", [0]) * n
        self.x_mins = array("h", [0]) * n
        name = f"{path.stem}-{self.sha256[:16]}-g{CONVERTER_VERSION}.glyphs"
        self.cache_file = (cache_dir or CACHE_DIR) / name
        self._fd: int | None = None
        self._scanned = 0
        self._chunks: dict[EmbedMode, _Chunk] = {}
        self._name_tables: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self.reload()

    def _read_source(self, source: bytes) -> None:
        """What a subset needs from the source face. The file and fontTools' objects are let
        go afterwards (the file is 2–6 MB; the CFF table is parsed only to convert glyphs)."""
        self.sha256 = hashlib.sha256(source).hexdigest()
        font = TTFont(io.BytesIO(source), lazy=True)
        reader = font.reader
        self.fs_type: int = struct.unpack_from(">H", reader["OS/2"], 8)[0]
        self.glyph_count = n = _u16(reader["maxp"], 4)
        self.raw: dict[str, bytes] = {
            t: reader[t]
            for t in ("head", "hhea", "OS/2", "post", "vhea", "BASE", "GPOS")
            if t in reader
        }
        self.hmetrics = _long_metrics(reader["hmtx"], _u16(self.raw["hhea"], 34), n)
        self.vmetrics = (
            _long_metrics(reader["vmtx"], _u16(self.raw["vhea"], 34), n)
            if "vhea" in self.raw and "vmtx" in reader
            else None
        )
        self.codepoints, self.cmap_gids = _read_cmap(font, n)
        self.names = font["name"].names

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

    # --- characters

    def gid(self, char: str) -> int | None:
        cp = ord(char)
        i = bisect_left(self.codepoints, cp)
        if i < len(self.codepoints) and self.codepoints[i] == cp:
            return self.cmap_gids[i]
        return None

    def gids(self, chars: Iterable[str]) -> tuple[int, ...]:
        """Sorted glyph ids of the characters the face maps (others are skipped)."""
        return tuple(sorted({g for c in chars if (g := self.gid(c)) is not None}))

    def base_gids(self, mode: EmbedMode) -> tuple[int, ...]:
        """The stable part of a subset: .notdef plus the mode's fixed character set."""
        if mode == "full":
            return tuple(range(self.glyph_count))
        if mode == "editable":
            return tuple(sorted({0, *self.gids(editable_characters())}))
        return (0,)

    def extra_gids(self, used: Iterable[str], mode: EmbedMode) -> tuple[int, ...]:
        """Sorted glyph ids of ``used`` outside the mode's base set.

        In "editable" mode only characters outside :func:`editable_characters` are looked up:
        the others' glyphs are in the base by definition.
        """
        if mode == "full":
            return ()
        chars = set(used)
        if mode == "editable":
            chars -= editable_characters()
        members = self.base_chunk(mode).members
        return tuple(g for g in self.gids(chars) if not members[g])

    # --- glyphs

    def has(self, gid: int) -> bool:
        return self.offsets[gid] != _MISSING

    def has_base(self, mode: EmbedMode) -> bool:
        return all(self.has(g) for g in self.base_gids(mode))

    def stored_gids(self) -> set[int]:
        """Every glyph id the disk cache holds (for tests)."""
        return {g for g in range(self.glyph_count) if self.has(g)}

    def read(self, gids: Sequence[int]) -> bytes:
        """The stored data of ``gids``, in that order (all converted: see :meth:`ensure`)."""
        fd = self._fd
        if fd is None:
            if gids:
                raise KeyError(f"glyphs not stored: {list(gids)[:5]}")
            return b""
        if len(gids) > 64:  # many glyphs: one read of the file beats a call per glyph
            blob = memoryview(os.pread(fd, self._scanned, 0))
            return b"".join(blob[self.offsets[g] : self.offsets[g] + self.sizes[g]] for g in gids)
        return b"".join(os.pread(fd, self.sizes[g], self.offsets[g]) for g in gids)

    def ensure(self, gids: Iterable[int]) -> None:
        """Convert the glyphs in ``gids`` that are not stored yet and append them to the cache.

        First looks again at the cache file: another process may have converted them. The CFF
        outlines (~10 MB parsed) are read only here and let go afterwards.
        """
        with self._lock:
            missing = [g for g in gids if not self.has(g)]
            if missing:
                self.reload()
                missing = [g for g in missing if not self.has(g)]
            if not missing:
                return
            font = TTFont(self.path, lazy=True)
            order, glyph_set = font.getGlyphOrder(), font.getGlyphSet()
            converted = {g: _convert(glyph_set, order[g]) for g in sorted(set(missing))}
            del font, glyph_set
            self._append(b"".join(self._record(g, glyph) for g, glyph in converted.items()))

    def base_chunk(self, mode: EmbedMode) -> _Chunk:
        """The base glyphs of ``mode`` (converted first when missing), with their figures and
        raw-deflate stream.

        Deflating a 3 MB base costs ~0.2 s, so the stream is also kept on disk next to the
        glyphs, headed by the CRC-32 and length of the data it must inflate to.
        """
        chunk = self._chunks.get(mode)
        if chunk is not None:
            return chunk
        with self._lock:
            base = self.base_gids(mode)
            self.ensure(base)
            data = self.read(base)
            digest = hashlib.sha256(struct.pack(f">{len(base)}H", *base)).hexdigest()[:16]
            path = self.cache_file.with_name(
                f"{self.cache_file.stem}-{digest}-z{DEFLATE_LEVEL}.deflate"
            )
            crc = zlib.crc32(data)
            deflated = _read_deflated(path, struct.pack(">II", crc, len(data)))
            if deflated is None:
                deflated = _deflate(data, final=False)
                if len(data) >= DISK_CHUNK_MIN_BYTES:
                    _write_atomically(path, struct.pack(">II", crc, len(data)) + deflated)
            members = bytearray(self.glyph_count)
            for g in base:
                members[g] = 1
            chunk = self._chunks[mode] = _Chunk(
                store=self,
                gids=base,
                members=members,
                deflated=deflated,
                size=len(data),
                checksum=_checksum(data),
                crc32=crc,
                crc_shift=_crc32_shift(len(data)),
                max_points=max(self.points[g] for g in base),
                max_contours=max(self.contours[g] for g in base),
            )
            return chunk

    def name_table(self, family: str) -> bytes:
        table = self._name_tables.get(family)
        if table is None:
            table = self._name_tables[family] = _name_table(self, family)
        return table

    # --- the disk cache

    def reload(self) -> None:
        """Index the records the cache file gained since the last look (other processes')."""
        with self._lock:
            if self._fd is None:
                try:
                    self._fd = os.open(self.cache_file, os.O_RDWR | os.O_APPEND)
                except FileNotFoundError:
                    return
            self._scan()

    def _scan(self) -> None:
        """Index complete records from where the last scan stopped. A reader keeps the first
        record of a glyph; a record cut short (a writer died mid-append) ends the scan."""
        assert self._fd is not None
        start = self._scanned
        blob = os.pread(self._fd, os.fstat(self._fd).st_size - start, start)
        pos = 0
        if start == 0:
            if not blob.startswith(self.MAGIC):
                self._scanned = len(blob)  # not ours: skip it, index only what we append
                return
            pos = len(self.MAGIC)
        head, end = self.RECORD.size, len(blob)
        while pos + head <= end:
            gid, points, contours, size = self.RECORD.unpack_from(blob, pos)
            if pos + head + size > end:
                break
            if gid < self.glyph_count and not self.has(gid):
                self.offsets[gid], self.sizes[gid] = start + pos + head, size
                self.points[gid], self.contours[gid] = points, contours
                self.x_mins[gid] = struct.unpack_from(">h", blob, pos + head + 2)[0] if size else 0
            pos += head + size
        self._scanned = start + pos

    def _append(self, records: bytes) -> None:
        """Append ``records`` in one write (other processes may append too), creating the file
        first when there is none, then index them."""
        if self._fd is None:
            _create_exclusively(self.cache_file, self.MAGIC)
            self._fd = os.open(self.cache_file, os.O_RDWR | os.O_APPEND)
        view = memoryview(records)
        while view:
            view = view[os.write(self._fd, view) :]
        self._scan()

    def _record(self, gid: int, glyph: _Glyph) -> bytes:
        return self.RECORD.pack(gid, glyph.points, glyph.contours, len(glyph.data)) + glyph.data


def _read_cmap(font: TTFont, glyph_count: int) -> tuple[array[int], array[int]]:
    """The face's best character map as two arrays sorted by code point (code points, glyph
    ids): ~6 bytes a character, where a dict of ints costs ~100.

    Glyph names are set to the ids first, so that fontTools does not parse the CFF table
    (megabytes of charstrings) for the glyph order.
    """
    names = [f"g{i}" for i in range(glyph_count)]
    font.setGlyphOrder(names)
    gid = {name: i for i, name in enumerate(names)}
    best = {cp: gid[name] for cp, name in font.getBestCmap().items() if name in gid}
    codepoints = sorted(best)
    return array("I", codepoints), array("H", (best[cp] for cp in codepoints))


def _read_deflated(path: Path, header: bytes) -> bytes | None:
    """The deflate stream cached in ``path`` if its head is ``header`` (CRC-32 and length of
    the data it inflates to), else ``None``."""
    try:
        with path.open("rb") as fh:
            if fh.read(len(header)) != header:
                return None
            return fh.read()
    except FileNotFoundError:
        return None


def _create_exclusively(path: Path, content: bytes) -> None:
    """Create ``path`` holding ``content`` unless it exists; never replaces a file another
    process made (and may already be appending to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


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


@lru_cache(maxsize=32)
def _embed_cached(path: str, family: str, mode: EmbedMode, extras: tuple[int, ...]) -> EmbeddedFont:
    """The subset of base and ``extras``: keyed by glyphs, not characters, so documents whose
    text differs only inside the base set (most of them) share one entry."""
    store = _store(path)
    store.ensure(extras)
    chunk = store.base_chunk(mode)
    base = chunk.gids
    seed = f"{store.sha256}|{family}|{CONVERTER_VERSION}|".encode() + struct.pack(
        f">{len(base) + len(extras)}H", *base, *extras
    )
    key = font_key_for(seed)
    directory, rest = _assemble(store, chunk, extras, family, keep_layout=(mode == "full"))
    directory = obfuscate(directory, key)
    crc = _crc32_combine(zlib.crc32(directory), chunk.crc32, chunk.crc_shift)
    return EmbeddedFont(
        family=family,
        font_key=key,
        directory=directory,
        base=chunk,
        rest=rest,
        deflated_parts=(
            _deflate(directory, final=False),
            chunk.deflated,
            _deflate(rest, final=True),
        ),
        crc32=zlib.crc32(rest, crc),
        size=len(directory) + chunk.size + len(rest),
        subsetted=mode != "full",
        glyph_count=len(base) + len(extras),
    )


def _assemble(
    store: _FaceStore,
    chunk: _Chunk,
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


def _name_table(store: _FaceStore, family: str) -> bytes:
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


def _long_metrics(data: bytes, long_count: int, glyph_count: int) -> tuple[array[int], array[int]]:
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


_CRC32_POLY = 0xEDB88320
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
def _crc32_shift(length: int) -> int:
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


def _crc32_combine(crc1: int, crc2: int, shift: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``_crc32_shift(len(B))``.

    Python's :mod:`zlib` has no ``crc32_combine``; with it a font part's CRC costs two small
    CRCs and this, not a pass over the 3 MB of base glyphs per render.
    """
    return _crc32_multiply(shift, crc1) ^ crc2


def _deflate(data: bytes, final: bool) -> bytes:
    """Raw deflate (no zlib header) of ``data``; ``final=False`` ends with a sync flush so
    another stream can follow it."""
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    )
