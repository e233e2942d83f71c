"""Stored documents and batches over HTTP: thin handlers over :mod:`service.store` and
:mod:`service.jobs`.

Documents: ``POST /v1/documents`` renders both formats in the worker pool and stores payload,
outputs and manifest; ``POST /v1/documents/{id}/versions`` adds a version; reads list, describe
and download them. Batches: ``POST /v1/batches`` records a batch durably and answers 202; the
background runner (:mod:`service.api.storage`) renders it on any node sharing the store; reads
give the status with its items and the ZIP of its documents.

Access follows the API key: the store filters by the key's companies in its queries, so another
company's document or batch is ``404 not_found`` exactly like one that does not exist. A batch
naming a company the key may not use is refused whole at submit (``403 forbidden``).

``Idempotency-Key`` (on every POST here) lives in the key's own scope: a retry with the same key
and the same request answers the first result (200, ``Idempotent-Replayed: true``) without
rendering again; the same key with another request is ``409 idempotency_conflict``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from aiohttp import web

from service.api.admission import Admission
from service.api.body import read_body
from service.api.middleware import json_dumps
from service.api.negotiation import MEDIA_TYPES, ascii_filename, content_disposition
from service.api.state import ADMISSION, BACKEND, METRICS, POOL, PRINCIPAL, SETTINGS, STORE
from service.errors import (
    BatchInvalid,
    DocumentMismatch,
    FieldError,
    Forbidden,
    InvalidParameter,
    NotFound,
    PayloadInvalid,
    PiluError,
    UnsupportedMediaType,
    WebhookInvalid,
)
from service.jobs import ParsedBatch, archive_filename, open_archive, parse_batch, webhook
from service.settings import Settings
from service.store import BatchStatus, DocumentVersion, ItemStatus, Rendered, StoredDocument
from service.store.models import Webhook

log = logging.getLogger("pilu.api.archive")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WEBHOOK_URL_HEADER = "X-Pilu-Webhook-Url"
WEBHOOK_SECRET_HEADER = "X-Pilu-Webhook-Secret"
NDJSON = "application/x-ndjson"
BATCH_MEDIA_TYPES = ("application/json", NDJSON)
ITEM_STATES = ("pending", "running", "done", "failed")
RENDER_LABEL = "pdf+docx"
"""The ``format`` label of renders for stored documents (both formats in one task)."""
BATCH_UPLOADS = 2
"""Batch bodies (each up to ``max_batch_bytes``) read at once; the next gets 503."""

BATCH_ADMISSION = web.AppKey("batch_admission", Admission)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a document or batch id can be (the store makes ``doc_`` or ``bat_`` + 20 hex digits).
Anything else is answered ``404`` before the store is asked: a NUL or a lone surrogate would
make some databases fail, and a long id would be echoed back."""
MAX_FILTER_CHARS = 200
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def add_routes(app: web.Application) -> None:
    app[BATCH_ADMISSION] = Admission(BATCH_UPLOADS, app[SETTINGS].retry_after_s)
    router = app.router
    router.add_post("/v1/documents", create_document, name="create_document")
    router.add_get("/v1/documents", list_documents, name="list_documents")
    router.add_get("/v1/documents/{id}", get_document, name="get_document")
    router.add_get("/v1/documents/{id}/versions", list_versions, name="list_document_versions")
    router.add_post("/v1/documents/{id}/versions", regenerate, name="create_document_version")
    router.add_get("/v1/documents/{id}/pdf", download_pdf, name="download_document_pdf")
    router.add_get("/v1/documents/{id}/docx", download_docx, name="download_document_docx")
    router.add_post("/v1/batches", create_batch, name="create_batch")
    router.add_get("/v1/batches", list_batches, name="list_batches")
    router.add_get("/v1/batches/{id}", get_batch, name="get_batch")
    router.add_get("/v1/batches/{id}/archive", batch_archive, name="download_batch_archive")


# --- documents ------------------------------------------------------------------------------


async def create_document(request: web.Request) -> web.Response:
    """``POST /v1/documents``: render both formats, store them; 201 (200 on a replay)."""
    app, principal = request.app, request[PRINCIPAL]
    store, key = app[STORE], idempotency_key(request)
    with app[ADMISSION].ticket():
        raw = await read_body(request, app[SETTINGS].max_body_bytes)
        principal.check(app[BACKEND].company_id(raw))
        if key is not None:
            earlier = await store.documents.find_replay(principal.scope, key, raw)
            if earlier is not None:
                return _document_response(earlier, replayed=True)
        rendered = await _render(app, raw)
    result = await store.documents.create(raw, rendered, idempotency_key=key, scope=principal.scope)
    return _document_response(result.document, replayed=result.replayed)


