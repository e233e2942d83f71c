"""Batches: upload NDJSON, a JSON array or a ZIP of payloads; follow the progress live
(server-sent events, with a JSON status for polling); download the archive; read why items failed.

Rendering is done by the service's batch runner (any runner sharing the store), not here.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Collection
from typing import Any

from aiohttp import web

from service.api.archive.params import checked_id
from service.api.negotiation import content_disposition
from service.api.state import POOL, SETTINGS
from service.console.common import check_csrf, session_of, store_of
from service.console.fields import label
from service.console.forms import FORM_OVERHEAD_BYTES, read_form
from service.console.pages import STATE_NAMES, Redirect, page, secure_headers
from service.console.uploads import MAX_BATCH_UPLOAD_BYTES, parse_upload
from service.errors import BatchInvalid, FieldError, InvalidCursor, MalformedJSON, PiluError
from service.formats import MEDIA_TYPES
from service.jobs.archive import archive_filename, open_archive
from service.payload.parse import decode_json
from service.store import BatchStatus, ItemStatus, Store
from service.store.drafts import BatchFiles

PAGE_SIZE = 20
ITEMS_SHOWN = 1000
"""Items listed on a batch page (and followed live); the archive always has all of them."""
FAILED_SHOWN = 200
"""Failed items whose errors are shown with field names (each needs its payload read)."""
EVENTS_POLL_S = 0.5
EVENTS_MAX_S = 1800.0
"""An event stream ends after this; the browser's EventSource reconnects by itself."""
HEARTBEAT_S = 15.0
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _upload_limit(request: web.Request) -> int:
    """The API's batch body limit (``max_batch_bytes``) where the settings have one."""
    return int(getattr(request.app[SETTINGS], "max_batch_bytes", MAX_BATCH_UPLOAD_BYTES))


async def index(request: web.Request) -> web.Response:
    """``GET /console/batches``: the upload form and the user's batches, newest first."""
    session_of(request)
    return await _index_page(request)


