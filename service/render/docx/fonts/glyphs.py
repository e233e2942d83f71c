"""The glyph store: each source face's glyphs converted to TrueType once, kept per glyph on disk.

Converting one CFF glyph to quadratic outlines costs ~1.2 ms (FandolFang, 2-core machine), so
the GB2312 level-1 set (~3,850 glyphs) costs ~5 s per face and a whole face ~13 s: a service
cannot pay that per document. Converted glyphs are kept **per glyph** in
``fonts/build/docx/<face>-<source sha>-g<version>.glyphs``, keyed by the hash of the source font;
a character a document needs and the store lacks is converted then (milliseconds).

Memory: every render worker holds a store per face. Glyph bytes, source files and parsed tables
held as Python objects cost ~110 MB for five faces, so the store keeps only an index (a few
arrays) and reads glyph data from the cache file when a subset needs it: the base glyphs once
per process (for their checksum, CRC and deflate stream), a document's few extra glyphs per
subset. ~10 MB stay, most of it the five base deflate streams.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
import threading
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from service import FONTS_DIR
from service.errors import RenderFailed
from service.render.docx.fonts.charsets import EmbedMode, fixed_characters
from service.render.docx.fonts.truetype import long_metrics, name_table_for, table_checksum, u16
from service.render.docx.fonts.zipmath import DEFLATE_LEVEL, crc32_shift, raw_deflate

CACHE_DIR = FONTS_DIR / "build" / "docx"
"""Where converted glyphs are kept between processes (``fonts/build`` is git-ignored)."""

WRITE_CACHE = False
"""Whether this process adds to the disk cache. Only the install step does
(``python -m service.render.docx``, see :func:`build_cache`); at run time the cache is opened
read-only, so a read-only install or an unprivileged user works, and a glyph it lacks is
converted in memory for the life of the process."""

CONVERTER_VERSION = 1
"""Bump when the glyph conversion changes, so stale cache files are not read."""

MAX_ERROR_UNITS = 1.0
"""cu2qu tolerance in font units (1/1000 em for Fandol): below what any printer can show."""

DISK_CHUNK_MIN_BYTES = 256 * 1024
"""Base chunks smaller than this (the lone .notdef of "used" mode) are not worth a file."""

FS_TYPE_RESTRICTED = 0x0002
"""OS/2 fsType bit: restricted-licence embedding; the font must not be embedded."""
FS_TYPE_PREVIEW_PRINT = 0x0004
"""OS/2 fsType bit: embedding for preview and print only; a DOCX is edited, so refused too
(unless the editable bit 0x0008 is set as well: the least restrictive bit applies)."""
FS_TYPE_EDITABLE = 0x0008
FS_TYPE_NO_SUBSETTING = 0x0100
FS_TYPE_BITMAP_ONLY = 0x0200


class FontEmbeddingForbidden(RenderFailed):
    """A face's licence flags (OS/2 ``fsType``) forbid embedding it in a document."""

    code = "font_embedding_forbidden"


class ConvertedGlyph(NamedTuple):
    """A converted glyph, between :func:`_convert` and its record in the disk cache."""

    data: bytes
    """Compiled TrueType glyph, padded to 4 bytes; empty for a glyph without outline."""
    points: int
    contours: int


@dataclass(frozen=True, slots=True, eq=False)
class BaseChunk:
    """The glyphs of a stable base set: their figures and cached raw-deflate stream.

    The glyph data itself (3–4 MB a face) is not kept: a subset needs only its length, checksum
    and CRC-32, and :meth:`data` reads it back from the disk cache when asked (tests).
    """

    store: FaceStore
    gids: tuple[int, ...]
    members: bytearray
    """``members[gid]`` is 1 for a glyph of the base set."""
    deflated: bytes
    size: int
    checksum: int
    crc32: int
    crc_shift: int
    """``x^(8·size)`` modulo the CRC-32 polynomial: the CRC of data followed by this chunk is
    :func:`crc32_combine` of the two CRCs (see :func:`crc32_shift`)."""
    max_points: int
    max_contours: int

    def data(self) -> bytes:
        return self.store.read(self.gids)


_STORES: dict[str, FaceStore] = {}
_STORES_LOCK = threading.Lock()


def face_store(path: str) -> FaceStore:
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = FaceStore(Path(path))
        return store


_MISSING = 0xFFFFFFFF
"""Offset of a glyph the disk cache does not hold."""
_IN_MEMORY = 0xFFFFFFFE
"""Offset of a glyph converted in this process and held in memory (a read-only cache)."""


