"""``GET /v1/documents/{id}/parity[?version=N]``: the parity check of a stored version's DOCX
and PDF (:mod:`service.api.parity`), compared in the worker pool the first time it is asked."""

from __future__ import annotations

from aiohttp import web

from service.api.archive.params import document_id_of, version_param
from service.api.archive.reply import json_reply
from service.api.parity import version_parity
from service.api.responses import ApiParity
from service.api.state import PRINCIPAL, STORE
from service.errors import NotFound


async def get_parity(request: web.Request) -> web.Response:
    """``{"document_id", "version", "ok", "compared", "differences"}``; 404 for a version
    without both outputs, as for one that does not exist."""
    doc = await request.app[STORE].documents.get(
        document_id_of(request),
        version=version_param(request),
        allowed_companies=request[PRINCIPAL].allowed_companies,
    )
    result = await version_parity(request.app, doc)
    if result is None:  # pragma: no cover - every stored version has both formats today
        raise NotFound("文档没有 DOCX 或 PDF", details={"document_id": doc.id})
    return json_reply(
        ApiParity.model_validate({"document_id": doc.id, "version": doc.version.version, **result})
    )
