"""JSON endpoints of the console, for the pages' scripts: their session, CSRF token and errors.

A console page's handler turns an error into an HTML page (the console middleware); a JSON
endpoint's script wants JSON instead. Wrapped with :func:`json_endpoint`, a handler's errors are
answered ``{"error": {"code", "message", "details"}}`` with their status, as the API answers,
and a request without a session is refused (403) rather than sent to the sign-in page.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from service.console.common import CsrfFailed, SignInRequired
from service.console.forms import Form
from service.console.sessions import Session
from service.console.state import SESSION
from service.errors import PiluError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSRF_HEADER = "X-CSRF-Token"


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_dumps(value: Any) -> str:
    """JSON text (Chinese as it is); a ``Decimal`` as a number (exact up to 15 digits)."""
    return json.dumps(value, ensure_ascii=False, default=_default)


def json_reply(value: Any, *, status: int = 200) -> web.Response:
    return web.json_response(
        value, status=status, dumps=json_dumps, headers={"Cache-Control": "no-store"}
    )


def json_endpoint(handler: Handler) -> Handler:
    """``handler`` answering its errors as JSON."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PiluError as exc:
            return json_reply(exc.as_dict(), status=exc.status)

    return wrapped


def json_session(request: web.Request) -> Session:
    """The signed-in session, or ``SignInRequired`` (403) for any method."""
    session: Session | None = request.get(SESSION)
    if session is None:
        raise SignInRequired("登录已失效，请重新登录后再操作")
    return session


def check_json_csrf(request: web.Request, session: Session, form: Form) -> None:
    """The session's CSRF token, from the form's ``csrf`` field or the ``X-CSRF-Token`` header."""
    presented = form.get("csrf") or request.headers.get(CSRF_HEADER) or None
    if not session.csrf_ok(presented):
        raise CsrfFailed("表单已过期或来源无法确认（CSRF校验失败），请刷新页面后重试")
