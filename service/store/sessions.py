"""Console sessions kept in the store, so that every node sharing it knows every session and a
restart signs no one out (:mod:`service.console.sessions` is what the console sees of them).

A row is named by the SHA-256 of the session id (the cookie holds the id itself, so a copy of
the table signs no one in) and holds the API key's scope (the key's own tag, never the key),
the session's CSRF token and its two times (seconds since 1970 on the caller's clock: nodes are
expected to keep time with NTP). ``console_secrets`` holds the one secret every node signs
cookies and the sign-in form with, made by the first node that asks for it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.schema import console_secrets, console_sessions


@dataclass(frozen=True, slots=True)
class SessionRow:
    id_sha256: str
    key_scope: str
    key_tag: str
    csrf: str
    created_at: float
    seen_at: float


class SessionRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def secret(self, name: str) -> bytes:
        """The secret called ``name``: 32 random bytes made once, the same for every node."""
        stmt = select(console_secrets.c.value).where(console_secrets.c.name == name)
        async with self.db.read() as conn:
            found = (await conn.execute(stmt)).scalar()
        if found is None:
            try:
                async with self.db.write() as conn:
                    await conn.execute(
                        insert(console_secrets).values(name=name, value=secrets.token_hex(32))
                    )
            except IntegrityError:
                pass  # another node made it first: use theirs
            async with self.db.read() as conn:
                found = (await conn.execute(stmt)).scalar_one()
        return bytes.fromhex(found)

    async def add(
        self, row: SessionRow, *, keep: int, idle_timeout_s: float, max_age_s: float
    ) -> None:
        """Insert ``row``; first forget sessions expired at ``row.created_at``, and the oldest
        beyond ``keep`` (the newest ``keep - 1`` stay, with ``row``)."""
        now = row.created_at
        expired = or_(
            console_sessions.c.seen_at < now - idle_timeout_s,
            console_sessions.c.created_at < now - max_age_s,
        )
        newest = (
            select(console_sessions.c.id_sha256)
            .order_by(console_sessions.c.created_at.desc(), console_sessions.c.id_sha256)
            .limit(max(keep - 1, 0))
        )
        async with self.db.write() as conn:
            await conn.execute(delete(console_sessions).where(expired))
            await conn.execute(
                delete(console_sessions).where(console_sessions.c.id_sha256.not_in(newest))
            )
            await conn.execute(
                insert(console_sessions).values(
                    id_sha256=row.id_sha256,
                    key_scope=row.key_scope,
                    key_tag=row.key_tag,
                    csrf=row.csrf,
                    created_at=row.created_at,
                    seen_at=row.seen_at,
                )
            )

    async def get(self, id_sha256: str) -> SessionRow | None:
        stmt = select(console_sessions).where(console_sessions.c.id_sha256 == id_sha256)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else SessionRow(**row)

    async def touch(self, id_sha256: str, seen_at: float) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(console_sessions)
                .where(console_sessions.c.id_sha256 == id_sha256)
                .values(seen_at=seen_at)
            )

    async def remove(self, id_sha256: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                delete(console_sessions).where(console_sessions.c.id_sha256 == id_sha256)
            )

    async def count(self) -> int:
        async with self.db.read() as conn:
            rows = await conn.execute(select(console_sessions.c.id_sha256))
            return len(rows.all())
