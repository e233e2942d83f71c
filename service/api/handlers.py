"""Request handlers: parse, check, submit to a worker, respond. No rendering happens here."""

from __future__ import annotations

import time

from aiohttp import web

from service.api.body import read_body
from service.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from service.api.middleware import json_dumps
from service.api.negotiation import MEDIA_TYPES, ascii_filename, choose_format, content_disposition
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
)
from service.errors import NotReady, PiluError


async def render(request: web.Request) -> web.Response:
    """``POST /v1/render``: the payload as PDF, DOCX or a ZIP of both."""
    app = request.app
    settings, backend = app[SETTINGS], app[BACKEND]
    fmt = choose_format(request.query.get("format"), request.headers.get("Accept"), backend.formats)
    with app[ADMISSION].ticket():
        raw = await read_body(request, settings.max_body_bytes)
        company = backend.company_id(raw)
        request[PRINCIPAL].check(company)
        started = time.perf_counter()
        try:
            content, filename = await app[POOL].run(
                backend.render, raw, fmt, timeout=settings.render_timeout_s
            )
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


async def validate(request: web.Request) -> web.Response:
    """``POST /v1/validate``: every problem (422) or what would be printed (200)."""
    app = request.app
    settings, backend = app[SETTINGS], app[BACKEND]
    with app[ADMISSION].ticket():
        raw = await read_body(request, settings.max_body_bytes)
        request[PRINCIPAL].check(backend.company_id(raw))
        preview = await app[POOL].run(backend.preview, raw, timeout=settings.render_timeout_s)
    return web.json_response(preview, dumps=json_dumps, headers={"Cache-Control": "no-store"})


async def schema(request: web.Request) -> web.Response:
    """``GET /v1/schema``: the payload's JSON Schema."""
    return web.json_response(
        request.app[PAYLOAD_SCHEMA], dumps=json_dumps, content_type="application/schema+json"
    )


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the process answers. Touches nothing that can block."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """``GET /readyz``: 200 when at least one worker is warm and the service takes work."""
    stats = request.app[POOL].stats() if POOL in request.app else None
    if stats is None or not stats.accepting or (stats.size > 0 and stats.warm == 0):
        raise NotReady("渲染进程尚未就绪", details=stats.as_dict() if stats else None)
    return web.json_response({"status": "ready", "workers": stats.as_dict()})


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format."""
    response = web.Response(body=request.app[METRICS].exposition())
    response.headers["Content-Type"] = METRICS_CONTENT_TYPE
    return response


async def openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: OpenAPI 3.1 description of every endpoint."""
    return web.json_response(request.app[OPENAPI], dumps=json_dumps)


async def docs(request: web.Request) -> web.Response:
    """``GET /docs``: the API reference as one self-contained HTML page."""
    return web.Response(text=request.app[DOCS_HTML], content_type="text/html", charset="utf-8")
