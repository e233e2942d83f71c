"""Outputs stored in parts: shared ZIP members stored once, outputs assembled byte for byte,
damage detected, documents stored whole before migration 3 still read the same."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import random
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from service import PROJECT_ROOT
from service.errors import StorageCorrupt
from service.jobs.render import render_item
from service.store import FileArtifacts, Rendered, Store, open_store
from service.store import migrations as migrations_module
from service.store.artifacts import CHUNK_BYTES
from service.store.layouts import PART_MIN_BYTES, Split, split
from service.store.models import Manifest, sha256_hex
from service.store.schema import artifacts, document_versions, documents, output_layouts
from tests.store.fakes import payload, rendered_for

EXAMPLES = PROJECT_ROOT / "examples"
FONT = random.Random(16).randbytes(PART_MIN_BYTES * 3)
"""A member every document shares, incompressible like a deflated font."""
BIG = random.Random(17).randbytes(CHUNK_BYTES * 2 + 1234)


def docx(text: str, font: bytes = FONT, overflow: bytes = b"") -> bytes:
    """A small ZIP shaped like a DOCX: XML deflated, the shared font stored as it is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"<w:document>{text}</w:document>" * 40)
        archive.writestr(zipfile.ZipInfo("word/fonts/font1.odttf"), font, zipfile.ZIP_STORED)
        if overflow:
            archive.writestr("word/fonts/font2.odttf", overflow, zipfile.ZIP_STORED)
        archive.writestr("word/fontTable.xml", "<w:fonts/>")
    return buffer.getvalue()


def rendered_with_docx(raw: bytes, data: bytes) -> Rendered:
    base = rendered_for(raw)
    return dataclasses.replace(base, outputs={**base.outputs, "docx": data})


def test_split_keeps_every_byte_and_cuts_out_large_members() -> None:
    overflow = random.Random(3).randbytes(PART_MIN_BYTES - 1)
    data = docx("一", overflow=overflow)
    pieces = split(data)
    assert pieces is not None
    assert list(pieces.parts) == [sha256_hex(FONT)]  # the small overflow member stays
    assembled = b"".join(
        pieces.parts[s.part] if s.part else pieces.residue[s.offset : s.offset + s.size]
        for s in pieces.layout.segments
    )
    assert assembled == data
    assert pieces.layout.sha256 == sha256_hex(data) and pieces.layout.size == len(data)
    assert len(pieces.residue) == len(data) - len(FONT)
    assert split(b"%PDF-1.7 not a zip") is None
    assert split(docx("一", font=b"small")) is None  # nothing large enough to share


async def test_shared_member_is_stored_once_and_downloads_identical(store: Store) -> None:
    outputs = {}
    for n in range(3):
        raw = payload(n=n)
        outputs[n] = docx(f"第{n}份")
        doc = (await store.documents.create(raw, rendered_with_docx(raw, outputs[n]))).document
        data, info = await store.documents.read_output(doc.id, "docx")
        assert data == outputs[n]
        assert info.sha256 == sha256_hex(outputs[n]) == doc.version.manifest.outputs["docx"].sha256
    async with store.db.read() as conn:
        layouts = (await conn.execute(select(func.count()).select_from(output_layouts))).scalar()
    assert layouts == 3
    if isinstance(store.artifacts, FileArtifacts):
        sizes = [p.stat().st_size for p in store.artifacts.root.rglob("*") if p.is_file()]
    else:
        async with store.db.read() as conn:
            sizes = list((await conn.execute(select(artifacts.c.size))).scalars())
    # per document: payload, PDF, residue; once: the font
    assert len(sizes) == 3 * 3 + 1
    assert sizes.count(len(FONT)) == 1
    assert sum(sizes) < len(FONT) + 3 * (len(outputs[0]) - len(FONT)) + 3 * 1000


async def test_streams_in_chunks_of_bounded_size(store: Store) -> None:
    raw = payload()
    data = docx("大", font=BIG)
    doc = (await store.documents.create(raw, rendered_with_docx(raw, data))).document
    chunks = [c async for c in store.documents.stream_output(doc.version.manifest.outputs["docx"])]
    assert b"".join(chunks) == data
    assert len(chunks) >= 3 and max(map(len, chunks)) <= CHUNK_BYTES


async def damage_font_part(store: Store) -> None:
    """The shared font part overwritten in place, in either store, with bytes of its length."""
    part = sha256_hex(FONT)
    if isinstance(store.artifacts, FileArtifacts):
        store.artifacts.path_of(part).write_bytes(b"X" + FONT[1:])
    else:
        async with store.db.write() as conn:
            await conn.execute(
                update(artifacts).where(artifacts.c.sha256 == part).values(data=b"X" + FONT[1:])
            )


async def test_damaged_part_is_reported(store: Store) -> None:
    raw = payload()
    data = docx("坏")
    doc = (await store.documents.create(raw, rendered_with_docx(raw, data))).document
    await damage_font_part(store)
    with pytest.raises(StorageCorrupt):
        await store.documents.read_output(doc.id, "docx")