async def regenerate(request: web.Request) -> web.Response:
    """``POST /v1/documents/{id}/versions``: version N+1 from a new payload, or without a body
    from the stored one with today's templates; earlier versions stay."""
    app, principal = request.app, request[PRINCIPAL]
    store, key, document_id = app[STORE], idempotency_key(request), document_id_of(request)
    allowed = principal.allowed_companies
    with app[ADMISSION].ticket():
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
        if key is not None:
            earlier = await store.documents.find_regenerate_replay(
                principal.scope, key, document_id, raw
            )
            if earlier is not None:
                return _document_response(earlier, replayed=True)
        rendered = await _render(app, raw)
    result = await store.documents.regenerate(
        document_id,
        raw,
        rendered,
        idempotency_key=key,
        scope=principal.scope,
        allowed_companies=allowed,
    )
    return _document_response(result.document, replayed=result.replayed)


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
    items = [{**d.as_dict(), "links": {"self": f"/v1/documents/{d.id}"}} for d in page.items]
    return _json(
        {
            "items": items,
            "next_cursor": page.next_cursor,
            "links": {"next": _next_link(request, cursor=page.next_cursor)},
        }
    )


async def get_document(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}[?version=N]``: metadata, that version's manifest, all versions."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    document_id = document_id_of(request)
    doc = await store.documents.get(
        document_id, version=version_param(request), allowed_companies=allowed
    )
    versions = await store.documents.versions(document_id, allowed_companies=allowed)
    return _json(document_body(doc, versions))


async def list_versions(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/versions``: every version, oldest first, with its manifest."""
    document_id = document_id_of(request)
    versions = await request.app[STORE].documents.versions(
        document_id, allowed_companies=request[PRINCIPAL].allowed_companies
    )
    return _json({"document_id": document_id, "versions": [version_body(v) for v in versions]})


async def download_pdf(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/pdf[?version=N]``."""
    return await _download(request, "pdf")


async def download_docx(request: web.Request) -> web.Response:
    """``GET /v1/documents/{id}/docx[?version=N]``."""
    return await _download(request, "docx")


async def _download(request: web.Request, fmt: str) -> web.Response:
    """One output, named in Chinese (RFC 6266/8187), ``ETag`` its SHA-256; 304 on a match."""
    store = request.app[STORE]
    doc = await store.documents.get(
        document_id_of(request),
        version=version_param(request),
        allowed_companies=request[PRINCIPAL].allowed_companies,
    )
    info = doc.version.manifest.outputs.get(fmt)
    if info is None:  # pragma: no cover - every stored version has both formats today
        raise InvalidParameter("文档没有该格式", details={"parameter": "format", "format": fmt})
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
    data = await store.artifacts.get(info.sha256)
    return web.Response(body=data, headers={**headers, "Content-Type": MEDIA_TYPES[fmt]})


# --- batches --------------------------------------------------------------------------------


async def create_batch(request: web.Request) -> web.Response:
    """``POST /v1/batches``: a JSON array or NDJSON of payloads; 202 once durably recorded."""
    app, principal, settings = request.app, request[PRINCIPAL], request.app[SETTINGS]
    media = request.content_type
    if media not in BATCH_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"批次须为 application/json（数组）或 {NDJSON}，收到 {media[:60]}",
            details={"supported": list(BATCH_MEDIA_TYPES)},
        )
    key = idempotency_key(request)
    hook = await webhook_from(request, settings)
    with app[BATCH_ADMISSION].ticket():
        data = await read_body(request, settings.max_batch_bytes)
        parsed = parse_batch(data, max_items=settings.max_batch_items)
        is_array = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"["
        if is_array != (media == "application/json"):
            raise BatchInvalid(
                f"Content-Type {media} 与请求体不符：application/json 须为数组，NDJSON 每行一个对象",
                details=[],
            )
        forbidden = sorted(
            {
                i.company_id
                for i in parsed.items
                if i.company_id and not principal.may_access(i.company_id)
            }
        )
        if forbidden:
            raise Forbidden(
                "此API密钥无权处理批次中的公司",
                details={"company_id": forbidden[0], "companies": forbidden},
            )
        parsed.raise_for_problems()
        _check_item_sizes(parsed, settings.max_body_bytes)
        created = await app[STORE].batches.create(
            parsed.items, webhook=hook, scope=principal.scope, idempotency_key=key
        )
    status = 200 if created.replayed else 202
    return _json(
        batch_body(created.batch),
        status=status,
        replayed=created.replayed,
        location=f"/v1/batches/{created.batch.id}",
    )


