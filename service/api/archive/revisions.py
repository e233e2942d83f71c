"""An edited DOCX comes back over HTTP: ``POST /v1/documents/{id}/versions`` with the DOCX media
type reads it back (:mod:`service.readback`) against the payload of the version it names
(``?base=N``, default the latest), stores version N+1 rendered from the payload read, the upload
kept beside the outputs, and answers the version with the diff against its base
(``Idempotency-Key`` as for a JSON body).
``GET /v1/documents/{id}/payload?version=N`` gives any version's payload, and
``GET /v1/documents/{id}/diff?version=N`` the diff of version N against N−1.

Reading back runs in a thread of the API process, not in a render worker: it builds two
document models and renders nothing. A failed read stores nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web

from service.api.archive.params import (
    document_id_of,
    idempotency_key,
    int_param,
    single_param,
    version_param,
)
from service.api.archive.reply import json_reply
from service.api.body import read_body
from service.api.responses import ApiDiff, ApiDocument, ApiRevision
from service.api.state import ADMISSION, PRINCIPAL, SETTINGS, STORE
from service.errors import InvalidParameter, NotFound
from service.formats import MEDIA_TYPES
from service.pipeline import build
from service.readback import ReadBack, read_back
from service.readback.diff import document_diff
from service.store import Rendered, Store, StoredDocument
from service.store.models import OutputInfo, WriteResult

MODES = ("strict", "best-effort")


def is_docx(request: web.Request) -> bool:
    """Whether the body is declared a DOCX (``Content-Type``)."""
    return request.content_type == MEDIA_TYPES["docx"]


def mode_param(request: web.Request) -> bool:
    """``?mode=best-effort`` (True) or ``strict``, the default."""
    mode = single_param(request, "mode") or "strict"
    if mode not in MODES:
        raise InvalidParameter(
            f"参数 mode 只能是 {' 或 '.join(MODES)}", details={"parameter": "mode", "value": mode}
        )
    return mode == "best-effort"


async def read_upload(
    request: web.Request, docx: bytes, base: StoredDocument, best_effort: bool
) -> ReadBack:
    """``docx`` read back against ``base``'s payload, in a thread."""
    store, settings = request.app[STORE], request.app[SETTINGS]
    allowed = request[PRINCIPAL].allowed_companies
    base_payload = await store.documents.read_payload(
        base.id, version=base.version.version, allowed_companies=allowed
    )
    return await asyncio.to_thread(
        read_back,
        docx,
        base_payload,
        best_effort=best_effort,
        max_unpacked=settings.max_docx_unpacked_bytes,
    )


Renderer = Callable[[web.Application, bytes], Awaitable[Rendered]]
Once = Callable[..., Awaitable[WriteResult]]


async def create_from_docx(request: web.Request, render: Renderer, once: Once) -> web.Response:
    """``POST /v1/documents/{id}/versions`` with a DOCX body (see the module's docstring);
    ``render`` renders a payload in the pool and ``once`` runs the store write once per
    ``Idempotency-Key``, as for a JSON body.

    A retry with the key reads the DOCX back again (against the version it now names: the
    payload read is the same) and answers the version first made, its diff against the version
    before it.
    """
    app, principal = request.app, request[PRINCIPAL]
    store, document_id = app[STORE], document_id_of(request)
    key = idempotency_key(request)
    allowed = principal.allowed_companies
    best_effort = mode_param(request)
    base_version = int_param(request, "base", None, 1, 10**9)
    docx = await read_body(request, app[SETTINGS].max_docx_bytes)
    base = await store.documents.get(document_id, version=base_version, allowed_companies=allowed)
    principal.check(base.company_id)
    result = await read_upload(request, docx, base, best_effort)
    filename = base.version.manifest.outputs["docx"].filename.removesuffix(".docx")

    async def render_and_store() -> WriteResult:
        with app[ADMISSION].ticket():
            rendered = await render(app, result.payload)
        return await store.documents.regenerate(
            document_id, result.payload, rendered, idempotency_key=key, scope=principal.scope,
            allowed_companies=allowed, created_by=principal.name,
            uploaded_docx=(docx, f"{filename}-修改稿.docx"),
        )  # fmt: skip

    stored = await once(
        request, key, f"docx\0{document_id}", docx,
        replay=lambda k: store.documents.find_regenerate_replay(
            principal.scope, k, document_id, result.payload
        ),
        work=render_and_store,
    )  # fmt: skip
    doc = stored.document
    diff, base_number = result.diff, base.version.version
    if stored.replayed:
        _, diff = await version_diff(store, document_id, doc.version.version, allowed)
        base_number = max(1, doc.version.version - 1)
    body = ApiRevision(
        document=ApiDocument.of(doc),
        base_version=base_number,
        diff=ApiDiff.model_validate(diff),
        warnings=[w.as_dict() for w in result.warnings],
    )
    return json_reply(
        body,
        status=200 if stored.replayed else 201,
        replayed=stored.replayed,
        location=f"/v1/documents/{doc.id}?version={doc.version.version}",
    )


async def get_payload(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/payload[?version=N]``: the payload as stored, byte for byte."""
    payload = await request.app[STORE].documents.read_payload(
        document_id_of(request),
        version=version_param(request),
        allowed_companies=request[PRINCIPAL].allowed_companies,
    )
    return web.Response(
        body=payload, content_type="application/json", headers={"Cache-Control": "private"}
    )


async def version_diff(
    store: Store, document_id: str, version: int | None, allowed: Collection[str] | None
) -> tuple[StoredDocument, dict[str, Any]]:
    """Version ``version`` (default the latest) and its diff against the version before it
    (empty for version 1), each built from its payload with today's templates (for the API
    and the console)."""
    doc = await store.documents.get(document_id, version=version, allowed_companies=allowed)
    number = doc.version.version
    if number == 1:
        return doc, {"sections": [], "sentences": [], "figures": [], "cells": []}
    after = await store.documents.read_payload(
        document_id, version=number, allowed_companies=allowed
    )
    before = await store.documents.read_payload(
        document_id, version=number - 1, allowed_companies=allowed
    )

    def diff() -> dict[str, Any]:
        return document_diff(build(before)[1], build(after)[1])

    return doc, await asyncio.to_thread(diff)


async def get_diff(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/diff[?version=N]``."""
    doc, diff = await version_diff(
        request.app[STORE],
        document_id_of(request),
        version_param(request),
        request[PRINCIPAL].allowed_companies,
    )
    return json_reply(
        ApiRevision(
            document=ApiDocument.of(doc),
            base_version=max(1, doc.version.version - 1),
            diff=ApiDiff.model_validate(diff),
            warnings=[],
        )
    )


Download = Callable[[web.Request, StoredDocument, OutputInfo, str], Awaitable[web.StreamResponse]]


async def download_uploaded(request: web.Request, download: Download) -> web.StreamResponse:
    """``GET /v1/documents/{id}/uploaded-docx[?version=N]``: the edited DOCX a version was
    read back from; 404 for a version made from JSON."""
    store = request.app[STORE]
    doc = await store.documents.get(
        document_id_of(request),
        version=version_param(request),
        allowed_companies=request[PRINCIPAL].allowed_companies,
    )
    info = doc.version.manifest.uploaded_docx
    if info is None:
        raise NotFound("该版本不是由上传的Word文档生成的", details={"version": doc.version.version})
    return await download(request, doc, info, "docx")
