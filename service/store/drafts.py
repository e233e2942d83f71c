"""Drafts of the console's form, in the store, per company; and the file each console batch
came from (:class:`BatchFiles`).

A draft is a payload as it stands (JSON text, valid or not: it is checked when generated, never
when saved), the company it belongs to, a title for the list and who saved it first and last
(the API key's name). Saving again overwrites it; nothing else is kept of earlier saves. Access
control is the caller's: it lists and opens drafts only of the companies a key may use.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.schema import console_batch_files, console_drafts

ALL_COMPANIES = "*"
MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class Draft:
    id: str
    company_id: str
    title: str
    payload: str
    created_by: str
    updated_by: str
    created_at: float
    updated_at: float
    base_document: str = ""
    """The stored document the draft was started from (next year's draft), ``""`` for none."""


def _draft(row: object) -> Draft:
    m = row._mapping  # type: ignore[attr-defined]
    return Draft(
        m["id"], m["company_id"], m["title"], m["payload"], m["created_by"], m["updated_by"],
        m["created_at"], m["updated_at"], m["base_document"],
    )  # fmt: skip


class DraftRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self,
        draft_id: str | None,
        *,
        company_id: str,
        title: str,
        payload: str,
        by: str,
        base_document: str = "",
    ) -> Draft:
        """Create a draft (``draft_id`` ``None``) or overwrite one of the same company; a
        ``draft_id`` of no draft of ``company_id`` creates a new one under a new id."""
        now = time.time()
        async with self.db.write() as conn:
            if draft_id is not None:
                done = await conn.execute(
                    update(console_drafts)
                    .where(console_drafts.c.id == draft_id)
                    .where(console_drafts.c.company_id == company_id)
                    .values(
                        title=title,
                        payload=payload,
                        updated_by=by,
                        updated_at=now,
                        base_document=base_document,
                    )
                )
                if done.rowcount:
                    row = (
                        await conn.execute(
                            select(console_drafts).where(console_drafts.c.id == draft_id)
                        )
                    ).one()
                    return _draft(row)
            new_id = secrets.token_urlsafe(12)
            await conn.execute(
                insert(console_drafts).values(
                    id=new_id,
                    company_id=company_id,
                    title=title,
                    payload=payload,
                    created_by=by,
                    updated_by=by,
                    created_at=now,
                    updated_at=now,
                    base_document=base_document,
                )
            )
            return Draft(new_id, company_id, title, payload, by, by, now, now, base_document)

    async def get(self, draft_id: str, companies: Iterable[str]) -> Draft | None:
        """The draft ``draft_id`` if it belongs to one of ``companies`` (``*``: any)."""
        stmt = select(console_drafts).where(console_drafts.c.id == draft_id)
        allowed = set(companies)
        if ALL_COMPANIES not in allowed:
            stmt = stmt.where(console_drafts.c.company_id.in_(sorted(allowed)))
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return _draft(row) if row is not None else None

    async def list(self, companies: Iterable[str], limit: int = MAX_LISTED) -> list[Draft]:
        """The drafts of ``companies`` (``*``: all), the latest saved first."""
        stmt = select(console_drafts).order_by(
            console_drafts.c.updated_at.desc(), console_drafts.c.id
        )
        allowed = set(companies)
        if ALL_COMPANIES not in allowed:
            stmt = stmt.where(console_drafts.c.company_id.in_(sorted(allowed)))
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt.limit(limit))).all()
        return [_draft(r) for r in rows]

    async def delete(self, draft_id: str, companies: Iterable[str]) -> bool:
        allowed = set(companies)
        stmt = delete(console_drafts).where(console_drafts.c.id == draft_id)
        if ALL_COMPANIES not in allowed:
            stmt = stmt.where(console_drafts.c.company_id.in_(sorted(allowed)))
        async with self.db.write() as conn:
            return bool((await conn.execute(stmt)).rowcount)


class BatchFiles:
    """Which file a batch came from: written once when the console creates the batch."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, batch_id: str, filename: str, by: str) -> None:
        """Remember ``filename`` for ``batch_id``; a batch already recorded (a replayed upload)
        keeps its first file."""
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    insert(console_batch_files).values(
                        batch_id=batch_id, filename=filename[:255], uploaded_by=by
                    )
                )
        except IntegrityError:
            pass

    async def of(self, batch_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``batch_id → (filename, uploaded_by)`` for those recorded."""
        ids = sorted(set(batch_ids))
        if not ids:
            return {}
        stmt = select(console_batch_files).where(console_batch_files.c.batch_id.in_(ids))
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.batch_id: (r.filename, r.uploaded_by) for r in rows}
