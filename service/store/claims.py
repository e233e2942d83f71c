"""Single flight for an ``Idempotency-Key``: of the requests carrying one key at the same time,
the first renders and the others wait for its answer, on one node or on many sharing the store.

The first request inserts a claim row (``idempotency_claims``, primary key scope + key) in a
transaction of its own; a second insert fails on the key, so exactly one request holds the
claim on any number of nodes. The holder renders, stores the document under the key (the
``idempotency_keys`` row, in the same transaction as the document), then deletes the claim. The
others poll (reads only) until the key's result is stored, and replay it; if the claim goes away
without a result (the first request failed: a payload error, a timeout) the next of them claims
and renders itself. A claim older than ``stale_after_s`` belongs to a node that died mid-render:
it is taken over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.errors import IdempotencyConflict
from service.store.db import Database, epoch_now
from service.store.schema import idempotency_claims

T = TypeVar("T")

POLL_S = 0.05
"""How often a waiting request looks for the first one's result."""


class IdempotencyClaims:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, scope: str, key: str, request_sha: str, stale_after_s: float) -> bool:
        """Whether this caller now holds the claim on ``key`` (new, or taken over from a holder
        silent for ``stale_after_s``). ``IdempotencyConflict`` when it is held for another
        request."""
        where = (idempotency_claims.c.scope == scope, idempotency_claims.c.key == key)
        try:
            async with self.db.write() as conn:
                now = float((await conn.execute(select(epoch_now()))).scalar_one())
                row = (
                    await conn.execute(select(idempotency_claims).where(*where).with_for_update())
                ).first()
                if row is None:
                    await conn.execute(
                        insert(idempotency_claims).values(
                            scope=scope, key=key, request_sha256=request_sha, claimed_at=now
                        )
                    )
                    return True
                _check_same(row.request_sha256, request_sha, key)
                if now - row.claimed_at < stale_after_s:
                    return False
                await conn.execute(update(idempotency_claims).where(*where).values(claimed_at=now))
                return True
        except IntegrityError:  # another node inserted it between our read and our insert
            return False

    async def holder(self, scope: str, key: str) -> tuple[str, float] | None:
        """``(request hash, seconds held)`` of the claim on ``key``, or ``None``."""
        stmt = select(
            idempotency_claims.c.request_sha256, epoch_now() - idempotency_claims.c.claimed_at
        ).where(idempotency_claims.c.scope == scope, idempotency_claims.c.key == key)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (row[0], float(row[1]))

    async def release(self, scope: str, key: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                delete(idempotency_claims).where(
                    idempotency_claims.c.scope == scope, idempotency_claims.c.key == key
                )
            )

    async def once(
        self,
        scope: str,
        key: str,
        request_sha: str,
        *,
        replay: Callable[[], Awaitable[T | None]],
        work: Callable[[], Awaitable[T]],
        stale_after_s: float,
    ) -> tuple[T, bool]:
        """``(result, replayed)``: ``replay()`` (the stored result of ``key``, or ``None``) once
        it has one, else ``work()`` run by whichever request holds the claim."""
        while True:
            earlier = await replay()
            if earlier is not None:
                return earlier, True
            held = await self.holder(scope, key)
            if held is not None:
                _check_same(held[0], request_sha, key)
            if (held is None or held[1] >= stale_after_s) and await self.claim(
                scope, key, request_sha, stale_after_s
            ):
                try:
                    return await work(), False
                finally:
                    await asyncio.shield(self.release(scope, key))
            await asyncio.sleep(POLL_S)


def _check_same(held_sha: str, request_sha: str, key: str) -> None:
    if held_sha != request_sha:
        raise IdempotencyConflict(
            "该幂等键正用于另一个请求", details={"idempotency_key": key, "in_progress": True}
        )