async def list_batches(request: web.Request) -> web.Response:
    """``GET /v1/batches?cursor=&limit=``: the batches this key may see, newest first."""
    page = await request.app[STORE].batches.list(
        allowed_companies=request[PRINCIPAL].allowed_companies,
        limit=int_param(request, "limit", 50, 1, 200),
        cursor=single_param(request, "cursor") or None,
    )
    return _json(
        {
            "items": [batch_body(b) for b in page.items],
            "next_cursor": page.next_cursor,
            "links": {"next": _next_link(request, cursor=page.next_cursor)},
        }
    )


async def get_batch(request: web.Request) -> web.Response:
    """``GET /v1/batches/{id}?state=&offset=&limit=``: progress and one page of items."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    batch_id = batch_id_of(request)
    states = _states_param(request)
    offset = int_param(request, "offset", 0, 0, 10**9)
    limit = int_param(request, "limit", 100, 1, 1000)
    status = await store.batches.get(batch_id, allowed_companies=allowed)
    items = await store.batches.items(
        batch_id, allowed_companies=allowed, states=states, offset=offset, limit=limit + 1
    )
    more = len(items) > limit
    body = batch_body(status)
    body["items"] = [item_body(i) for i in items[:limit]]
    body["next_offset"] = offset + limit if more else None
    body["links"]["next"] = _next_link(request, offset=offset + limit if more else None)
    return _json(body)


async def batch_archive(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batches/{id}/archive``: the ZIP, streamed (one document in memory at a time)."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    batch_id = batch_id_of(request)
    status = await store.batches.get(batch_id, allowed_companies=allowed)
    chunks = await open_archive(store, batch_id, allowed_companies=allowed)
    response = web.StreamResponse(
        headers={
            "Content-Type": MEDIA_TYPES["zip"],
            "Content-Disposition": content_disposition(
                archive_filename(batch_id), f"pilu-{batch_id}.zip"
            ),
            "Cache-Control": "private, no-store",
            "X-Pilu-Batch-State": status.state,
        }
    )
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    try:
        async for chunk in chunks:
            await response.write(chunk)
    except Exception:
        # Headers are sent: no error body is possible. Drop the connection so the client sees
        # a cut transfer, never a short ZIP that looks complete.
        log.exception("archive of %s cut short", batch_id)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


# --- bodies ---------------------------------------------------------------------------------


def document_links(document_id: str, version: int, formats: Any) -> dict[str, str]:
    base = f"/v1/documents/{document_id}"
    links = {"self": base, "versions": f"{base}/versions"}
    links.update({fmt: f"{base}/{fmt}?version={version}" for fmt in formats})
    return links


def document_body(
    doc: StoredDocument, versions: list[DocumentVersion] | None = None
) -> dict[str, Any]:
    body = doc.as_dict()
    body["links"] = document_links(doc.id, doc.version.version, doc.version.manifest.outputs)
    if versions is not None:
        body["versions"] = [version_body(v) for v in versions]
    return body


def version_body(version: DocumentVersion) -> dict[str, Any]:
    base = f"/v1/documents/{version.document_id}"
    return {
        "version": version.version,
        "created_at": version.created_at.isoformat(),
        "manifest": version.manifest.as_dict(),
        "links": {f: f"{base}/{f}?version={version.version}" for f in version.manifest.outputs},
    }


def batch_body(status: BatchStatus) -> dict[str, Any]:
    base = f"/v1/batches/{status.id}"
    return {**status.as_dict(), "links": {"self": base, "archive": f"{base}/archive"}}


def item_body(item: ItemStatus) -> dict[str, Any]:
    body = item.as_dict()
    if item.document_id is not None and item.version is not None:
        body["links"] = document_links(item.document_id, item.version, ("pdf", "docx"))
    return body


def _document_response(doc: StoredDocument, *, replayed: bool) -> web.Response:
    return _json(
        document_body(doc),
        status=200 if replayed else 201,
        replayed=replayed,
        location=f"/v1/documents/{doc.id}?version={doc.version.version}",
    )


def _json(
    body: Any, *, status: int = 200, replayed: bool = False, location: str | None = None
) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if location is not None:
        headers["Location"] = location
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return web.json_response(body, status=status, headers=headers, dumps=json_dumps)


def _next_link(request: web.Request, **query: Any) -> str | None:
    if any(v is None for v in query.values()):
        return None
    return str(request.rel_url.update_query({k: str(v) for k, v in query.items()}))


# --- rendering ------------------------------------------------------------------------------


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


# --- parameters -----------------------------------------------------------------------------


def idempotency_key(request: web.Request) -> str | None:
    """``Idempotency-Key``: 1–255 visible ASCII characters, or absent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in key)):
        raise InvalidParameter(
            "Idempotency-Key 须为1–255个可见ASCII字符", details={"parameter": IDEMPOTENCY_HEADER}
        )
    return key


