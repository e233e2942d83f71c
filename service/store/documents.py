"""The document store: documents, their versions, manifests, outputs and idempotency keys.

A document has a stable id and versions 1, 2, …; a regenerate adds a version and never changes
an earlier one. Each version records the payload (by hash), a :class:`~service.store.models.Manifest`
and the outputs (by hash, in the artifact store; a DOCX in parts shared with other documents,
see :mod:`.layouts`). Writes are one transaction each; the bytes
are made durable before it commits (files) or inside it (database), so a version that can be
read always has all of its bytes.

Idempotency keys (``kind`` ``document``) are :mod:`service.store.idempotency`, the mechanism
the batch store uses too; a replay answers the version the first request made.

Access: every read takes ``allowed_companies``; ``None`` means every company (an admin key), a
set means only documents of those companies exist for the caller: others raise ``NotFound``,
exactly as a document that does not exist (the filter is in the query, not after it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import builtins
import dataclasses
import hashlib
import json
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from typing import Any

from sqlalchemy import Select, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import DocumentMismatch, InvalidCursor, NotFound, StorageCorrupt
from service.store.artifacts import CHUNK_BYTES, ArtifactStore
from service.store.claims import IdempotencyClaims
from service.store.db import Database, epoch_now, insert_ignore
from service.store.idempotency import IdempotencyKeys, Target
from service.store.layouts import Layout, Split, split
from service.store.models import (
    DocumentSummary,
    DocumentVersion,
    Manifest,
    OutputInfo,
    Page,
    Rendered,
    StoredDocument,
    WriteResult,
    from_epoch,
    sha256_hex,
)
from service.store.schema import document_versions, documents, output_layouts

MAX_PAGE_SIZE = 200
_LOOKUP_BATCH = 500
"""Hashes or ids named in one ``IN (…)`` of a lookup of many (SQLite allows 32766 variables)."""


def new_id(prefix: str) -> str:
    """``doc_`` or ``bat_`` and 20 random hex digits (80 bits): unguessable, not secret."""
    return f"{prefix}_{secrets.token_hex(10)}"


def _create_request_sha(payload_sha: str) -> str:
    return sha256_hex(f"create\0{payload_sha}".encode())


def _regenerate_request_sha(document_id: str, payload_sha: str) -> str:
    return sha256_hex(f"regenerate\0{document_id}\0{payload_sha}".encode())


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, number = text.partition(":")
        if tag != "seq" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("无效的分页游标", details={"cursor": cursor}) from exc


class DocumentStore:
    """Documents in a :class:`Database`, their bytes in an :class:`ArtifactStore`."""

    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self.db = db
        self.artifacts = artifacts
        self.keys = IdempotencyKeys(db, "document")
        self.claims = IdempotencyClaims(db)
        """Single flight of requests carrying one idempotency key (:mod:`.claims`)."""

    # --- writes ---------------------------------------------------------------------------

    async def find_replay(self, scope: str, key: str, payload: bytes) -> StoredDocument | None:
        """The document an earlier create with ``key`` and this payload made, else ``None``;
        ``IdempotencyConflict`` if ``key`` was used for another request. Lets a caller skip the
        render of a retried request."""
        return await self._replay(scope, key, _create_request_sha(sha256_hex(payload)))

    async def find_regenerate_replay(
        self, scope: str, key: str, document_id: str, payload: bytes
    ) -> StoredDocument | None:
        """As :meth:`find_replay`, for a :meth:`regenerate` of ``document_id`` with ``payload``."""
        return await self._replay(
            scope, key, _regenerate_request_sha(document_id, sha256_hex(payload))
        )

    async def create(
        self,
        payload: bytes,
        rendered: Rendered,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        created_by: str | None = None,
        by_identity: bool = False,
    ) -> WriteResult:
        """Store a new document (version 1) from ``payload`` and what it rendered to.

        ``by_identity``: when a document of the same company, kind, report year and period
        exists (the natural identity; the newest, should there be several from before), add a
        version to it instead, so that no two documents stand for one report. The check and
        the write are one transaction under the identity's lock (SQLite: the write lock;
        PostgreSQL: an advisory lock on the identity), so two nodes cannot both create it.
        ``created_by``: the API key's name, recorded in the manifest.

        An earlier create under ``idempotency_key`` is found by the write itself (its key
        record collides, the write is rolled back and the earlier document answered,
        ``replayed``): callers look with :meth:`find_replay` before they render, so a second
        look here would only cost every create a query.
        """
        payload_sha = sha256_hex(payload)
        request_sha = _create_request_sha(payload_sha)
        manifest, blobs, layouts = await self._manifest_and_blobs(
            payload, payload_sha, rendered, created_by
        )
        await self.artifacts.prepare(blobs)

        written: builtins.list[StoredDocument] = []

        async def write(conn: AsyncConnection) -> Target:
            now = await _now(conn)
            await self._put(conn, blobs, layouts, now)
            existing = await self._same_identity(conn, rendered) if by_identity else None
            if existing is not None:
                version = await self._next_version(conn, existing, now)
                await self._insert_version(conn, existing, version, now, manifest)
                written.append(await _stored_in(conn, existing, version))
                return Target(existing, version)
            document_id = new_id("doc")
            await conn.execute(
                insert(documents).values(
                    id=document_id,
                    company_id=rendered.company_id,
                    report_year=rendered.report_year,
                    kind=rendered.kind,
                    period=rendered.period,
                    latest_version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self._insert_version(conn, document_id, 1, now, manifest)
            at = _dt(now)  # what a read of the rows just inserted would give
            written.append(
                StoredDocument(
                    id=document_id, company_id=rendered.company_id,
                    report_year=rendered.report_year, kind=rendered.kind, latest_version=1,
                    created_at=at, updated_at=at,
                    version=DocumentVersion(document_id, 1, at, manifest),
                )
            )  # fmt: skip
            return Target(document_id, 1)

        target, replayed = await self.keys.write(scope, idempotency_key, request_sha, write)
        if replayed:  # the write was rolled back: what the earlier request made
            return WriteResult(await self.get(target.id, version=target.version), replayed=True)
        return WriteResult(written[-1], replayed=False)

    async def regenerate(
        self,
        document_id: str,
        payload: bytes,
        rendered: Rendered,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        allowed_companies: Collection[str] | None = None,
        created_by: str | None = None,
        uploaded_docx: tuple[bytes, str] | None = None,
    ) -> WriteResult:
        """Add version N+1 to ``document_id``; earlier versions stay as they were.

        ``uploaded_docx`` (its bytes and file name): the edited DOCX the payload was read back
        from, kept as an artifact and named in the manifest (``uploaded_docx``).

        ``payload`` may be the stored one (a re-render with today's templates and style) or a
        corrected one, but it must be for the same company, report year and kind
        (``DocumentMismatch`` otherwise).
        """
        payload_sha = sha256_hex(payload)
        request_sha = _regenerate_request_sha(document_id, payload_sha)
        earlier = await self._replay(scope, idempotency_key, request_sha)
        if earlier is not None:
            return WriteResult(earlier, replayed=True)
        current = await self.get(document_id, allowed_companies=allowed_companies)
        if (current.company_id, current.report_year, current.kind) != (
            rendered.company_id,
            rendered.report_year,
            rendered.kind,
        ):
            raise DocumentMismatch(
                "新报送数据与原文档的公司、报告年度或类型不一致",
                details={
                    "document": [current.company_id, current.report_year, current.kind],
                    "payload": [rendered.company_id, rendered.report_year, rendered.kind],
                },
            )
        manifest, blobs, layouts = await self._manifest_and_blobs(
            payload, payload_sha, rendered, created_by
        )
        if uploaded_docx is not None:
            data, filename = uploaded_docx
            info = OutputInfo(sha256_hex(data), len(data), filename)
            blobs[info.sha256] = data
            manifest = dataclasses.replace(manifest, uploaded_docx=info)
        await self.artifacts.prepare(blobs)

        async def write(conn: AsyncConnection) -> Target:
            now = await _now(conn)
            await self._put(conn, blobs, layouts, now)
            version = await self._next_version(conn, document_id, now)
            await self._insert_version(conn, document_id, version, now, manifest)
            return Target(document_id, version)

        target, replayed = await self.keys.write(scope, idempotency_key, request_sha, write)
        return WriteResult(await self.get(target.id, version=target.version), replayed=replayed)

    # --- reads ----------------------------------------------------------------------------

    async def get(
        self,
        document_id: str,
        *,
        version: int | None = None,
        allowed_companies: Collection[str] | None = None,
    ) -> StoredDocument:
        """The document with the asked ``version`` (``None``: the latest); ``NotFound`` if it
        does not exist, is not visible to ``allowed_companies``, or has no such version."""
        async with self.db.read() as conn:
            return await _stored_in(conn, document_id, version, allowed_companies)

    async def get_many(
        self, refs: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], StoredDocument]:
        """The documents at the versions ``refs`` names (id, version), in a few queries (no
        access check: for the items of a batch the caller may already see); a ref that does
        not exist is left out."""
        wanted = set(refs)
        ids = sorted({document_id for document_id, _ in wanted})
        found: dict[tuple[str, int], StoredDocument] = {}
        async with self.db.read() as conn:
            for start in range(0, len(ids), _LOOKUP_BATCH):
                chunk = ids[start : start + _LOOKUP_BATCH]
                versions = sorted({v for d, v in wanted if d in set(chunk)})
                rows = await conn.execute(
                    _stored_select()
                    .where(documents.c.id.in_(chunk))
                    .where(document_versions.c.version.in_(versions))
                )
                for row in rows.mappings():
                    if (row["id"], row["v"]) in wanted:
                        found[row["id"], row["v"]] = _stored(row)
        return found

    async def versions(
        self, document_id: str, *, allowed_companies: Collection[str] | None = None
    ) -> list[DocumentVersion]:
        """Every version, oldest first; ``NotFound`` as :meth:`get`."""
        stmt = _visible(
            select(document_versions)
            .join(documents, document_versions.c.document_id == documents.c.id)
            .where(documents.c.id == document_id)
            .order_by(document_versions.c.version),
            allowed_companies,
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        if not rows:
            raise NotFound("文档不存在", details={"document_id": document_id})
        return [
            DocumentVersion(
                document_id=r["document_id"],
                version=r["version"],
                created_at=_dt(r["created_at"]),
                manifest=Manifest.from_dict(json.loads(r["manifest"])),
            )
            for r in rows
        ]

    async def list(
        self,
        *,
        company_id: str | None = None,
        report_year: int | None = None,
        kind: str | None = None,
        allowed_companies: Collection[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[DocumentSummary]:
        """Documents matching the filters (``None``: any), newest first, ``limit`` a page
        (1…200). Pass the previous page's ``next_cursor`` for the next page; a page does not
        move when newer documents are added meanwhile (keyset paging on insertion order)."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        stmt = select(documents).order_by(documents.c.seq.desc()).limit(limit + 1)
        if company_id is not None:
            stmt = stmt.where(documents.c.company_id == company_id)
        if report_year is not None:
            stmt = stmt.where(documents.c.report_year == report_year)
        if kind is not None:
            stmt = stmt.where(documents.c.kind == kind)
        if cursor is not None:
            stmt = stmt.where(documents.c.seq < decode_cursor(cursor))
        stmt = _visible(stmt, allowed_companies)
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        items = [_summary(r) for r in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def read_output(
        self,
        document_id: str,
        fmt: str,
        *,
        version: int | None = None,
        allowed_companies: Collection[str] | None = None,
    ) -> tuple[bytes, OutputInfo]:
        """The bytes of one output (``pdf``, ``docx``) and its name and hash; ``NotFound`` for
        a format the version does not have. For a few MB at most: downloads use
        :meth:`stream_output`."""
        doc = await self.get(document_id, version=version, allowed_companies=allowed_companies)
        info = doc.version.manifest.outputs.get(fmt)
        if info is None:
            raise NotFound("文档没有该格式", details={"document_id": document_id, "format": fmt})
        return b"".join([chunk async for chunk in self.stream_output(info)]), info

    async def stream_output(self, info: OutputInfo) -> AsyncGenerator[bytes, None]:
        """The bytes of the output ``info`` names, in chunks, assembled from its residue and
        parts when it was stored in parts (:mod:`.layouts`); its SHA-256 and size are checked
        at the end (``StorageCorrupt``: a missing artifact at its first chunk)."""
        async with self.db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(output_layouts).where(output_layouts.c.sha256 == info.sha256)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            async for chunk in self.artifacts.stream(info.sha256):
                yield chunk
            return
        layout = Layout.from_row(row["sha256"], row["size"], row["residue_sha256"], row["segments"])
        residue = await self.artifacts.get(layout.residue_sha256)
        digest, size = hashlib.sha256(), 0
        for segment in layout.segments:
            if segment.part is None:
                chunks: AsyncIterator[bytes] = _slices(residue, segment.offset, segment.size)
            else:
                chunks = self.artifacts.stream(segment.part)
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        if digest.hexdigest() != info.sha256 or size != info.size:
            raise StorageCorrupt(
                "存储的文件已损坏（组装后哈希不符）",
                details={"sha256": info.sha256, "where": "layout"},
            )

    async def output_reader(self, infos: Collection[OutputInfo]) -> OutputReader:
        """A reader of the outputs ``infos`` (an export of many): the layouts of those stored
        in parts looked up in one query, and each part they share read and checked once."""
        shas = sorted({info.sha256 for info in infos})
        layouts: dict[str, Layout] = {}
        async with self.db.read() as conn:
            for start in range(0, len(shas), _LOOKUP_BATCH):
                rows = await conn.execute(
                    select(output_layouts).where(
                        output_layouts.c.sha256.in_(shas[start : start + _LOOKUP_BATCH])
                    )
                )
                for row in rows.mappings():
                    layouts[row["sha256"]] = Layout.from_row(
                        row["sha256"], row["size"], row["residue_sha256"], row["segments"]
                    )
        return OutputReader(self.artifacts, layouts)

    async def read_payload(
        self,
        document_id: str,
        *,
        version: int | None = None,
        allowed_companies: Collection[str] | None = None,
    ) -> bytes:
        """The payload bytes exactly as received for that version."""
        doc = await self.get(document_id, version=version, allowed_companies=allowed_companies)
        return await self.artifacts.get(doc.version.manifest.payload_sha256)

    # --- helpers --------------------------------------------------------------------------

    async def _manifest_and_blobs(
        self, payload: bytes, payload_sha: str, rendered: Rendered, created_by: str | None
    ) -> tuple[Manifest, dict[str, bytes], tuple[Layout, ...]]:
        """The manifest, the artifacts to store (parts the store already holds left out) and
        the layouts of the outputs stored in parts."""
        manifest = Manifest.of(rendered, payload_sha, created_by)
        blobs = {payload_sha: payload}
        layouts: builtins.list[Layout] = []
        parts: dict[str, bytes] = {}
        for fmt, info in manifest.outputs.items():
            output = rendered.outputs[fmt]
            pieces = output if isinstance(output, Split) else split(output)
            if pieces is None:
                assert isinstance(output, bytes)
                blobs[info.sha256] = output
                continue
            layouts.append(pieces.layout)
            blobs[pieces.layout.residue_sha256] = pieces.residue
            parts.update(pieces.parts)
        for sha in await self.artifacts.missing(parts):
            blobs[sha] = parts[sha]
        return manifest, blobs, tuple(layouts)

    async def _put(
        self,
        conn: AsyncConnection,
        blobs: dict[str, bytes],
        layouts: tuple[Layout, ...],
        now: float,
    ) -> None:
        """Record ``blobs`` and ``layouts`` in the write transaction ``conn`` at ``now``."""
        await self.artifacts.put(conn, blobs)
        if not layouts:
            return
        await conn.execute(
            insert_ignore(output_layouts, self.db.dialect),
            [
                {
                    "sha256": layout.sha256,
                    "size": layout.size,
                    "residue_sha256": layout.residue_sha256,
                    "segments": layout.segments_json(),
                    "created_at": now,
                }
                for layout in layouts
            ],
        )

    async def _replay(self, scope: str, key: str | None, request_sha: str) -> StoredDocument | None:
        earlier = await self.keys.replayed(scope, key, request_sha)
        return None if earlier is None else await self.get(earlier.id, version=earlier.version)

    async def _same_identity(self, conn: AsyncConnection, rendered: Rendered) -> str | None:
        """The id of the newest document with ``rendered``'s natural identity, locked."""
        identity = (rendered.company_id, rendered.kind, rendered.report_year, rendered.period)
        if self.db.dialect == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:identity, 0))"),
                {"identity": "\x1f".join(map(str, identity))},
            )
        return (
            await conn.execute(
                select(documents.c.id)
                .where(
                    documents.c.company_id == rendered.company_id,
                    documents.c.kind == rendered.kind,
                    documents.c.report_year == rendered.report_year,
                    documents.c.period == rendered.period,
                )
                .order_by(documents.c.seq.desc())
                .limit(1)
            )
        ).scalar()

    @staticmethod
    async def _next_version(conn: AsyncConnection, document_id: str, now: float) -> int:
        """Take the next version number of ``document_id`` (its row stays locked till commit)."""
        version: int = (
            await conn.execute(
                update(documents)
                .where(documents.c.id == document_id)
                .values(latest_version=documents.c.latest_version + 1, updated_at=now)
                .returning(documents.c.latest_version)
            )
        ).scalar_one()
        return version

    @staticmethod
    async def _insert_version(
        conn: AsyncConnection, document_id: str, version: int, now: float, manifest: Manifest
    ) -> None:
        await conn.execute(
            insert(document_versions).values(
                document_id=document_id,
                version=version,
                created_at=now,
                payload_sha256=manifest.payload_sha256,
                manifest=json.dumps(manifest.as_dict(), ensure_ascii=False, sort_keys=True),
            )
        )


