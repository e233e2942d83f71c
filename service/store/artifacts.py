"""Artifact stores: immutable bytes addressed by their SHA-256 (outputs and payloads).

Two implementations of one protocol:

- :class:`FileArtifacts` (embedded default): ``<data_dir>/artifacts/ab/abcdef…``, written
  atomically *before* the database transaction that refers to them commits. A crash between
  the two leaves an unreferenced file (harmless, never read), never a row pointing at a partial
  file.
- :class:`DatabaseArtifacts` (PostgreSQL): rows of ``artifacts`` (``bytea``), inserted in the same
  transaction as the rows that refer to them, so every node sees them. ``bytea`` holds up to
  1 GB a value; :meth:`~DatabaseArtifacts.stream` reads it in chunks with ``substring`` (the
  column is stored uncompressed out of line since migration 3, so a chunk costs only its pages).

Both check the hash on every read (a stream when it reaches the end: a damaged artifact then
ends the stream with the error, after the chunks before it) and raise :class:`~service.errors.StorageCorrupt` when the
bytes no longer match. Neither deletes anything: there is no garbage collection of artifacts
that no version refers to (none exist except after a crash between the two steps above).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Collection, Mapping
from pathlib import Path
from typing import Protocol

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import StorageCorrupt
from service.store.db import Database, epoch_now, insert_ignore
from service.store.errors import storage_error
from service.store.files import sweep_temp_files, write_atomic
from service.store.models import sha256_hex
from service.store.schema import artifacts

CHUNK_BYTES = 128 * 1024
"""What one read of a stream takes from a file or a row."""


class ArtifactStore(Protocol):
    async def prepare(self, blobs: Mapping[str, bytes]) -> None:
        """Make ``blobs`` (sha256 → bytes) durable where that happens outside the database."""

    async def put(self, conn: AsyncConnection, blobs: Mapping[str, bytes]) -> None:
        """Record ``blobs`` inside the caller's write transaction ``conn``."""

    async def get(self, sha256: str) -> bytes:
        """The bytes whose hash is ``sha256``; ``StorageCorrupt`` if missing or damaged."""

    def stream(self, sha256: str) -> AsyncGenerator[bytes, None]:
        """The bytes whose hash is ``sha256`` in chunks of at most :data:`CHUNK_BYTES`;
        ``StorageCorrupt`` at the first chunk when missing, at the end when damaged."""

    async def missing(self, sha256s: Collection[str]) -> set[str]:
        """Which of ``sha256s`` the store does not hold (so need not be sent again)."""


class _Digest:
    """The running SHA-256 of a stream, checked against ``sha256`` at its end."""

    def __init__(self, sha256: str, where: str) -> None:
        self.sha256, self.where, self._hash = sha256, where, hashlib.sha256()

    def update(self, chunk: bytes) -> bytes:
        self._hash.update(chunk)
        return chunk

    def check(self) -> None:
        if self._hash.hexdigest() != self.sha256:
            raise StorageCorrupt(
                "存储的文件已损坏（哈希不符）", details={"sha256": self.sha256, "where": self.where}
            )


def _missing_error(sha256: str, where: str) -> StorageCorrupt:
    return StorageCorrupt("存储的文件缺失", details={"sha256": sha256, "where": where})


def _check(sha256: str, data: bytes | None, where: str) -> bytes:
    if data is None:
        raise _missing_error(sha256, where)
    if sha256_hex(data) != sha256:
        raise StorageCorrupt(
            "存储的文件已损坏（哈希不符）", details={"sha256": sha256, "where": where}
        )
    return data


class FileArtifacts:
    """Content-addressed files under ``root``; see the module docstring."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        sweep_temp_files(root)

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    async def prepare(self, blobs: Mapping[str, bytes]) -> None:
        """Write each blob atomically; ``StorageFull``/``StorageReadOnly`` when the folder
        refuses (the file being written is removed; blobs written before it stay, unreferenced)."""
        try:
            await asyncio.to_thread(self._write_all, dict(blobs))
        except OSError as exc:
            refused = storage_error(exc)
            if refused is None:
                raise
            raise refused from exc

    def _write_all(self, blobs: dict[str, bytes]) -> None:
        for sha, data in blobs.items():
            path = self.path_of(sha)
            if path.exists() and path.stat().st_size == len(data):
                continue
            write_atomic(path, data)

    async def put(self, conn: AsyncConnection, blobs: Mapping[str, bytes]) -> None:
        return None

    async def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            data: bytes | None = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            data = None
        return _check(sha256, data, str(path))

    async def stream(self, sha256: str) -> AsyncGenerator[bytes, None]:
        path = self.path_of(sha256)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise _missing_error(sha256, str(path)) from None
        digest = _Digest(sha256, str(path))
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield digest.update(chunk)
        finally:
            handle.close()
        digest.check()

    async def missing(self, sha256s: Collection[str]) -> set[str]:
        return {sha for sha in sha256s if not self.path_of(sha).exists()}


class DatabaseArtifacts:
    """Content-addressed rows of ``artifacts``; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def prepare(self, blobs: Mapping[str, bytes]) -> None:
        return None

    async def put(self, conn: AsyncConnection, blobs: Mapping[str, bytes]) -> None:
        if not blobs:
            return
        now = (await conn.execute(select(epoch_now()))).scalar_one()
        await conn.execute(
            insert_ignore(artifacts, self.db.dialect),
            [
                {"sha256": sha, "size": len(data), "data": data, "created_at": now}
                for sha, data in blobs.items()
            ],
        )

    async def get(self, sha256: str) -> bytes:
        async with self.db.read() as conn:
            data = (
                await conn.execute(select(artifacts.c.data).where(artifacts.c.sha256 == sha256))
            ).scalar()
        return _check(sha256, None if data is None else bytes(data), "database")

    async def stream(self, sha256: str) -> AsyncGenerator[bytes, None]:
        """One short read transaction per chunk, so a slow client holds no connection."""
        digest = _Digest(sha256, "database")
        offset = 1  # substring counts from 1
        while True:
            part = func.substring(artifacts.c.data, offset, CHUNK_BYTES, type_=LargeBinary)
            async with self.db.read() as conn:
                chunk = (
                    await conn.execute(select(part).where(artifacts.c.sha256 == sha256))
                ).scalar()
            if chunk is None:
                raise _missing_error(sha256, "database")
            if not chunk:
                break
            yield digest.update(bytes(chunk))
            if len(chunk) < CHUNK_BYTES:
                break
            offset += CHUNK_BYTES
        digest.check()

    async def missing(self, sha256s: Collection[str]) -> set[str]:
        if not sha256s:
            return set()
        async with self.db.read() as conn:
            held = (
                await conn.execute(
                    select(artifacts.c.sha256).where(artifacts.c.sha256.in_(sorted(sha256s)))
                )
            ).scalars()
            return set(sha256s) - set(held)
