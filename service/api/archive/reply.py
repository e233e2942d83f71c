"""The JSON answers of the archive: a response model's body, never cached, with ``Location``
for what was made and ``Idempotent-Replayed`` for a replay."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.api.middleware import json_dumps
from service.api.responses import ResponseModel

REPLAYED_HEADER = "Idempotent-Replayed"


def json_reply(
    model: ResponseModel,
    *,
    status: int = 200,
    replayed: bool = False,
    location: str | None = None,
) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if location is not None:
        headers["Location"] = location
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return web.json_response(model.body(), status=status, headers=headers, dumps=json_dumps)


def next_link(request: web.Request, **query: Any) -> str | None:
    """This request's URL with ``query`` replaced, or ``None`` when any value is ``None``."""
    if any(v is None for v in query.values()):
        return None
    return str(request.rel_url.update_query({k: str(v) for k, v in query.items()}))