def single_param(request: web.Request, name: str) -> str | None:
    """The query parameter ``name``, or ``None``; given more than once it is refused, since which
    of the values counts would be a guess."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidParameter(
            f"参数 {name} 只能出现一次", details={"parameter": name, "count": len(values)}
        )
    return values[0] if values else None


def int_param(request: web.Request, name: str, default: int | None, lo: int, hi: int) -> Any:
    text = single_param(request, name)
    if text is None:
        return default
    # ASCII digits only (an empty value is none): int() would also take " 1", "+1", "1_0" and other scripts' digits
    value = int(text) if _INTEGER.fullmatch(text) else lo - 1
    if not lo <= value <= hi:
        raise InvalidParameter(
            f"参数 {name} 须为 {lo}–{hi} 之间的整数",
            details={"parameter": name, "min": lo, "max": hi},
        )
    return value


def checked_id(text: str, kind: str) -> str:
    """``text`` if it can be a document or batch id (``kind``: ``document``, ``batch``), else
    ``NotFound`` exactly as for an id that does not exist."""
    if _ID.fullmatch(text):
        return text
    message = "文档不存在" if kind == "document" else "批次不存在"
    raise NotFound(message, details={f"{kind}_id": _printable(text[:64])})


def document_id_of(request: web.Request) -> str:
    return checked_id(request.match_info["id"], "document")


def batch_id_of(request: web.Request) -> str:
    return checked_id(request.match_info["id"], "batch")


def text_param(request: web.Request, name: str) -> str | None:
    """A free-text filter (``company``, ``kind``): at most 200 printable characters, or absent."""
    text = single_param(request, name)
    if not text:
        return None
    if len(text) > MAX_FILTER_CHARS or not text.isprintable():
        raise InvalidParameter(
            f"参数 {name} 须为不超过{MAX_FILTER_CHARS}个可打印字符",
            details={"parameter": name},
        )
    return text


def version_param(request: web.Request) -> int | None:
    value: int | None = int_param(request, "version", None, 1, 10**9)
    return value


def _states_param(request: web.Request) -> list[str] | None:
    text = single_param(request, "state")
    if not text:
        return None
    states = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in states if s not in ITEM_STATES]
    if unknown or not states:
        raise InvalidParameter(
            f"参数 state 须为 {', '.join(ITEM_STATES)} 之一或以逗号分隔的组合",
            details={"parameter": "state", "allowed": list(ITEM_STATES)},
        )
    return states


def etag_matches(header: str | None, sha256: str) -> bool:
    """``If-None-Match`` (weak comparison, RFC 9110 §13.1.2) against our ETag."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


async def webhook_from(request: web.Request, settings: Settings) -> Webhook | None:
    """The batch's webhook from ``X-Pilu-Webhook-Url`` and ``X-Pilu-Webhook-Secret``: an
    http(s) URL without credentials whose host is public (unless ``webhook_allow_private``)
    and a 16–256 character secret. Delivery checks the address again (DNS rebinding)."""
    headers = request.headers
    if WEBHOOK_URL_HEADER not in headers:
        if WEBHOOK_SECRET_HEADER in headers:
            raise WebhookInvalid(f"有 {WEBHOOK_SECRET_HEADER} 却没有 {WEBHOOK_URL_HEADER}")
        return None
    # Present but empty is refused, not read as "no webhook": an unset shell variable in
    # `-H "X-Pilu-Webhook-Url: $URL"` would otherwise drop the webhook silently.
    url_text = headers[WEBHOOK_URL_HEADER].strip()
    secret = headers.get(WEBHOOK_SECRET_HEADER, "")
    if not url_text:
        raise WebhookInvalid(f"{WEBHOOK_URL_HEADER} 为空")
    if not 16 <= len(secret) <= 256:
        raise WebhookInvalid(f"{WEBHOOK_SECRET_HEADER} 须为16–256个字符，用于签名")
    try:
        url = await webhook.check_url(url_text, allow_private=settings.webhook_allow_private)
    except webhook.Refused as exc:
        hint = "" if settings.webhook_allow_private else "（见 PILU_WEBHOOK_ALLOW_PRIVATE）"
        raise WebhookInvalid(
            f"{exc}，已拒绝{hint}", details={"url": _printable(url_text)[:200]}
        ) from None
    return Webhook(url=str(url), secret=secret)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _check_item_sizes(parsed: ParsedBatch, limit: int) -> None:
    problems = [
        {
            "index": index,
            "line": parsed.lines[index],
            "source": item.source,
            "errors": [
                {
                    "path": "$",
                    "code": "payload_too_large",
                    "message": f"单份报送数据超过上限 {limit} 字节",
                }
            ],
        }
        for index, item in enumerate(parsed.items)
        if len(item.raw) > limit
    ]
    if problems:
        raise BatchInvalid(f"批次中有{len(problems)}项超过单份上限", details=problems)
