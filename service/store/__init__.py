"""Storage: documents with their versions and outputs, batches with their items, behind one
:class:`Store` opened by :func:`open_store`.

SQLite plus an artifact folder by default; a ``postgresql://`` URL puts everything (index,
batches, outputs) into PostgreSQL so several nodes share it. See ``docs/storage.md``.
"""

from service.store.artifacts import ArtifactStore, DatabaseArtifacts, FileArtifacts
from service.store.batches import BatchStore
from service.store.documents import DocumentStore
from service.store.errors import (
    STORAGE_REFUSED,
    StorageFull,
    StorageReadOnly,
    StorageRefused,
    is_connection_lost,
    storage_error,
)
from service.store.factory import Store, open_store, register_backend
from service.store.models import (
    BatchCreated,
    BatchItemInput,
    BatchStatus,
    ClaimedItem,
    DocumentSummary,
    DocumentVersion,
    ItemStatus,
    Manifest,
    OutputInfo,
    Page,
    Rendered,
    StoredDocument,
    Webhook,
    WebhookDue,
    WriteResult,
)

__all__ = [
    "STORAGE_REFUSED",
    "ArtifactStore",
    "BatchCreated",
    "BatchItemInput",
    "BatchStatus",
    "BatchStore",
    "ClaimedItem",
    "DatabaseArtifacts",
    "DocumentStore",
    "DocumentSummary",
    "DocumentVersion",
    "FileArtifacts",
    "ItemStatus",
    "Manifest",
    "OutputInfo",
    "Page",
    "Rendered",
    "StorageFull",
    "StorageReadOnly",
    "StorageRefused",
    "Store",
    "StoredDocument",
    "Webhook",
    "WebhookDue",
    "WriteResult",
    "is_connection_lost",
    "open_store",
    "register_backend",
    "storage_error",
]
