"""Idempotency keys, one mechanism for every store that takes them (documents and batches).

A key lives in a ``kind`` (``document`` or ``batch``: what a replay answers) and a ``scope``
(the API key's fingerprint, ``jobs`` for the batch runner's items, ``cli`` for ``pilu batch``),
so two callers cannot collide or learn of each other's keys, and one Idempotency-Key may name a
document and a batch at once. A key remembers a hash of the request: the same key with the same
request answers the first result (``replayed``); with another request it raises
:class:`~service.errors.IdempotencyConflict`. Keys never expire.

The record (the ``idempotency_keys`` row: what the key made, ``target_id`` and, for a document,
its ``version``) is written in the same transaction as what it points to, so a key is never
recorded for a write that did not commit, and two writers racing on one key cannot both
commit: the second fails on the primary key and answers the first one's result instead.

Requests still in flight under a key (the first is rendering, the others wait for its answer)
are :mod:`service.store.claims`; this module keeps only finished results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import IdempotencyConflict
from service.store.db import Database, epoch_now
from service.store.schema import idempotency_keys

Kind = Literal["document", "batch"]


@dataclass(frozen=True, slots=True)
class Target:
    """What a write made: a document's id and version, or a batch's id (``version`` ``None``)."""

    id: str
    version: int | None = None


class IdempotencyKeys:
    """The finished results of idempotent writes of one ``kind``."""

    def __init__(self, db: Database, kind: Kind) -> None:
        self.db = db
        self.kind = kind

    async def replayed(self, scope: str, key: str | None, request_sha: str) -> Target | None:
        """What an earlier request with ``key`` and this request hash made, else ``None``
        (always ``None`` without a key); ``IdempotencyConflict`` if ``key`` was used for
        another request."""
        if key is None:
            return None
        stmt = select(
            idempotency_keys.c.request_sha256,
            idempotency_keys.c.target_id,
            idempotency_keys.c.version,
        ).where(
            idempotency_keys.c.kind == self.kind,
            idempotency_keys.c.scope == scope,
            idempotency_keys.c.key == key,
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        if row.request_sha256 != request_sha:
            raise IdempotencyConflict("该幂等键已用于另一个请求", details={"idempotency_key": key})
        return Target(row.target_id, row.version)

    async def write(
        self,
        scope: str,
        key: str | None,
        request_sha: str,
        write: Callable[[AsyncConnection], Awaitable[Target]],
    ) -> tuple[Target, bool]:
        """``(target, replayed)``: run ``write`` in one write transaction that also records
        ``key`` (when given) for what it made. When another request recorded ``key`` first
        (the insert fails on the key, rolling ``write`` back), answer its target instead."""
        try:
            async with self.db.write() as conn:
                target = await write(conn)
                if key is not None:
                    await conn.execute(
                        insert(idempotency_keys).values(
                            kind=self.kind,
                            scope=scope,
                            key=key,
                            request_sha256=request_sha,
                            target_id=target.id,
                            version=target.version,
                            created_at=epoch_now(),
                        )
                    )
        except IntegrityError:
            earlier = await self.replayed(scope, key, request_sha)
            if earlier is None:
                raise
            return earlier, True
        return target, False
