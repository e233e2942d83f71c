"""Stored documents and batches over HTTP: thin handlers over :mod:`service.store` and
:mod:`service.jobs`, one module each (:mod:`.documents`, :mod:`.batches`), the checks of what a
request names in :mod:`.params`, and the JSON answers in :mod:`.reply` (bodies are the models of
:mod:`service.api.responses`).

Access follows the API key: the store filters by the key's companies in its queries, so another
company's document or batch is ``404 not_found`` exactly like one that does not exist.

``Idempotency-Key`` (on every POST here) lives in the key's own scope: a retry with the same key
and the same request answers the first result (200, ``Idempotent-Replayed: true``) without
rendering again, also while the first is still rendering (it waits for it, on any node); the
same key with another request is ``409 idempotency_conflict``. A new document whose company,
kind, year and period are those of a stored one becomes a new version of that one.
"""

from __future__ import annotations

from aiohttp import web

from service.api.admission import Admission
from service.api.archive import batches, documents, parity, revisions
from service.api.parity import PARITY, ParityCache
from service.api.state import SETTINGS


def add_routes(app: web.Application) -> None:
    app[batches.BATCH_ADMISSION] = Admission(batches.BATCH_UPLOADS, app[SETTINGS].retry_after_s)
    app[PARITY] = ParityCache()
    router = app.router
    router.add_post("/v1/documents", documents.create_document, name="create_document")
    router.add_get("/v1/documents", documents.list_documents, name="list_documents")
    router.add_get("/v1/documents/{id}", documents.get_document, name="get_document")
    router.add_get(
        "/v1/documents/{id}/versions", documents.list_versions, name="list_document_versions"
    )
    router.add_post(
        "/v1/documents/{id}/versions", documents.regenerate, name="create_document_version"
    )
    router.add_get("/v1/documents/{id}/pdf", documents.download_pdf, name="download_document_pdf")
    router.add_get(
        "/v1/documents/{id}/docx", documents.download_docx, name="download_document_docx"
    )
    router.add_get("/v1/documents/{id}/payload", revisions.get_payload, name="get_document_payload")
    router.add_get("/v1/documents/{id}/diff", revisions.get_diff, name="get_document_diff")
    router.add_get(
        "/v1/documents/{id}/uploaded-docx",
        documents.download_uploaded,
        name="download_document_uploaded_docx",
    )
    router.add_get("/v1/documents/{id}/parity", parity.get_parity, name="get_document_parity")
    router.add_post("/v1/batches", batches.create_batch, name="create_batch")
    router.add_get("/v1/batches", batches.list_batches, name="list_batches")
    router.add_get("/v1/batches/{id}", batches.get_batch, name="get_batch")
    router.add_get("/v1/batches/{id}/archive", batches.batch_archive, name="download_batch_archive")
