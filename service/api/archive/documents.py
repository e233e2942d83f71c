"""Stored documents over HTTP: ``POST /v1/documents`` renders both formats in the worker pool
and stores payload, outputs and manifest; ``POST /v1/documents/{id}/versions`` adds a version;
the reads list, describe and download them."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from service.api.archive import revisions
from service.api.archive.params import (
    document_id_of,
    etag_matches,
    idempotency_key,
    int_param,
    single_param,
    text_param,
    version_param,
)
from service.api.archive.reply import json_reply, next_link
from service.api.archive.streaming import stream_reply
from service.api.body import read_body
from service.api.negotiation import ascii_filename, content_disposition
from service.api.responses import (
    ApiDocument,
    ApiDocumentPage,
    ApiDocumentSummary,
    ApiDocumentVersion,
    ApiDocumentVersions,
)
from service.api.state import ADMISSION, BACKEND, METRICS, POOL, PRINCIPAL, SETTINGS, STORE
from service.errors import DocumentMismatch, FieldError, InvalidParameter, PayloadInvalid, PiluError
from service.formats import MEDIA_TYPES
from service.store import Rendered, StoredDocument
from service.store.models import OutputInfo, WriteResult, sha256_hex

RENDER_LABEL = "pdf+docx"
"""The ``format`` label of renders for stored documents (both formats in one task)."""


async def create_document(request: web.Request) -> web.Response:
    """``POST /v1/documents``: render both formats, store them; 201 (200 on a replay)."""
    app, principal = request.app, request[PRINCIPAL]
    store, key = app[STORE], idempotency_key(request)
    raw = await read_body(request, app[SETTINGS].max_body_bytes)
    principal.check(app[BACKEND].company_id(raw))

    async def render_and_store() -> WriteResult:
        with app[ADMISSION].ticket():
            rendered = await _render(app, raw)
        return await store.documents.create(
            raw, rendered, idempotency_key=key, scope=principal.scope,
            created_by=principal.name, by_identity=True,
        )  # fmt: skip

    result = await _once(
        request, key, "create", raw,
        replay=lambda k: store.documents.find_replay(principal.scope, k, raw),
        work=render_and_store,
    )  # fmt: skip
    return _document_reply(result.document, replayed=result.replayed)


async def regenerate(request: web.Request) -> web.Response:
    """``POST /v1/documents/{id}/versions``: version N+1 from a new payload, or without a body
    from the stored one with today's templates; earlier versions stay. A DOCX body is an
    edited document read back (:mod:`.revisions`)."""
    if revisions.is_docx(request):
        return await revisions.create_from_docx(request, _render, _once)
    app, principal = request.app, request[PRINCIPAL]
    store, key, document_id = app[STORE], idempotency_key(request), document_id_of(request)
    allowed = principal.allowed_companies
    raw = await read_body(request, app[SETTINGS].max_body_bytes)
    current = await store.documents.get(document_id, allowed_companies=allowed)
    if raw.strip():
        company = app[BACKEND].company_id(raw)
        principal.check(company)
        if company != current.company_id:
            raise DocumentMismatch(
                "新报送数据与原文档的公司不一致",
                details={"document": current.company_id, "payload": company},
            )
    else:
        raw = await store.documents.read_payload(document_id, allowed_companies=allowed)

    async def render_and_store() -> WriteResult:
        with app[ADMISSION].ticket():
            rendered = await _render(app, raw)
        return await store.documents.regenerate(
            document_id, raw, rendered, idempotency_key=key, scope=principal.scope,
            allowed_companies=allowed, created_by=principal.name,
        )  # fmt: skip

    result = await _once(
        request, key, f"regenerate\0{document_id}", raw,
        replay=lambda k: store.documents.find_regenerate_replay(
            principal.scope, k, document_id, raw
        ),
        work=render_and_store,
    )  # fmt: skip
    return _document_reply(result.document, replayed=result.replayed)


async def list_documents(request: web.Request) -> web.Response:
    """``GET /v1/documents?company=&year=&kind=&cursor=&limit=``: newest first, paged."""
    page = await request.app[STORE].documents.list(
        company_id=text_param(request, "company"),
        report_year=int_param(request, "year", None, 1900, 2200),
        kind=text_param(request, "kind"),
        allowed_companies=request[PRINCIPAL].allowed_companies,
        limit=int_param(request, "limit", 50, 1, 200),
        cursor=single_param(request, "cursor") or None,
    )
    return json_reply(
        ApiDocumentPage(
            items=[ApiDocumentSummary.of(d) for d in page.items],
            next_cursor=page.next_cursor,
            links={"next": next_link(request, cursor=page.next_cursor)},
        )
    )


async def get_document(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}[?version=N]``: metadata, that version's manifest, all versions."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    document_id = document_id_of(request)
    doc = await store.documents.get(
        document_id, version=version_param(request), allowed_companies=allowed
    )
    versions = await store.documents.versions(document_id, allowed_companies=allowed)
    return json_reply(ApiDocument.of(doc, versions))


async def list_versions(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/versions``: every version, oldest first, with its manifest."""
    document_id = document_id_of(request)
    versions = await request.app[STORE].documents.versions(
        document_id, allowed_companies=request[PRINCIPAL].allowed_companies
    )
    return json_reply(
        ApiDocumentVersions(
            document_id=document_id, versions=[ApiDocumentVersion.of(v) for v in versions]
        )
    )


