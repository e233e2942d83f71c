"""Numbered schema migrations, applied in order at start-up, each once, under a lock.

``schema_migrations`` holds one row per applied step. :func:`migrate` takes a lock first
(PostgreSQL: a transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``), so several nodes
starting at once apply each step exactly once; DDL is transactional on both dialects, so a step
that fails leaves no trace. A database migrated by a newer Pilu (a version this code does not
know) is refused with :class:`~service.errors.StoreSchemaTooNew` rather than used half-blind.

Rules for the next step: never edit a released step; add ``Migration(N + 1, …)`` and change
:mod:`service.store.schema` to match. The step's tables are defined inside the step (as step 1
does) so a later change to ``schema.py`` cannot change what an old step creates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from service.errors import StoreSchemaTooNew
from service.store import engine_sql
from service.store.db import Database, epoch_now
from service.store.schema import schema_migrations

ADVISORY_LOCK_KEY = 0x70696C75  # "pilu"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]
    """Runs inside the migration transaction, on a synchronous connection (``run_sync``)."""


def _v1_documents_and_batches(conn: Connection) -> None:
    md = MetaData()
    Table(
        "artifacts", md,
        Column("sha256", Text, primary_key=True),
        Column("size", Integer, nullable=False),
        Column("data", LargeBinary, nullable=False),
        Column("created_at", Double, nullable=False),
    )  # fmt: skip
    documents = Table(
        "documents", md,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("id", Text, nullable=False, unique=True),
        Column("company_id", Text, nullable=False),
        Column("report_year", Integer, nullable=False),
        Column("kind", Text, nullable=False),
        Column("latest_version", Integer, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("updated_at", Double, nullable=False),
    )  # fmt: skip
    Index("ix_documents_company_year_kind", documents.c.company_id, documents.c.report_year,
          documents.c.kind)  # fmt: skip
    Table(
        "document_versions", md,
        Column("document_id", Text, ForeignKey("documents.id"), nullable=False),
        Column("version", Integer, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("payload_sha256", Text, nullable=False),
        Column("manifest", Text, nullable=False),
        PrimaryKeyConstraint("document_id", "version"),
    )  # fmt: skip
    Table(
        "idempotency_keys", md,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_sha256", Text, nullable=False),
        Column("document_id", Text, ForeignKey("documents.id"), nullable=False),
        Column("version", Integer, nullable=False),
        Column("created_at", Double, nullable=False),
        PrimaryKeyConstraint("scope", "key"),
    )  # fmt: skip
    batches = Table(
        "batches", md,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("id", Text, nullable=False, unique=True),
        Column("scope", Text, nullable=False),
        Column("idempotency_key", Text, nullable=True),
        Column("request_sha256", Text, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("finished_at", Double, nullable=True),
        Column("total", Integer, nullable=False),
        Column("done_count", Integer, nullable=False),
        Column("failed_count", Integer, nullable=False),
        Column("webhook_url", Text, nullable=True),
        Column("webhook_secret", Text, nullable=True),
        Column("webhook_state", Text, nullable=False),
        Column("webhook_attempts", Integer, nullable=False),
        Column("webhook_lease_owner", Text, nullable=True),
        Column("webhook_lease_expires_at", Double, nullable=True),
        Column("webhook_last_error", Text, nullable=True),
        UniqueConstraint("scope", "idempotency_key", name="uq_batches_scope_key"),
    )  # fmt: skip
    Index("ix_batches_webhook_state", batches.c.webhook_state)
    Table(
        "batch_companies", md,
        Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
        Column("company_id", Text, nullable=False),
        PrimaryKeyConstraint("batch_id", "company_id"),
    )  # fmt: skip
    items = Table(
        "batch_items", md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
        Column("idx", Integer, nullable=False),
        Column("source", Text, nullable=False),
        Column("company_id", Text, nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("payload_sha256", Text, nullable=False),
        Column("idempotency_key", Text, nullable=False),
        Column("state", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("lease_owner", Text, nullable=True),
        Column("lease_expires_at", Double, nullable=True),
        Column("document_id", Text, nullable=True),
        Column("version", Integer, nullable=True),
        Column("errors", Text, nullable=True),
        Column("started_at", Double, nullable=True),
        Column("finished_at", Double, nullable=True),
        UniqueConstraint("batch_id", "idx", name="uq_batch_items_batch_idx"),
    )  # fmt: skip
    Index("ix_batch_items_state_id", items.c.state, items.c.id)
    md.create_all(conn)


def _v2_identity_and_claims(conn: Connection) -> None:
    """A document's natural identity gains its period; idempotency keys in flight get claims."""
    conn.execute(text("ALTER TABLE documents ADD COLUMN period TEXT NOT NULL DEFAULT ''"))
    md = MetaData()
    Table(
        "idempotency_claims", md,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_sha256", Text, nullable=False),
        Column("claimed_at", Double, nullable=False),
        PrimaryKeyConstraint("scope", "key"),
    )  # fmt: skip
    md.create_all(conn)


