"""Request handlers: parse, check, submit to a worker, respond. No rendering happens here."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

from service.api.body import read_body
from service.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from service.api.middleware import json_dumps
from service.api.negotiation import ascii_filename, choose_format, content_disposition
from service.api.responses import ApiStatus
from service.api.state import (
    ADMISSION,
    BACKEND,
    DOCS_HTML,
    METRICS,
    OPENAPI,
    PAYLOAD_SCHEMA,
    POOL,
    PRINCIPAL,
    SETTINGS,
    STORE,
)
from service.errors import InvalidParameter, NotReady, PiluError
from service.formats import MEDIA_TYPES
from service.style import PDF_VARIANTS
from service.ziparchive import deterministic_zip

log = logging.getLogger("pilu.api")

ZIP = "zip"
"""The output format holding every document format of the backend."""


async def render(request: web.Request) -> web.Response:
    """``POST /v1/render``: the payload as PDF, DOCX or a ZIP of both."""
    app = request.app
    settings, backend = app[SETTINGS], app[BACKEND]
    fmt = choose_format(request.query.get("format"), request.headers.get("Accept"), backend.formats)
    variant = pdf_variant(request)
    raw = await read_body(request, settings.max_body_bytes)
    company = backend.company_id(raw)
    request[PRINCIPAL].check(company)
    with app[ADMISSION].ticket():
        started = time.perf_counter()
        try:
            content, filename = await _render_output(app, raw, fmt, variant)
        except PiluError as exc:
            app[METRICS].renders.labels(fmt, exc.code).inc()
            raise
    app[METRICS].renders.labels(fmt, "ok").inc()
    app[METRICS].render_seconds.labels(fmt).observe(time.perf_counter() - started)
    disposition = content_disposition(filename, ascii_filename(filename, company))
    return web.Response(
        body=content,
        headers={
            "Content-Type": MEDIA_TYPES[fmt],
            "Content-Disposition": disposition,
            "Cache-Control": "no-store",
            "Vary": "Accept",
        },
    )


def pdf_variant(request: web.Request) -> str | None:
    """``?pdf=``: ``pdf/a-3b`` or ``plain``, ``None`` when absent (the house style decides)."""
    value = request.query.get("pdf")
    if value is None or value in PDF_VARIANTS:
        return value
    raise InvalidParameter(
        f"参数 pdf 须为 {' 或 '.join(PDF_VARIANTS)}",
        details={"parameter": "pdf", "allowed": list(PDF_VARIANTS)},
    )


async def _render_output(
    app: web.Application, raw: bytes, fmt: str, variant: str | None
) -> tuple[bytes, str]:
    """The document in ``fmt`` (a PDF of ``variant``) and its file name. A ZIP's members are
    rendered by separate workers side by side (the pair takes as long as its slower member, not
    the sum) and packed here, named after the first member with ``.zip``."""
    backend, pool, timeout = app[BACKEND], app[POOL], app[SETTINGS].render_timeout_s
    if fmt != ZIP:
        return await pool.run(backend.render, raw, fmt, variant, timeout=timeout)
    members = [f for f in backend.formats if f != ZIP]
    outputs = await _all_or_none(
        [pool.run(backend.render, raw, f, variant, timeout=timeout) for f in members]
    )
    first_name = outputs[0][1]
    zip_name = str(PurePosixPath(first_name).with_suffix(".zip"))
    return deterministic_zip({name: content for content, name in outputs}), zip_name


async def _all_or_none(calls: list[Any]) -> list[Any]:
    """Await ``calls`` together; when one fails, cancel the others and raise its error."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def validate(request: web.Request) -> web.Response:
    """``POST /v1/validate``: every problem (422) or what would be printed (200)."""
    app = request.app
    settings, backend = app[SETTINGS], app[BACKEND]
    raw = await read_body(request, settings.max_body_bytes)
    request[PRINCIPAL].check(backend.company_id(raw))
    with app[ADMISSION].ticket():
        preview = await app[POOL].run(backend.preview, raw, timeout=settings.render_timeout_s)
    return web.json_response(preview, dumps=json_dumps, headers={"Cache-Control": "no-store"})


async def schema(request: web.Request) -> web.Response:
    """``GET /v1/schema``: the payload's JSON Schema."""
    return web.json_response(
        request.app[PAYLOAD_SCHEMA], dumps=json_dumps, content_type="application/schema+json"
    )


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the process answers. Touches nothing that can block."""
    return web.json_response(ApiStatus(status="ok").body())


async def readyz(request: web.Request) -> web.Response:
    """``GET /readyz``: 200 when at least one worker is warm and the service takes work."""
    stats = request.app[POOL].stats() if POOL in request.app else None
    if stats is None or not stats.accepting or (stats.size > 0 and stats.warm == 0):
        raise NotReady("渲染进程尚未就绪", details=stats.as_dict() if stats else None)
    return web.json_response(ApiStatus.ready(stats).body())


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format. Batch items and jobs by state are counted in
    the store now (a grouped query each); a store that does not answer leaves the last counts."""
    app = request.app
    if STORE in app:
        try:
            app[METRICS].count_batch_items(await app[STORE].batches.count_items_by_state())
            app[METRICS].count_jobs(await app[STORE].batches.count_jobs())
        except Exception:  # noqa: BLE001 - the rest of the metrics matter more
            log.warning("batch items not counted for /metrics", exc_info=True)
    response = web.Response(body=app[METRICS].exposition())
    response.headers["Content-Type"] = METRICS_CONTENT_TYPE
    return response


async def openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: OpenAPI 3.1 description of every endpoint."""
    return web.json_response(request.app[OPENAPI], dumps=json_dumps)


async def docs(request: web.Request) -> web.Response:
    """``GET /docs``: the API reference as one self-contained HTML page."""
    return web.Response(text=request.app[DOCS_HTML], content_type="text/html", charset="utf-8")