async def download_pdf(request: web.Request) -> web.StreamResponse:
    """``GET /v1/documents/{id}/pdf[?version=N]``."""
    return await _download(request, "pdf")


async def download_docx(request: web.Request) -> web.StreamResponse:
    """``GET /v1/documents/{id}/docx[?version=N]``."""
    return await _download(request, "docx")


async def _download(request: web.Request, fmt: str) -> web.StreamResponse:
    """One output, named in Chinese (RFC 6266/8187), ``ETag`` its SHA-256; 304 on a match;
    streamed from the store in chunks (:mod:`.streaming`)."""
    store = request.app[STORE]
    doc = await store.documents.get(
        document_id_of(request),
        version=version_param(request),
        allowed_companies=request[PRINCIPAL].allowed_companies,
    )
    info = doc.version.manifest.outputs.get(fmt)
    if info is None:  # pragma: no cover - every stored version has both formats today
        raise InvalidParameter("文档没有该格式", details={"parameter": "format", "format": fmt})
    return await download_info(request, doc, info, fmt)


async def download_uploaded(request: web.Request) -> web.StreamResponse:
    """``GET /v1/documents/{id}/uploaded-docx[?version=N]`` (:mod:`.revisions`)."""
    return await revisions.download_uploaded(request, download_info)


async def download_info(
    request: web.Request, doc: StoredDocument, info: OutputInfo, fmt: str
) -> web.StreamResponse:
    """The stored file ``info`` of ``doc`` as a download in format ``fmt``."""
    store = request.app[STORE]
    headers = {
        "ETag": f'"{info.sha256}"',
        "Content-Disposition": content_disposition(
            info.filename, ascii_filename(info.filename, doc.company_id)
        ),
        "Cache-Control": "private, no-cache",
        "X-Pilu-Document-Version": str(doc.version.version),
    }
    if etag_matches(request.headers.get("If-None-Match"), info.sha256):
        return web.Response(status=304, headers=headers)
    return await stream_reply(
        request,
        store.documents.stream_output(info),
        {**headers, "Content-Type": MEDIA_TYPES[fmt]},
        size=info.size,
        what=f"{fmt} of {doc.id} v{doc.version.version}",
    )


def _document_reply(doc: StoredDocument, *, replayed: bool) -> web.Response:
    """A document made (201) or, for a replay, made before (200)."""
    return json_reply(
        ApiDocument.of(doc),
        status=200 if replayed else 201,
        replayed=replayed,
        location=f"/v1/documents/{doc.id}?version={doc.version.version}",
    )


async def _once(
    request: web.Request,
    key: str | None,
    what: str,
    raw: bytes,
    *,
    replay: Callable[[str], Awaitable[StoredDocument | None]],
    work: Callable[[], Awaitable[WriteResult]],
) -> WriteResult:
    """``work()`` once per ``Idempotency-Key``: concurrent requests with the key wait for the
    first and replay its document (:mod:`service.store.claims`)."""
    if key is None:
        return await work()

    async def stored() -> WriteResult | None:
        earlier = await replay(key)
        return None if earlier is None else WriteResult(earlier, replayed=True)

    settings = request.app[SETTINGS]
    result, _ = await request.app[STORE].documents.claims.once(
        request[PRINCIPAL].scope, key, sha256_hex(what.encode() + b"\0" + raw),
        replay=stored, work=work,
        # a holder silent this long died mid-request: a render, its queue and the store write
        stale_after_s=2 * settings.render_timeout_s + 30,
    )  # fmt: skip
    return result


async def _render(app: web.Application, raw: bytes) -> Rendered:
    """Both formats in a worker, with the facts of the manifest; payload problems raise."""
    settings, metrics = app[SETTINGS], app[METRICS]
    started = time.perf_counter()
    try:
        outcome = await app[POOL].run(
            app[BACKEND].item_renderer(), raw, timeout=settings.render_timeout_s
        )
        if outcome.rendered is None:
            raise error_of(outcome.errors)
    except PiluError as exc:
        metrics.renders.labels(RENDER_LABEL, exc.code).inc()
        raise
    metrics.renders.labels(RENDER_LABEL, "ok").inc()
    metrics.render_seconds.labels(RENDER_LABEL).observe(time.perf_counter() - started)
    rendered: Rendered = outcome.rendered
    return rendered


def error_of(errors: tuple[FieldError, ...]) -> PiluError:
    """The error a render outcome stands for: its own class when it is one whole-payload error
    with a known code (``unknown_template``, ``render_failed``…), else ``payload_invalid``."""
    if len(errors) == 1 and errors[0].path == "$":
        cls = _error_classes().get(errors[0].code)
        if cls is not None and cls is not PayloadInvalid:
            return cls(errors[0].message)
    return PayloadInvalid(list(errors))


def _error_classes() -> dict[str, type[PiluError]]:
    found: dict[str, type[PiluError]] = {}
    stack = list(PiluError.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        found.setdefault(cls.code, cls)
    return found