def _v3_output_layouts(conn: Connection) -> None:
    """Outputs stored in parts; PostgreSQL keeps new artifact values uncompressed out of line,
    so that a chunk of one is read without decompressing the rest (``substring``)."""
    md = MetaData()
    Table(
        "output_layouts", md,
        Column("sha256", Text, primary_key=True),
        Column("size", Integer, nullable=False),
        Column("residue_sha256", Text, nullable=False),
        Column("segments", Text, nullable=False),
        Column("created_at", Double, nullable=False),
    )  # fmt: skip
    md.create_all(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE artifacts ALTER COLUMN data SET STORAGE EXTERNAL"))


def _v4_one_idempotency_table(conn: Connection) -> None:
    """Documents' and batches' idempotency keys in one table, told apart by ``kind``: the
    documents' table is rebuilt (nothing references it) and the batches' keys copied in."""
    md = MetaData()
    new = Table(
        "idempotency_keys_v4", md,
        Column("kind", Text, nullable=False),
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_sha256", Text, nullable=False),
        Column("target_id", Text, nullable=False),
        Column("version", Integer, nullable=True),
        Column("created_at", Double, nullable=False),
        PrimaryKeyConstraint("kind", "scope", "key", name="pk_idempotency_keys"),
    )  # fmt: skip
    md.create_all(conn)
    conn.execute(
        text(
            "INSERT INTO idempotency_keys_v4"
            " (kind, scope, key, request_sha256, target_id, version, created_at)"
            " SELECT 'document', scope, key, request_sha256, document_id, version, created_at"
            " FROM idempotency_keys"
        )
    )
    conn.execute(
        text(
            "INSERT INTO idempotency_keys_v4"
            " (kind, scope, key, request_sha256, target_id, version, created_at)"
            " SELECT 'batch', scope, idempotency_key, request_sha256, id, NULL, created_at"
            " FROM batches WHERE idempotency_key IS NOT NULL"
        )
    )
    conn.execute(text("UPDATE batches SET idempotency_key = NULL"))
    conn.execute(text("DROP TABLE idempotency_keys"))
    conn.execute(text(f"ALTER TABLE {new.name} RENAME TO idempotency_keys"))


def _v5_console_sessions(conn: Connection) -> None:
    """Console sessions in the store, shared by every node and kept across restarts."""
    md = MetaData()
    Table(
        "console_sessions", md,
        Column("id_sha256", Text, primary_key=True),
        Column("key_scope", Text, nullable=False),
        Column("key_tag", Text, nullable=False),
        Column("csrf", Text, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("seen_at", Double, nullable=False),
    )  # fmt: skip
    Table(
        "console_secrets", md,
        Column("name", Text, primary_key=True),
        Column("value", Text, nullable=False),
    )  # fmt: skip
    md.create_all(conn)


def _v6_job_engine(conn: Connection) -> None:
    """Batch priorities; on PostgreSQL the job engine's schema (procrastinate), with a job for
    every item and webhook the lease queue of earlier versions left unfinished. SQLite gets the
    priority only: its batches stay on the local queue."""
    conn.execute(text("ALTER TABLE batches ADD COLUMN priority INTEGER NOT NULL DEFAULT 10"))
    if conn.dialect.name == "postgresql":
        engine_sql.install_schema(conn)


def _v7_console_drafts(conn: Connection) -> None:
    """Drafts of the console's form, kept per company until generated or deleted; the file each
    batch uploaded through the console came from."""
    md = MetaData()
    Table(
        "console_drafts", md,
        Column("id", Text, primary_key=True),
        Column("company_id", Text, nullable=False),
        Column("title", Text, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_by", Text, nullable=False),
        Column("updated_by", Text, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("updated_at", Double, nullable=False),
        Column("base_document", Text, nullable=False),
        Index("ix_console_drafts_company_updated", "company_id", "updated_at"),
    )  # fmt: skip
    Table(
        "console_batch_files", md,
        Column("batch_id", Text, primary_key=True),
        Column("filename", Text, nullable=False),
        Column("uploaded_by", Text, nullable=False),
    )  # fmt: skip
    md.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "documents, versions, idempotency keys, artifacts, batches", _v1_documents_and_batches
    ),
    Migration(2, "document period; idempotency claims", _v2_identity_and_claims),
    Migration(3, "outputs stored in parts (output layouts)", _v3_output_layouts),
    Migration(4, "one idempotency table for documents and batches", _v4_one_idempotency_table),
    Migration(5, "console sessions", _v5_console_sessions),
    Migration(6, "batch priorities; the job engine (PostgreSQL)", _v6_job_engine),
    Migration(7, "console drafts and batch files", _v7_console_drafts),
)


def latest_version() -> int:
    return MIGRATIONS[-1].version


async def migrate(db: Database) -> list[int]:
    """Apply every step not yet applied; the versions applied now (empty when up to date)."""
    applied_now: list[int] = []
    async with db.write() as conn:
        if db.dialect == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        await conn.run_sync(lambda sync: schema_migrations.create(sync, checkfirst=True))
        current = (await conn.execute(select(func.max(schema_migrations.c.version)))).scalar() or 0
        if current > latest_version():
            raise StoreSchemaTooNew(
                f"database schema is at version {current}, this Pilu knows up to {latest_version()}",
                details={"database": current, "code": latest_version()},
            )
        for step in MIGRATIONS:
            if step.version <= current:
                continue
            await conn.run_sync(step.apply)
            await conn.execute(
                insert(schema_migrations).values(
                    version=step.version, name=step.name, applied_at=epoch_now()
                )
            )
            applied_now.append(step.version)
    return applied_now


async def current_version(db: Database) -> int:
    async with db.read() as conn:
        return (await conn.execute(select(func.max(schema_migrations.c.version)))).scalar() or 0
