"""Artifact stores: immutable bytes addressed by their SHA-256 (outputs and payloads).

Two implementations of one protocol:

- :class:`FileArtifacts` (embedded default): ``<data_dir>/artifacts/ab/abcdef…``, written
  atomically *before* the database transaction that refers to them commits. A crash between
  the two leaves an unreferenced file (harmless, never read), never a row pointing at a partial
  file.
- :class:`DatabaseArtifacts` (PostgreSQL): rows of ``artifacts`` (``bytea``), inserted in the same
  transaction as the rows that refer to them, so every node sees them. ``bytea`` holds up to
  1 GB a value and is read whole: fine for documents of a few MB, not for video.

Both check the hash on every read and raise :class:`~service.errors.StorageCorrupt` when the
bytes no longer match. Neither deletes anything: there is no garbage collection of artifacts
that no version refers to (none exist except after a crash between the two steps above).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import StorageCorrupt
from service.store.db import Database, epoch_now, insert_ignore
from service.store.errors import storage_error
from service.store.files import sweep_temp_files, write_atomic
from service.store.models import sha256_hex
from service.store.schema import artifacts


class ArtifactStore(Protocol):
    async def prepare(self, blobs: Mapping[str, bytes]) -> None:
        """Make ``blobs`` (sha256 → bytes) durable where that happens outside the database."""

    async def put(self, conn: AsyncConnection, blobs: Mapping[str, bytes]) -> None:
        """Record ``blobs`` inside the caller's write transaction ``conn``."""

    async def get(self, sha256: str) -> bytes:
        """The bytes whose hash is ``sha256``; ``StorageCorrupt`` if missing or damaged."""


def _check(sha256: str, data: bytes | None, where: str) -> bytes:
    if data is None:
        raise StorageCorrupt("存储的文件缺失", details={"sha256": sha256, "where": where})
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
