"""Storage: documents with their versions and outputs, batches with their items, behind one
:class:`Store` opened by :func:`open_store`.

SQLite plus an artifact folder by default; a ``postgresql://`` URL puts everything (index,
batches, outputs) into PostgreSQL so several nodes share it. See ``docs/storage.md``.

The package imports its light parts (the records in :mod:`.models`, the errors) at once and the
stores (SQLAlchemy, the databases) on first use of their names: a render worker needs
:class:`Rendered` but not SQLAlchemy (~0.35 CPU-s to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from service.store.errors import (
    STORAGE_REFUSED,
    StorageFull,
    StorageReadOnly,
    StorageRefused,
    is_connection_lost,
    storage_error,
)
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

if TYPE_CHECKING:
    from service.store.artifacts import ArtifactStore, DatabaseArtifacts, FileArtifacts
    from service.store.batches import BatchStore
    from service.store.documents import DocumentStore
    from service.store.factory import Store, open_store, register_backend

_ON_FIRST_USE = {
    "ArtifactStore": "service.store.artifacts",
    "DatabaseArtifacts": "service.store.artifacts",
    "FileArtifacts": "service.store.artifacts",
    "BatchStore": "service.store.batches",
    "DocumentStore": "service.store.documents",
    "Store": "service.store.factory",
    "open_store": "service.store.factory",
    "register_backend": "service.store.factory",
}
"""The names whose modules are imported when first asked for (PEP 562)."""


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