async def _index_page(
    request: web.Request,
    *,
    status: int = 200,
    problem: str | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> web.Response:
    session = session_of(request)
    store = store_of(request)
    cursor = request.query.get("cursor") or None
    page_number = int(request.query["page"]) if request.query.get("page", "").isdigit() else 1
    try:
        result = await store.batches.list(
            allowed_companies=session.allowed_companies, limit=PAGE_SIZE, cursor=cursor
        )
    except InvalidCursor:
        raise Redirect("/console/batches") from None
    files = await BatchFiles(store.db).of(b.id for b in result.items)
    return page(
        request,
        "batches.html",
        files=files,
        status=status,
        title="批量生成",
        nav="batches",
        batches=result.items,
        next_cursor=result.next_cursor,
        page_number=page_number,
        problem=problem,
        problems=problems or [],
        nonce=secrets.token_urlsafe(16),
        max_mib=_upload_limit(request) // 1024 // 1024,
    )


async def upload(request: web.Request) -> web.Response:
    """``POST /console/batches``: parse the file, check every company, create the batch."""
    session = session_of(request)
    data = await read_form(request, _upload_limit(request) + FORM_OVERHEAD_BYTES)
    check_csrf(session, data)
    store = store_of(request)
    file = data.file("file")
    if file is None:
        return await _index_page(request, status=422, problem="请选择一个批量文件。")
    try:
        settings = request.app[SETTINGS]
        parsed = parse_upload(
            file.filename,
            file.data,
            max_item_bytes=settings.max_body_bytes,
            max_items=settings.max_batch_items,
        )
    except BatchInvalid as exc:
        return await _index_page(request, status=422, problem=exc.message)
    problems = []
    for index, item in enumerate(parsed.items):
        errors = list(item.errors)
        if not errors and item.company_id and not session.principal.may_access(item.company_id):
            errors = [
                FieldError("$.company.id", "forbidden",
                           f"您的API密钥无权处理公司“{item.company_id}”的数据")
            ]  # fmt: skip
        if errors:
            problems.append(_problem(index, item.source, parsed.lines[index], item.raw, errors))
    if problems:
        return await _index_page(
            request,
            status=422,
            problem=f"文件中有{len(problems)}项无法加入批次，批次未创建。请修改后重新上传。",
            problems=problems,
        )
    nonce = data.get("nonce")
    created = await store.batches.create(
        parsed.items,
        scope=session.scope,
        idempotency_key=f"console:{nonce}" if _NONCE.fullmatch(nonce) else None,
    )
    await BatchFiles(store.db).record(
        created.batch.id, file.filename or "", session.principal.name or session.principal.scope
    )
    raise Redirect(f"/console/batches/{created.batch.id}")


def _problem(
    index: int, source: str, line: int | None, raw: bytes, errors: list[FieldError]
) -> dict[str, Any]:
    payload = _payload_or_none(raw)
    return {
        "index": index,
        "source": source,
        "where": f"第{line}行" if line is not None else source,
        "errors": [{"label": label(e.path, payload), "path": e.path, "message": e.message}
                   for e in errors],
    }  # fmt: skip


def _payload_or_none(raw: bytes) -> Any:
    try:
        return decode_json(raw) if raw else None
    except (MalformedJSON, PiluError):
        return None


async def _visible(request: web.Request) -> tuple[Store, str, Collection[str] | None, BatchStatus]:
    session = session_of(request)
    store = store_of(request)
    batch_id = checked_id(request.match_info["batch_id"], "batch")
    allowed = session.allowed_companies
    status = await store.batches.get(batch_id, allowed_companies=allowed)
    return store, batch_id, allowed, status


async def show(request: web.Request) -> web.Response:
    """``GET /console/batches/{id}``: progress, items, failed items with their errors."""
    store, batch_id, allowed, status = await _visible(request)
    items = await store.batches.items(batch_id, allowed_companies=allowed, limit=ITEMS_SHOWN)
    failed = [i for i in items if i.state == "failed"][:FAILED_SHOWN]
    explained = []
    for item in failed:
        payload = _payload_or_none(await store.batches.payload(batch_id, item.index))
        explained.append(
            {
                "item": item,
                "errors": [
                    {"label": label(e.path, payload), "path": e.path, "message": e.message}
                    for e in item.errors
                ],
            }
        )
    file = (await BatchFiles(store.db).of([batch_id])).get(batch_id)
    return page(
        request,
        "batch.html",
        file=file,
        title=f"批次 {batch_id}",
        nav="batches",
        batch=status,
        items=items,
        shown_all=len(items) >= status.total,
        failed=explained,
        percent=round(status.progress * 100),
    )


def _status_json(status: BatchStatus) -> dict[str, Any]:
    data = status.as_dict()
    data["state_name"] = STATE_NAMES.get(status.state, status.state)
    data["percent"] = round(status.progress * 100)
    return data


def _item_json(item: ItemStatus) -> dict[str, Any]:
    return {
        "index": item.index,
        "state": item.state,
        "state_name": STATE_NAMES.get(item.state, item.state),
        "document_id": item.document_id,
        "errors": len(item.errors),
    }


async def status(request: web.Request) -> web.Response:
    """``GET /console/batches/{id}/status``: the same as the event stream, once (for polling)."""
    store, batch_id, allowed, batch = await _visible(request)
    items = await store.batches.items(batch_id, allowed_companies=allowed, limit=ITEMS_SHOWN)
    return web.json_response(
        {"batch": _status_json(batch), "items": [_item_json(i) for i in items]},
        dumps=lambda o: json.dumps(o, ensure_ascii=False),
    )


def _stopping(request: web.Request) -> bool:
    """The service is shutting down (its pool takes no more work): end streams so the graceful
    stop need not wait for them; the browser reconnects to another node or after the restart."""
    pool = request.app.get(POOL)
    return pool is not None and not pool.stats().accepting


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /console/batches/{id}/events``: server-sent events ``status`` (counts), ``items``
    (items whose state changed) and, once, ``finished``; then the stream ends."""
    store, batch_id, allowed, _ = await _visible(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "X-Accel-Buffering": "no",
        }
    )
    secure_headers(response, html=False)
    await response.prepare(request)
    seen_status: dict[str, Any] | None = None
    seen_items: dict[int, tuple[str, str | None]] = {}
    started = last_write = time.monotonic()
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            batch = await store.batches.get(batch_id, allowed_companies=allowed)
            items = await store.batches.items(
                batch_id, allowed_companies=allowed, limit=ITEMS_SHOWN
            )
            changed = [
                _item_json(i) for i in items if seen_items.get(i.index) != (i.state, i.document_id)
            ]
            seen_items.update({i.index: (i.state, i.document_id) for i in items})
            current = _status_json(batch)
            chunks = []
            if changed:
                chunks.append(_event("items", changed))
            if current != seen_status:
                chunks.append(_event("status", current))
                seen_status = current
            if batch.state == "finished":
                chunks.append(_event("finished", current))
            now = time.monotonic()
            if not chunks and now - last_write > HEARTBEAT_S:
                chunks.append(b": keep-alive\n\n")
            if chunks:
                await response.write(b"".join(chunks))
                last_write = now
            if batch.state == "finished" or now - started > EVENTS_MAX_S or _stopping(request):
                break
            await asyncio.sleep(EVENTS_POLL_S)
    except (ConnectionError, PiluError):
        pass  # the browser went away, or the store failed: the stream simply ends
    return response


async def archive(request: web.Request) -> web.StreamResponse:
    """``GET /console/batches/{id}/archive``: the ZIP of every output and the manifests."""
    store, batch_id, allowed, _ = await _visible(request)
    chunks = await open_archive(store, batch_id, allowed_companies=allowed)
    response = web.StreamResponse(
        headers={
            "Content-Type": MEDIA_TYPES["zip"],
            "Content-Disposition": content_disposition(
                archive_filename(batch_id), f"pilu-batch-{batch_id}.zip"
            ),
        }
    )
    secure_headers(response, html=False)
    await response.prepare(request)
    async for chunk in chunks:
        if chunk:
            await response.write(chunk)
    await response.write_eof()
    return response