class OutputReader:
    """Whole outputs for an export of many (:meth:`DocumentStore.output_reader`), as
    :meth:`DocumentStore.stream_output` gives them but with one read of each artifact: a part
    that many outputs share (a house style's fonts) is read and its hash checked once for
    all of them, and every output's SHA-256 and size are checked as it is put together."""

    def __init__(self, artifacts: ArtifactStore, layouts: dict[str, Layout]) -> None:
        self._artifacts, self._layouts = artifacts, layouts
        self._parts: dict[str, asyncio.Task[bytes]] = {}

    async def read(self, info: OutputInfo) -> builtins.list[bytes]:
        """The bytes of the output ``info`` names, as pieces to write one after the other;
        ``StorageCorrupt`` when an artifact is missing or damaged or they do not add up."""
        layout = self._layouts.get(info.sha256)
        if layout is None:
            return [await self._artifacts.get(info.sha256)]  # its hash checked as it is read
        residue = await self._artifacts.get(layout.residue_sha256)
        pieces = [
            residue[s.offset : s.offset + s.size] if s.part is None else await self._part(s.part)
            for s in layout.segments
        ]
        digest = hashlib.sha256()
        for piece in pieces:
            digest.update(piece)
        if digest.hexdigest() != info.sha256 or sum(map(len, pieces)) != info.size:
            raise StorageCorrupt(
                "存储的文件已损坏（组装后哈希不符）",
                details={"sha256": info.sha256, "where": "layout"},
            )
        return pieces

    def _part(self, sha256: str) -> asyncio.Task[bytes]:
        """The part's bytes, read (and checked) by the first output that names it."""
        task = self._parts.get(sha256)
        if task is None:
            task = self._parts[sha256] = asyncio.ensure_future(self._artifacts.get(sha256))
        return task


