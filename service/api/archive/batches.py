"""Batches over HTTP: ``POST /v1/batches`` records a batch durably and answers 202; the
background runner (:mod:`service.api.storage`) renders it on any node sharing the store; the
reads give the status with its items and the ZIP of its documents.

A batch naming a company the key may not use is refused whole at submit (``403 forbidden``).
"""

from __future__ import annotations

from aiohttp import web

from service.api.admission import Admission
from service.api.archive.params import (
    batch_id_of,
    idempotency_key,
    int_param,
    printable,
    single_param,
    states_param,
)
from service.api.archive.reply import json_reply, next_link
from service.api.archive.streaming import stream_reply
from service.api.body import read_body
from service.api.negotiation import content_disposition
from service.api.responses import ApiBatch, ApiBatchPage
from service.api.state import PRINCIPAL, SETTINGS, STORE
from service.errors import (
    BatchInvalid,
    Forbidden,
    InvalidParameter,
    UnsupportedMediaType,
    WebhookInvalid,
)
from service.formats import MEDIA_TYPES
from service.jobs import webhook
from service.jobs.archive import archive_filename, open_archive
from service.jobs.parse import ParsedBatch, parse_batch
from service.settings import Settings
from service.store.engine_sql import PRIORITIES
from service.store.models import Webhook

WEBHOOK_URL_HEADER = "X-Pilu-Webhook-Url"
WEBHOOK_SECRET_HEADER = "X-Pilu-Webhook-Secret"
NDJSON = "application/x-ndjson"
BATCH_MEDIA_TYPES = ("application/json", NDJSON)
BATCH_UPLOADS = 2
"""Batches (each up to ``max_batch_bytes``) parsed and recorded at once; the next gets 503."""

BATCH_ADMISSION = web.AppKey("batch_admission", Admission)


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
    priority = batch_priority(request)
    hook = await webhook_from(request, settings)
    data = await read_body(request, settings.max_batch_bytes)
    with app[BATCH_ADMISSION].ticket():
        parsed = parse_batch(data, max_items=settings.max_batch_items)
        is_array = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"["
        if is_array != (media == "application/json"):
            raise BatchInvalid(
                f"Content-Type {media} 与请求体不符："
                "application/json 须为数组，NDJSON 每行一个对象",
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
            parsed.items, webhook=hook, scope=principal.scope, idempotency_key=key,
            priority=priority,
        )  # fmt: skip
    status = 200 if created.replayed else 202
    return json_reply(
        ApiBatch.of(created.batch),
        status=status,
        replayed=created.replayed,
        location=f"/v1/batches/{created.batch.id}",
    )


def batch_priority(request: web.Request) -> str:
    """The ``priority`` query parameter: ``interactive`` (the default) or ``regeneration``
    (historical regeneration, rendered after every interactive batch waiting)."""
    value = single_param(request, "priority") or "interactive"
    if value not in PRIORITIES:
        raise InvalidParameter(
            "参数 priority 须为 interactive 或 regeneration",
            details={"parameter": "priority", "allowed": sorted(PRIORITIES)},
        )
    return value


async def list_batches(request: web.Request) -> web.Response:
    """``GET /v1/batches?cursor=&limit=``: the batches this key may see, newest first."""
    page = await request.app[STORE].batches.list(
        allowed_companies=request[PRINCIPAL].allowed_companies,
        limit=int_param(request, "limit", 50, 1, 200),
        cursor=single_param(request, "cursor") or None,
    )
    return json_reply(
        ApiBatchPage(
            items=[ApiBatch.of(b) for b in page.items],
            next_cursor=page.next_cursor,
            links={"next": next_link(request, cursor=page.next_cursor)},
        )
    )


async def get_batch(request: web.Request) -> web.Response:
    """``GET /v1/batches/{id}?state=&offset=&limit=``: progress and one page of items."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    batch_id = batch_id_of(request)
    states = states_param(request)
    offset = int_param(request, "offset", 0, 0, 10**9)
    limit = int_param(request, "limit", 100, 1, 1000)
    status = await store.batches.get(batch_id, allowed_companies=allowed)
    items = await store.batches.items(
        batch_id, allowed_companies=allowed, states=states, offset=offset, limit=limit + 1
    )
    next_offset = offset + limit if len(items) > limit else None
    return json_reply(
        ApiBatch.with_items(
            status,
            items[:limit],
            next_offset=next_offset,
            next_link=next_link(request, offset=next_offset),
        )
    )


async def batch_archive(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batches/{id}/archive``: the ZIP, streamed (one document in memory at a time)."""
    store, allowed = request.app[STORE], request[PRINCIPAL].allowed_companies
    batch_id = batch_id_of(request)
    status = await store.batches.get(batch_id, allowed_companies=allowed)
    chunks = await open_archive(store, batch_id, allowed_companies=allowed)
    return await stream_reply(
        request,
        chunks,
        {
            "Content-Type": MEDIA_TYPES["zip"],
            "Content-Disposition": content_disposition(
                archive_filename(batch_id), f"pilu-{batch_id}.zip"
            ),
            "Cache-Control": "private, no-store",
            "X-Pilu-Batch-State": status.state,
        },
        what=f"archive of {batch_id}",
    )


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
            f"{exc}，已拒绝{hint}", details={"url": printable(url_text)[:200]}
        ) from None
    return Webhook(url=str(url), secret=secret)


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
