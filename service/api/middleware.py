"""The three middlewares, outermost first: request context, errors, access control.

* ``context``: request id (kept from ``X-Request-ID`` when well-formed, else generated), one
  access-log line and the request metrics, whatever happened.
* ``errors``: every failure becomes ``{"error": {"code", "message", "details"}}`` with the
  status of its :class:`~service.errors.PiluError`; aiohttp's own 404/405/413 are translated;
  a body that cannot be decoded is 400 ``malformed_body``; a caller that hangs up is logged at
  info and counted as 499; anything else is a 500 whose body names only the request id.
  A query parameter given twice is 400 ``invalid_parameter`` on every route.
* ``access``: routes not in :data:`PUBLIC_ROUTES` need an API key.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from service.api.logs import access_log
from service.api.responses import ApiError
from service.api.state import ERROR_CODE, KEYRING, METRICS, PRINCIPAL, REQUEST_ID, SETTINGS
from service.errors import (
    InternalError,
    InvalidParameter,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PiluError,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_ROUTES = frozenset({"healthz", "readyz", "metrics", "openapi", "docs", "schema"})
"""Route names that need no API key. Every other route does, including ones added later."""

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

CLIENT_GONE_STATUS = 499
CLIENT_GONE_CODE = "client_disconnected"
_BODY_UNREADABLE = "请求体无法按所声明的编码读取（Content-Encoding 或分块编码有误）"

log = logging.getLogger("pilu.api")
json_dumps = partial(json.dumps, ensure_ascii=False)


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_id_for(header: str | None) -> str:
    """The caller's request id if it is 1–128 of ``A-Z a-z 0-9 . _ : -``, else a new one."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        seconds = time.perf_counter() - started
        route = route_label(request)
        request.app[METRICS].observe_request(request.method, route, status, seconds)
        access_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "error_code": request.get(ERROR_CODE),
                }
            },
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        refuse_repeated_parameters(request)
        return await handler(request)
    except PiluError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request, _from_http_exception(request, exc))
    except RequestPayloadError:
        return error_response(
            request, MalformedBody(_BODY_UNREADABLE, details=_encoding_of(request))
        )
    except ConnectionResetError:
        return client_gone(request)
    except Exception:
        log.exception(
            "unhandled error",
            extra={"fields": {"request_id": request[REQUEST_ID], "route": route_label(request)}},
        )
        return error_response(
            request, InternalError("内部错误", details={"request_id": request[REQUEST_ID]})
        )


def refuse_repeated_parameters(request: web.Request) -> None:
    """A query parameter given more than once is 400 ``invalid_parameter`` on every route:
    which of the values would count is a guess (``?format=pdf&format=docx``)."""
    query = request.query
    if len(query) == len(set(query.keys())):
        return
    name = next(n for n in query if len(query.getall(n)) > 1)
    raise InvalidParameter(
        f"参数 {name[:60]} 只能出现一次",
        details={"parameter": name[:60], "count": len(query.getall(name))},
    )


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is None and match.route.name not in PUBLIC_ROUTES:
        request[PRINCIPAL] = request.app[KEYRING].authenticate(request.headers)
    return await handler(request)


def _encoding_of(request: web.Request) -> dict[str, str | None]:
    return {
        "content_encoding": request.headers.get("Content-Encoding", "")[:60] or None,
        "transfer_encoding": request.headers.get("Transfer-Encoding", "")[:60] or None,
    }


def client_gone(request: web.Request) -> web.Response:
    """The caller closed the connection before its request was answered: an info line, no
    traceback, and status 499 (the convention for "client closed request") in the access log and
    the metrics, so a client that gives up never counts as a failure of the service."""
    request[ERROR_CODE] = CLIENT_GONE_CODE
    log.info(
        "client disconnected",
        extra={"fields": {"request_id": request[REQUEST_ID], "route": route_label(request)}},
    )
    return web.Response(status=CLIENT_GONE_STATUS)


def error_response(request: web.Request, exc: PiluError) -> web.Response:
    request[ERROR_CODE] = exc.code
    if exc.status >= 500:
        log.warning(
            "request failed: %s",
            exc.code,
            extra={"fields": {"request_id": request.get(REQUEST_ID), "error_code": exc.code}},
        )
    headers: dict[str, str] = dict(getattr(exc, "headers", None) or {})
    response = web.json_response(
        ApiError.of(exc).body(), status=exc.status, headers=headers, dumps=json_dumps
    )
    if headers.get("Connection") == "close":
        _close_after(request, response)
    return response


def _close_after(request: web.Request, response: web.Response) -> None:
    """Close the connection once ``response`` is written, without reading more of the body.

    aiohttp would otherwise go on reading an unfinished body for up to 10 s ("lingering
    close"), and log a traceback when that body is one it cannot decode. Marking the body as
    ended skips that; the rest of it is never looked at."""
    response.force_close()
    request.content.feed_eof()


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> PiluError:
    if isinstance(exc, web.HTTPNotFound):
        return NotFound("没有这个地址", details={"path": request.path[:200]})
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = sorted(exc.allowed_methods)
        return MethodNotAllowed(
            f"此地址不支持 {request.method} 方法",
            details={"method": request.method, "allowed": allowed},
        )
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        limit = request.app[SETTINGS].max_body_bytes
        return PayloadTooLarge("请求体超过上限", details={"max_bytes": limit})
    return _GenericHttpError(exc.status, exc.reason)


class _GenericHttpError(PiluError):
    """Any other HTTP error aiohttp raises (rare: for example 400 on a broken multipart)."""

    code = "http_error"

    def __init__(self, status: int, reason: str, details: Any = None) -> None:
        super().__init__(reason, details)
        self.status = status
