"""Validation and rendering for the console, in the API's worker pool and under its admission
limit (so console users and API callers share one bound on work in flight)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.api.state import ADMISSION, BACKEND, POOL, SETTINGS
from service.jobs.render import RenderOutcome, render_item


async def preview(request: web.Request, raw: bytes) -> dict[str, Any]:
    """What will be printed (the backend's preview); raises ``PayloadInvalid`` and the pool's
    errors (``Overloaded``, ``RenderTimeout`` …)."""
    app = request.app
    with app[ADMISSION].ticket():
        return await app[POOL].run(
            app[BACKEND].preview, raw, timeout=app[SETTINGS].render_timeout_s
        )


async def render(request: web.Request, raw: bytes) -> RenderOutcome:
    """Both outputs and the manifest facts (the backend's item renderer, by default
    :func:`service.jobs.render.render_item`, as the batch runner uses), ready for the document
    store; payload problems come back as ``errors``."""
    app = request.app
    backend = app[BACKEND]
    renderer = backend.item_renderer() if hasattr(backend, "item_renderer") else render_item
    with app[ADMISSION].ticket():
        return await app[POOL].run(renderer, raw, timeout=app[SETTINGS].render_timeout_s)


def company_id(request: web.Request, raw: bytes) -> str:
    """The payload's ``company.id`` read without validating the rest; ``PayloadInvalid`` or
    ``MalformedJSON`` otherwise."""
    return request.app[BACKEND].company_id(raw)


async def render_pdf(request: web.Request, raw: bytes) -> bytes:
    """The PDF alone (the backend's renderer, as ``POST /v1/render`` runs it), for a preview of
    the pages before anything is stored."""
    app = request.app
    with app[ADMISSION].ticket():
        pdf, _ = await app[POOL].run(
            app[BACKEND].render, raw, "pdf", None, timeout=app[SETTINGS].render_timeout_s
        )
    return bytes(pdf)