async def test_output_reader_gives_the_stored_bytes_and_reads_a_shared_part_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export's reader: every output (DOCX in parts, PDF whole) byte for byte, the font the
    DOCX share read once for all of them; a damaged part is still reported."""
    docs = []
    for n in range(3):
        raw = payload(n=n)
        docs.append(await store.documents.create(raw, rendered_with_docx(raw, docx(f"第{n}份"))))
    expected = {}
    for d in docs:
        for fmt in ("pdf", "docx"):
            data, info = await store.documents.read_output(d.document.id, fmt)
            expected[info] = data
    infos = list(expected)
    reads: list[str] = []
    get = store.artifacts.get

    async def counted(sha256: str) -> bytes:
        reads.append(sha256)
        return await get(sha256)

    monkeypatch.setattr(store.artifacts, "get", counted)
    reader = await store.documents.output_reader(infos)
    for info in infos:
        assert b"".join(await reader.read(info)) == expected[info]
    assert reads.count(sha256_hex(FONT)) == 1
    assert len(reads) == 3 * 2 + 1  # per document its PDF and its residue; the font once
    await damage_font_part(store)
    with pytest.raises(StorageCorrupt):
        await (await store.documents.output_reader(infos)).read(infos[1])


async def test_document_stored_whole_before_layouts_reads_identical(
    fresh_database_url: str | None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at step 2 holding a DOCX as one artifact, as releases before step 3 wrote it;
    after migrating it downloads byte for byte (in chunks on PostgreSQL too)."""
    monkeypatch.setattr(migrations_module, "MIGRATIONS", migrations_module.MIGRATIONS[:2])
    raw = payload()
    data = docx("旧", font=BIG)
    rendered = rendered_with_docx(raw, data)
    manifest = Manifest.of(rendered, sha256_hex(raw))
    pdf = rendered.outputs["pdf"]
    assert isinstance(pdf, bytes)
    blobs = {sha256_hex(raw): raw, manifest.outputs["docx"].sha256: data}
    blobs[manifest.outputs["pdf"].sha256] = pdf
    async with await open_store(fresh_database_url, data_dir) as old:
        await old.artifacts.prepare(blobs)
        async with old.db.write() as conn:
            await old.artifacts.put(conn, blobs)
            await conn.execute(
                insert(documents).values(
                    id="doc_old", company_id=rendered.company_id, report_year=rendered.report_year,
                    kind=rendered.kind, period="", latest_version=1, created_at=0.0, updated_at=0.0,
                )
            )  # fmt: skip
            await conn.execute(
                insert(document_versions).values(
                    document_id="doc_old", version=1, created_at=0.0,
                    payload_sha256=manifest.payload_sha256,
                    manifest=json.dumps(manifest.as_dict(), ensure_ascii=False, sort_keys=True),
                )
            )  # fmt: skip
    monkeypatch.undo()
    async with await open_store(fresh_database_url, data_dir) as store:
        for fmt in ("pdf", "docx"):
            got, info = await store.documents.read_output("doc_old", fmt)
            assert got == blobs[manifest.outputs[fmt].sha256] and info == manifest.outputs[fmt]
        chunks = [c async for c in store.documents.stream_output(manifest.outputs["docx"])]
        assert len(chunks) >= 3 and max(map(len, chunks)) <= CHUNK_BYTES


@functools.cache
def _real(example: str) -> tuple[bytes, Rendered]:
    raw = (EXAMPLES / f"{example}.json").read_bytes()
    outcome = render_item(raw)
    assert outcome.rendered is not None, outcome.errors
    return raw, outcome.rendered


async def _stored_bytes(store: Store) -> int:
    if isinstance(store.artifacts, FileArtifacts):
        return sum(p.stat().st_size for p in store.artifacts.root.rglob("*") if p.is_file())
    async with store.db.read() as conn:
        return int((await conn.execute(select(func.sum(artifacts.c.size)))).scalar() or 0)


@pytest.mark.slow
async def test_reference_document_adds_at_most_500_kb(store: Store) -> None:
    """Rendered for real: once a document of the house style is stored, the reference document
    adds its payload, PDF and DOCX residue, not its fonts; and downloads as it was rendered."""
    other_raw, other = _real("anhe-life-complaints-2024")
    await store.documents.create(other_raw, other)
    before = await _stored_bytes(store)
    raw, rendered = _real("xiaokang-life-2023")
    doc = (await store.documents.create(raw, rendered)).document
    added = await _stored_bytes(store) - before
    assert added <= 500_000, added
    docx_bytes, info = await store.documents.read_output(doc.id, "docx")
    parted = rendered.outputs["docx"]
    assert isinstance(parted, Split)
    assert docx_bytes == parted.assemble() and sha256_hex(docx_bytes) == info.sha256
    assert info.size > 4 * added  # the fonts were not stored again
