"""Outputs stored in parts: the members a DOCX shares with other documents are stored once.

A DOCX is a ZIP whose largest members are its embedded fonts, the same bytes in every document
of a house style (``docs/fonts.md``). :func:`split` cuts a ZIP's bytes into **segments**: the
compressed data of every member of at least :data:`PART_MIN_BYTES` becomes a **part**, an
artifact of its own addressed by its SHA-256 (so the second document naming it stores nothing
new), and everything else (local headers, the small members, the central directory) goes in
order into one **residue** artifact. A :class:`Layout` lists the segments; the output is their
concatenation, so it is assembled on download by copying the stored deflate streams as they are,
never compressing again, and is byte-identical to what the writer produced (its manifest's
SHA-256 is checked as it streams).

The cut is made on the ZIP's own structure (central directory, then each local header for the
length of its name and extra field), so it works for any writer's ZIP, also for outputs stored
before layouts existed. Bytes that are not a ZIP (a PDF) are stored whole, as before: a PDF's
embedded fonts are subsets per document and share nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

PART_MIN_BYTES = 16 * 1024
"""A member's compressed data at least this long is a part of its own; smaller ones stay in the
residue (a part costs a row or a file, worth it only for what documents share)."""

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50


@dataclass(frozen=True, slots=True)
class Segment:
    """``size`` bytes: from the residue at ``offset`` (``part`` is ``None``) or the whole part
    whose SHA-256 is ``part``."""

    size: int
    offset: int = 0
    part: str | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """How the output ``sha256`` of ``size`` bytes is made of its residue and parts."""

    sha256: str
    size: int
    residue_sha256: str
    segments: tuple[Segment, ...]

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(s.part for s in self.segments if s.part is not None)

    def segments_json(self) -> str:
        """The segments as stored: ``[["r", offset, size] | ["p", sha256, size], …]``."""
        return json.dumps(
            [["p", s.part, s.size] if s.part else ["r", s.offset, s.size] for s in self.segments],
            separators=(",", ":"),
        )

    @classmethod
    def from_row(cls, sha256: str, size: int, residue_sha256: str, segments: str) -> Layout:
        return cls(
            sha256=sha256,
            size=size,
            residue_sha256=residue_sha256,
            segments=tuple(
                Segment(size=n, part=str(where))
                if kind == "p"
                else Segment(size=n, offset=int(where))
                for kind, where, n in json.loads(segments)
            ),
        )


@dataclass(frozen=True, slots=True)
class Split:
    """:func:`split`'s answer: the layout, the residue's bytes and every part's bytes.

    A worker hands an output over in this form (``Rendered.outputs``), cut where it rendered, so
    the parts can cross to the server as references (``service.workers.protocol.Shared``)."""

    layout: Layout
    residue: bytes
    parts: Mapping[str, bytes]

    def assemble(self) -> bytes:
        """The output's bytes (for tests, and for callers that want them whole)."""
        return b"".join(
            self.parts[s.part] if s.part else self.residue[s.offset : s.offset + s.size]
            for s in self.layout.segments
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split(data: bytes, min_part: int = PART_MIN_BYTES) -> Split | None:
    """``data`` cut into residue and parts (see the module docstring); ``None`` when it is not
    a ZIP or has no member large enough to be a part (stored whole then)."""
    spans = list(_large_members(data, min_part))
    if not spans:
        return None
    residue = bytearray()
    segments: list[Segment] = []
    parts: dict[str, bytes] = {}
    position = 0
    for start, end in spans:
        if start > position:
            segments.append(Segment(size=start - position, offset=len(residue)))
            residue += data[position:start]
        part = data[start:end]
        sha = sha256_hex(part)
        parts[sha] = part
        segments.append(Segment(size=len(part), part=sha))
        position = end
    if position < len(data):
        segments.append(Segment(size=len(data) - position, offset=len(residue)))
        residue += data[position:]
    rest = bytes(residue)
    layout = Layout(sha256_hex(data), len(data), sha256_hex(rest), tuple(segments))
    return Split(layout, rest, parts)


def _large_members(data: bytes, min_part: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the compressed data of each member of at least ``min_part`` bytes,
    in file order, non-overlapping; nothing for bytes that are not a ZIP."""
    if not data.startswith(b"PK\x03\x04"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
    except (zipfile.BadZipFile, ValueError):
        return
    previous_end = 0
    for info in infos:
        if info.compress_size < min_part:
            continue
        head = info.header_offset
        if head < previous_end or head + _LOCAL_HEADER.size > len(data):
            return
        fields = _LOCAL_HEADER.unpack_from(data, head)
        if fields[0] != _LOCAL_SIGNATURE:
            return
        start = head + _LOCAL_HEADER.size + fields[9] + fields[10]
        end = start + info.compress_size
        if end > len(data):
            return
        yield start, end
        previous_end = end
