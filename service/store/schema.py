"""The tables as the code reads and writes them today (SQLAlchemy Core).

The database gets its tables from :mod:`service.store.migrations`, never from this module;
``tests/store/test_migrations.py`` fails when the two disagree. Times are ``DOUBLE`` seconds
since 1970 from the database's clock (:class:`~service.store.db.epoch_now`); hashes are lowercase
hex SHA-256; JSON columns are ``TEXT`` holding UTF-8 JSON, the same on both dialects.
"""

from __future__ import annotations

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
    text,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", Double, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    # Content-addressed bytes on PostgreSQL (outputs and payloads). Unused with SQLite, whose
    # artifacts are files under <data_dir>/artifacts.
    Column("sha256", Text, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Double, nullable=False),
)

output_layouts = Table(
    "output_layouts",
    metadata,
    # An output stored in parts (service/store/layouts.py): the residue artifact and the segments
    # that make the output's bytes, as JSON. Outputs without a row are one artifact.
    Column("sha256", Text, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("residue_sha256", Text, nullable=False),
    Column("segments", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("company_id", Text, nullable=False),
    Column("report_year", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("period", Text, nullable=False, server_default=""),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
)
Index(
    "ix_documents_company_year_kind",
    documents.c.company_id,
    documents.c.report_year,
    documents.c.kind,
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("document_id", Text, ForeignKey("documents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("payload_sha256", Text, nullable=False),
    Column("manifest", Text, nullable=False),
    PrimaryKeyConstraint("document_id", "version"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # What a request under an Idempotency-Key made (service.store.idempotency): a document's
    # version (kind "document") or a batch (kind "batch", version NULL).
    Column("kind", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_sha256", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("version", Integer, nullable=True),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("kind", "scope", "key", name="pk_idempotency_keys"),
)

idempotency_claims = Table(
    "idempotency_claims",
    metadata,
    # An Idempotency-Key whose first request is still rendering: the others wait for its answer.
    Column("scope", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_sha256", Text, nullable=False),
    Column("claimed_at", Double, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)

batches = Table(
    "batches",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("scope", Text, nullable=False),
    # Always NULL since migration 3 moved batch keys to idempotency_keys; SQLite cannot drop a
    # column under a UNIQUE constraint without rebuilding the table, which the foreign keys of
    # batch_items forbid inside the migration's transaction.
    Column("idempotency_key", Text, nullable=True),
    Column("request_sha256", Text, nullable=False),  # of the items and webhook, as recorded
    Column("created_at", Double, nullable=False),
    Column("finished_at", Double, nullable=True),
    Column("total", Integer, nullable=False),
    Column("done_count", Integer, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_secret", Text, nullable=True),
    Column("webhook_state", Text, nullable=False),
    Column("webhook_attempts", Integer, nullable=False),
    Column("webhook_lease_owner", Text, nullable=True),  # unused since migration 6
    # When a failed delivery is tried again (the local queue; named for the lease it was).
    Column("webhook_lease_expires_at", Double, nullable=True),
    Column("webhook_last_error", Text, nullable=True),
    # The job engine's priority of the batch's items (engine_sql.PRIORITIES): higher first.
    Column("priority", Integer, nullable=False, server_default=text("10")),
    UniqueConstraint("scope", "idempotency_key", name="uq_batches_scope_key"),
)
Index("ix_batches_webhook_state", batches.c.webhook_state)

batch_companies = Table(
    "batch_companies",
    metadata,
    # Every company id a batch's items name; "" for an item whose company could not be read.
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("company_id", Text, nullable=False),
    PrimaryKeyConstraint("batch_id", "company_id"),
)

batch_items = Table(
    "batch_items",
    metadata,
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
    # The node or process running the item now: a name, not a lease (none since migration 6).
    Column("lease_owner", Text, nullable=True),
    Column("lease_expires_at", Double, nullable=True),  # unused since migration 6
    Column("document_id", Text, nullable=True),
    Column("version", Integer, nullable=True),
    Column("errors", Text, nullable=True),
    Column("started_at", Double, nullable=True),
    Column("finished_at", Double, nullable=True),
    UniqueConstraint("batch_id", "idx", name="uq_batch_items_batch_idx"),
)
Index("ix_batch_items_state_id", batch_items.c.state, batch_items.c.id)

console_sessions = Table(
    "console_sessions",
    metadata,
    # A signed-in console session (service.store.sessions), named by the hash of its id.
    Column("id_sha256", Text, primary_key=True),
    Column("key_scope", Text, nullable=False),
    Column("key_tag", Text, nullable=False),
    Column("csrf", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("seen_at", Double, nullable=False),
)

console_secrets = Table(
    "console_secrets",
    metadata,
    # The secret every node signs console cookies and forms with (hex), made once.
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

console_drafts = Table(
    "console_drafts",
    metadata,
    # A draft of the console's form (service.store.drafts): the payload as it stands (JSON, maybe
    # invalid), its company, a title for the list, who saved it first and last (key names), and
    # the stored document it was started from ("" for none: 同比 are checked against that one).
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
)

console_batch_files = Table(
    "console_batch_files",
    metadata,
    # The file a batch uploaded through the console came from, and who uploaded it (key name).
    Column("batch_id", Text, primary_key=True),
    Column("filename", Text, nullable=False),
    Column("uploaded_by", Text, nullable=False),
)