class FaceStore:
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
        """Read-only descriptor of the cache file."""
        self._memory: dict[int, bytes] = {}
        self._scanned = 0
        self._chunks: dict[EmbedMode, BaseChunk] = {}
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
        self.glyph_count = n = u16(reader["maxp"], 4)
        self.raw: dict[str, bytes] = {
            t: reader[t]
            for t in ("head", "hhea", "OS/2", "post", "vhea", "BASE", "GPOS")
            if t in reader
        }
        self.hmetrics = long_metrics(reader["hmtx"], u16(self.raw["hhea"], 34), n)
        self.vmetrics = (
            long_metrics(reader["vmtx"], u16(self.raw["vhea"], 34), n)
            if "vhea" in self.raw and "vmtx" in reader
            else None
        )
        self.codepoints, self.cmap_gids = _read_cmap(font, n)
        self.names = font["name"].names

    def check_embeddable(self, family: str) -> None:
        preview_only = self.fs_type & FS_TYPE_PREVIEW_PRINT and not self.fs_type & FS_TYPE_EDITABLE
        if preview_only:
            raise FontEmbeddingForbidden(
                f"字体 {family}（{self.path.name}）的许可标志只允许预览和打印，不允许嵌入可编辑文档"
                f"（OS/2 fsType=0x{self.fs_type:04X}）",
                details={"font": self.path.name, "fs_type": self.fs_type},
            )
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
        fixed = fixed_characters(mode)
        if fixed is None:
            return tuple(range(self.glyph_count))
        return tuple(sorted({0, *self.gids(fixed)}))

    def extra_gids(self, used: Iterable[str], mode: EmbedMode) -> tuple[int, ...]:
        """Sorted glyph ids of ``used`` outside the mode's base set.

        Only characters outside the mode's fixed set are looked up: the others' glyphs are in
        the base by definition.
        """
        fixed = fixed_characters(mode)
        if fixed is None:
            return ()
        members = self.base_chunk(mode).members
        return tuple(g for g in self.gids(set(used) - fixed) if not members[g])

    # --- glyphs

    def has(self, gid: int) -> bool:
        return self.offsets[gid] != _MISSING

    def has_base(self, mode: EmbedMode) -> bool:
        return all(self.has(g) for g in self.base_gids(mode))

    def stored_gids(self) -> set[int]:
        """Every glyph id the disk cache holds (for tests)."""
        return {g for g in range(self.glyph_count) if self.has(g) and g not in self._memory}

    def read(self, gids: Sequence[int]) -> bytes:
        """The stored data of ``gids``, in that order (all converted: see :meth:`ensure`)."""
        memory = self._memory
        if memory and any(g in memory for g in gids):
            return b"".join(memory[g] if g in memory else self.read((g,)) for g in gids)
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
        """Convert the glyphs in ``gids`` that are not stored yet and append them to the cache
        (at run time, when :data:`WRITE_CACHE` is off: keep them in memory).

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
            with TTFont(self.path, lazy=True) as font:
                order, glyph_set = font.getGlyphOrder(), font.getGlyphSet()
                quadratic = "glyf" in font
                converted = {
                    g: _convert(glyph_set, order[g], quadratic) for g in sorted(set(missing))
                }
                del glyph_set
            if WRITE_CACHE:
                self._append(b"".join(self._record(g, glyph) for g, glyph in converted.items()))
                return
            for g, glyph in converted.items():
                self._memory[g] = glyph.data
                self.offsets[g], self.sizes[g] = _IN_MEMORY, len(glyph.data)
                self.points[g], self.contours[g] = glyph.points, glyph.contours
                self.x_mins[g] = struct.unpack_from(">h", glyph.data, 2)[0] if glyph.data else 0

    def base_chunk(self, mode: EmbedMode) -> BaseChunk:
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
                deflated = raw_deflate(data, final=False)
                if WRITE_CACHE and len(data) >= DISK_CHUNK_MIN_BYTES:
                    _write_atomically(path, struct.pack(">II", crc, len(data)) + deflated)
            members = bytearray(self.glyph_count)
            for g in base:
                members[g] = 1
            chunk = self._chunks[mode] = BaseChunk(
                store=self,
                gids=base,
                members=members,
                deflated=deflated,
                size=len(data),
                checksum=table_checksum(data),
                crc32=crc,
                crc_shift=crc32_shift(len(data)),
                max_points=max(self.points[g] for g in base),
                max_contours=max(self.contours[g] for g in base),
            )
            return chunk

    def name_table(self, family: str) -> bytes:
        table = self._name_tables.get(family)
        if table is None:
            table = self._name_tables[family] = name_table_for(self, family)
        return table

    # --- the disk cache

    def reload(self) -> None:
        """Index the records the cache file gained since the last look (other processes')."""
        with self._lock:
            if self._fd is None:
                try:
                    self._fd = os.open(self.cache_file, os.O_RDONLY)
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
        _create_exclusively(self.cache_file, self.MAGIC)
        fd = os.open(self.cache_file, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(records)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.reload()

    def _record(self, gid: int, glyph: ConvertedGlyph) -> bytes:
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
    if path.exists():
        return
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


def _convert(glyph_set: Any, name: str, quadratic: bool = False) -> ConvertedGlyph:
    """One glyph as a compiled TrueType glyph, without components.

    A CFF glyph's cubic curves become quadratic, its direction reversed; a TrueType glyph
    (``quadratic``: LXGW WenKai) is copied with its components drawn in, since glyph ids change
    in a subset.
    """
    pen = TTGlyphPen(None)
    if quadratic:
        recording = DecomposingRecordingPen(glyph_set)
        glyph_set[name].draw(recording)
        recording.replay(pen)
    else:
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERROR_UNITS, reverse_direction=True))
    glyph = pen.glyph()
    data = glyph.compile(None)
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    contours = glyph.numberOfContours
    return ConvertedGlyph(data, len(glyph.coordinates) if contours > 0 else 0, contours)
