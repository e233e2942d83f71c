"""Signing in with an API key and out again."""

from __future__ import annotations

from aiohttp import web

from service.api.state import KEYRING
from service.console.common import check_csrf, safe_next, session_of
from service.console.forms import read_form
from service.console.pages import Redirect, page, redirect_response
from service.console.sessions import COOKIE, COOKIE_PATH, PRE_COOKIE, key_tag
from service.console.state import CONSOLE, SESSION

FORM_LIMIT = 16 * 1024


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


def _forget(response: web.StreamResponse, request: web.Request, name: str) -> None:
    response.del_cookie(
        name, path=COOKIE_PATH, httponly=True, secure=request.secure, samesite="Strict"
    )


async def _sign_in_page(
    request: web.Request, *, status: int = 200, error: str | None = None, next_url: str = ""
) -> web.Response:
    sessions = request.app[CONSOLE].sessions
    pre = request.cookies.get(PRE_COOKIE) or ""
    fresh = len(pre) < 16
    if fresh:
        pre = sessions.new_pre_session()
    response = page(
        request,
        "sign_in.html",
        status=status,
        title="登录",
        sign_in_token=await sessions.sign_in_token(pre),
        error=error,
        next_url=safe_next(next_url),
    )
    if fresh:
        _cookie(response, request, PRE_COOKIE, pre)
    return response


async def form(request: web.Request) -> web.Response:
    """``GET /console/sign-in``."""
    if request.get(SESSION) is not None:
        raise Redirect(safe_next(request.query.get("next")))
    return await _sign_in_page(request, next_url=request.query.get("next", ""))


async def submit(request: web.Request) -> web.Response:
    """``POST /console/sign-in``: a key the API knows starts a session."""
    state = request.app[CONSOLE]
    data = await read_form(request, FORM_LIMIT)
    next_url = data.get("next")
    if not await state.sessions.sign_in_token_ok(request.cookies.get(PRE_COOKIE), data.get("csrf")):
        return await _sign_in_page(
            request, status=403, error="登录表单已过期，请重新输入密钥后登录。", next_url=next_url
        )
    client = request.remote or "unknown"
    if state.throttle.blocked(client):
        return await _sign_in_page(
            request, status=429, error="登录失败次数过多，请十分钟后再试。", next_url=next_url
        )
    key = data.get("api_key").strip()
    principal = request.app[KEYRING].identify(key) if key else None
    if principal is None:
        state.throttle.failed(client)
        error = "请输入API密钥。" if not key else "API密钥无效，请检查后重试。"
        return await _sign_in_page(request, status=401, error=error, next_url=next_url)
    state.throttle.succeeded(client)
    old = request.get(SESSION)
    if old is not None:
        await state.sessions.drop(old)
    _session, cookie = await state.sessions.create(principal, key_tag(key))
    response = redirect_response(safe_next(next_url))
    _cookie(response, request, COOKIE, cookie)
    _forget(response, request, PRE_COOKIE)
    return response


async def sign_out(request: web.Request) -> web.Response:
    """``POST /console/sign-out``."""
    session = session_of(request)
    check_csrf(session, await read_form(request, FORM_LIMIT))
    await request.app[CONSOLE].sessions.drop(session)
    response = redirect_response("/console/sign-in")
    _forget(response, request, COOKIE)
    return response