async def _slices(data: bytes, offset: int, size: int) -> AsyncIterator[bytes]:
    """``data[offset:offset + size]`` in chunks of at most :data:`CHUNK_BYTES`."""
    for start in range(offset, offset + size, CHUNK_BYTES):
        yield data[start : min(start + CHUNK_BYTES, offset + size)]


async def _now(conn: AsyncConnection) -> float:
    return float((await conn.execute(select(epoch_now()))).scalar_one())


async def _stored_in(
    conn: AsyncConnection,
    document_id: str,
    version: int | None,
    allowed_companies: Collection[str] | None = None,
) -> StoredDocument:
    """:meth:`DocumentStore.get` in the transaction ``conn``."""
    stmt = _stored_select().where(documents.c.id == document_id)
    if version is None:
        stmt = stmt.where(document_versions.c.version == documents.c.latest_version)
    else:
        stmt = stmt.where(document_versions.c.version == version)
    row = (await conn.execute(_visible(stmt, allowed_companies))).mappings().first()
    if row is None:
        raise NotFound("文档不存在", details={"document_id": document_id, "version": version})
    return _stored(row)


def _stored_select() -> Select[Any]:
    """A document joined with its versions, the columns :func:`_stored` reads."""
    return select(
        documents, document_versions.c.version.label("v"),
        document_versions.c.created_at.label("v_created_at"), document_versions.c.manifest,
    ).join(document_versions, document_versions.c.document_id == documents.c.id)  # fmt: skip


def _visible(stmt: Select[Any], allowed_companies: Collection[str] | None) -> Select[Any]:
    if allowed_companies is None:
        return stmt
    return stmt.where(documents.c.company_id.in_(sorted(allowed_companies)))


def _dt(seconds: float) -> Any:
    value = from_epoch(seconds)
    assert value is not None
    return value


def _summary(row: Any) -> DocumentSummary:
    return DocumentSummary(
        id=row["id"],
        company_id=row["company_id"],
        report_year=row["report_year"],
        kind=row["kind"],
        latest_version=row["latest_version"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
    )


def _stored(row: Any) -> StoredDocument:
    return StoredDocument(
        id=row["id"],
        company_id=row["company_id"],
        report_year=row["report_year"],
        kind=row["kind"],
        latest_version=row["latest_version"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        version=DocumentVersion(
            document_id=row["id"],
            version=row["v"],
            created_at=_dt(row["v_created_at"]),
            manifest=Manifest.from_dict(json.loads(row["manifest"])),
        ),
    )
