"""The embedded font: a face and a document's characters in, one obfuscated font part out.

Deflating ~8 MB of editable font parts costs 170-270 ms per document and saves ~25 %. The glyph
data of the stable base set (GB2312 level 1 etc.) is laid out first in ``glyf``, right after the
table directory, and its raw-deflate stream (ended with a sync flush) is cached; a document's
font part is then ``deflate(directory) + cached deflate(base glyphs) + deflate(extra glyphs and
small tables)``: a valid deflate stream that only compresses what changes (see
:attr:`EmbeddedFont.deflated_parts`). Its CRC-32 is combined the same way
(:func:`~.zipmath.crc32_combine`), so a render never touches the base glyph data.

Obfuscation (ECMA-376 Part 1 §17.8.1): the first 32 bytes of the font are XORed with the 16 bytes
of the font key GUID taken in reverse order. Keys here are derived from the font's content, so
the same document gives the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context

from service.render.docx.fonts import glyphs
from service.render.docx.fonts.charsets import EmbedMode
from service.render.docx.fonts.glyphs import (
    CONVERTER_VERSION,
    FS_TYPE_NO_SUBSETTING,
    BaseChunk,
    face_store,
)
from service.render.docx.fonts.truetype import assemble
from service.render.docx.fonts.zipmath import crc32_combine, raw_deflate
from service.style.house_style import FontFace


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
    base: BaseChunk
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
    store = face_store(str(face.path))
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
    """Make the first render of ``mode`` in this process fast: glyphs converted and base chunks
    deflated. Where this process writes the disk cache (the install step), cold faces are
    converted into it on ``workers`` processes.

    For a worker's initializer and test sessions. A cold disk cache costs ~5 s of CPU per face
    in "editable" mode (~13 s in "full"); a warm one ~0.1 s per face.
    """
    if mode == "none":
        return
    unique = list({str(f.path): f for f in faces}.values())
    cold = [f for f in unique if not face_store(str(f.path)).has_base(mode)]
    if glyphs.WRITE_CACHE and len(cold) > 1 and workers > 1:
        with ProcessPoolExecutor(min(workers, len(cold)), mp_context=get_context("spawn")) as pool:
            list(pool.map(_warm_one, [(str(f.path), mode, True) for f in cold]))
        for f in cold:
            face_store(str(f.path)).reload()
    for f in unique:
        _warm_one((str(f.path), mode, glyphs.WRITE_CACHE))


def _warm_one(job: tuple[str, EmbedMode, bool]) -> None:
    path, mode, write = job
    glyphs.WRITE_CACHE = write
    face_store(path).base_chunk(mode)


def convert_characters(faces: Sequence[FontFace], chars: str, workers: int = 2) -> None:
    """Convert into the disk cache every glyph of ``chars`` in each of ``faces``, one face per
    process on ``workers`` processes (the install step: :data:`glyphs.WRITE_CACHE` is set)."""
    jobs = [(path, chars) for path in sorted({str(f.path) for f in faces})]
    with ProcessPoolExecutor(
        max(1, min(workers, len(jobs))), mp_context=get_context("spawn")
    ) as pool:
        list(pool.map(_convert_one, jobs))
    for path, _ in jobs:
        face_store(path).reload()


def _convert_one(job: tuple[str, str]) -> None:
    path, chars = job
    glyphs.WRITE_CACHE = True
    store = face_store(path)
    store.ensure(store.gids(chars))


@lru_cache(maxsize=32)
def _embed_cached(path: str, family: str, mode: EmbedMode, extras: tuple[int, ...]) -> EmbeddedFont:
    """The subset of base and ``extras``: keyed by glyphs, not characters, so documents whose
    text differs only inside the base set (most of them) share one entry."""
    store = face_store(path)
    store.ensure(extras)
    chunk = store.base_chunk(mode)
    base = chunk.gids
    seed = f"{store.sha256}|{family}|{CONVERTER_VERSION}|".encode() + struct.pack(
        f">{len(base) + len(extras)}H", *base, *extras
    )
    key = font_key_for(seed)
    directory, rest = assemble(store, chunk, extras, family, keep_layout=(mode == "full"))
    directory = obfuscate(directory, key)
    crc = crc32_combine(zlib.crc32(directory), chunk.crc32, chunk.crc_shift)
    return EmbeddedFont(
        family=family,
        font_key=key,
        directory=directory,
        base=chunk,
        rest=rest,
        deflated_parts=(
            raw_deflate(directory, final=False),
            chunk.deflated,
            raw_deflate(rest, final=True),
        ),
        crc32=zlib.crc32(rest, crc),
        size=len(directory) + chunk.size + len(rest),
        subsetted=mode != "full",
        glyph_count=len(base) + len(extras),
    )
