"""Signing in and out, the session cookie, CSRF on every form, and the API left as it was."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler

from service.console.sessions import COOKIE, PRE_COOKIE, SignInThrottle
from tests.console.conftest import (
    KEY_ALL,
    KEY_XIAOKANG,
    ClientFactory,
    console_app,
    csrf_of,
    sign_in,
    store_of,
)

GET_PAGES = [
    "/console/",
    "/console/new",
    "/console/batches",
    "/console/documents/doc_0123456789abcdef0123",
    "/console/documents/doc_0123456789abcdef0123/versions/1/pdf",
    "/console/documents/doc_0123456789abcdef0123/versions/1/pages/1.png",
    "/console/batches/bat_0123456789abcdef0123",
    "/console/batches/bat_0123456789abcdef0123/events",
    "/console/batches/bat_0123456789abcdef0123/archive",
]
POST_FORMS = [
    "/console/sign-out",
    "/console/new",
    "/console/new/generate",
    "/console/batches",
    "/console/documents/doc_0123456789abcdef0123/regenerate",
]


def set_cookies(response: Any) -> dict[str, str]:
    """Each ``Set-Cookie`` header by cookie name, as sent."""
    found = {}
    for header in response.headers.getall("Set-Cookie", []):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


async def test_root_redirects_to_the_console(client: TestClient[Any, Any]) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", GET_PAGES)
async def test_pages_send_a_stranger_to_sign_in(client: TestClient[Any, Any], path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/console/sign-in?next=%2Fconsole%2F")


@pytest.mark.parametrize("path", POST_FORMS)
async def test_forms_refuse_a_stranger(client: TestClient[Any, Any], path: str) -> None:
    response = await client.post(path, data={"csrf": "x"}, allow_redirects=False)
    assert response.status == 403
    assert "登录已失效" in await response.text()


async def test_sign_in_sets_a_strict_http_only_session_cookie(
    client: TestClient[Any, Any],
) -> None:
    page = await client.get("/console/sign-in")
    pre = set_cookies(page)[PRE_COOKIE]
    assert "HttpOnly" in pre and "SameSite=Strict" in pre and "Path=/console" in pre
    response = await client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(await page.text()), "api_key": KEY_XIAOKANG, "next": "/console/new"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/console/new"
    cookie = set_cookies(response)[COOKIE]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    assert KEY_XIAOKANG not in cookie
    parsed = SimpleCookie()
    parsed.load(cookie)
    sid, _, mac = parsed[COOKIE].value.partition(".")
    assert len(sid) >= 40 and len(mac) >= 40
    assert (
        "max-age=0" in set_cookies(response)[PRE_COOKIE].lower()
        or "expires" in set_cookies(response)[PRE_COOKIE].lower()
    )


async def test_cookies_are_secure_over_tls(tmp_path: Any) -> None:
    """Behind TLS (here: the request as a TLS-terminating proxy hands it on) both cookies get
    ``Secure``."""

    @web.middleware
    async def as_https(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(scheme="https"))

    app = console_app(tmp_path)
    app.middlewares.insert(0, as_https)
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/console/sign-in")
        pre = set_cookies(page)[PRE_COOKIE]
        assert "Secure" in pre
        # The test client speaks plain HTTP, so its jar keeps Secure cookies to itself: hand
        # the pre-session cookie on by hand.
        pre_value = SimpleCookie(pre)[PRE_COOKIE].value
        response = await client.post(
            "/console/sign-in",
            data={"csrf": csrf_of(await page.text()), "api_key": KEY_XIAOKANG},
            cookies={PRE_COOKIE: pre_value},
            allow_redirects=False,
        )
        cookie = set_cookies(response)[COOKIE]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("wrong-key-entirely", 401, "API密钥无效"),
        (KEY_XIAOKANG + "x", 401, "API密钥无效"),
        ("", 401, "请输入API密钥"),
        ("   ", 401, "请输入API密钥"),
    ],
)
async def test_sign_in_failures(
    client: TestClient[Any, Any], key: str, status: int, message: str
) -> None:
    page = await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in", data={"csrf": csrf_of(await page.text()), "api_key": key},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status == status
    text = await response.text()
    assert message in text
    assert 'aria-invalid="true"' in text
    assert COOKIE not in set_cookies(response)
    assert (await client.get("/console/", allow_redirects=False)).status == 303


async def test_sign_in_needs_its_form_token(client: TestClient[Any, Any]) -> None:
    await client.get("/console/sign-in")
    missing = await client.post("/console/sign-in", data={"api_key": KEY_XIAOKANG})
    assert missing.status == 403
    assert "登录表单已过期" in await missing.text()
    wrong = await client.post(
        "/console/sign-in", data={"api_key": KEY_XIAOKANG, "csrf": "forged-token"}
    )
    assert wrong.status == 403
    assert (await client.get("/console/", allow_redirects=False)).status == 303


async def test_sign_in_token_is_bound_to_the_browser(make_client: ClientFactory) -> None:
    """A token taken from one browser's sign-in page (an attacker's) fails in another."""
    attacker = await make_client()
    victim = attacker.session  # same server, different cookie jar below
    token = csrf_of(await (await attacker.get("/console/sign-in")).text())
    victim.cookie_jar.clear()
    response = await attacker.post(
        "/console/sign-in", data={"api_key": KEY_XIAOKANG, "csrf": token},
        cookies={PRE_COOKIE: "another-browsers-pre-session-value"}, allow_redirects=False,
    )  # fmt: skip
    assert response.status == 403


async def test_repeated_failures_are_throttled(client: TestClient[Any, Any]) -> None:
    page = await client.get("/console/sign-in")
    token = csrf_of(await page.text())
    for _ in range(10):
        response = await client.post("/console/sign-in", data={"csrf": token, "api_key": "nope"})
        assert response.status == 401
    blocked = await client.post("/console/sign-in", data={"csrf": token, "api_key": KEY_ALL})
    assert blocked.status == 429
    assert "登录失败次数过多" in await blocked.text()


@pytest.mark.parametrize("path", POST_FORMS)
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_every_form_needs_the_session_token(
    client: TestClient[Any, Any], path: str, token: str | None
) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    data = {"payload": '{"company": {"id": "xiaokang-life"}}', "nonce": "abcdefgh12"}
    if token is not None:
        data["csrf"] = token
    response = await client.post(path, data=data, allow_redirects=False)
    assert response.status == 403
    assert "CSRF" in await response.text()
    # Nothing happened: still signed in, the same token still works.
    home = await client.get("/console/")
    assert home.status == 200
    assert csrf_of(await home.text()) == csrf


async def test_multipart_forms_check_the_token_too(client: TestClient[Any, Any]) -> None:
    await sign_in(client, KEY_XIAOKANG)
    from aiohttp import FormData

    form = FormData()
    form.add_field("csrf", "forged")
    form.add_field("file", b'{"company": {"id": "xiaokang-life"}}\n', filename="b.ndjson")
    response = await client.post("/console/batches", data=form)
    assert response.status == 403
    assert (await store_of(client).batches.list()).items == []


async def test_tampered_cookie_is_signed_out(client: TestClient[Any, Any]) -> None:
    await sign_in(client, KEY_XIAOKANG)
    value = next(c.value for c in client.session.cookie_jar if c.key == COOKIE)
    sid, _, mac = value.partition(".")
    forged = f"{sid}.{'A' * len(mac)}"
    client.session.cookie_jar.clear()
    response = await client.get("/console/", cookies={COOKIE: forged}, allow_redirects=False)
    assert response.status == 303
    response = await client.get("/console/", cookies={COOKIE: sid}, allow_redirects=False)
    assert response.status == 303
    response = await client.get("/console/", cookies={COOKIE: value}, allow_redirects=False)
    assert response.status == 200


async def test_sign_out_ends_the_session(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    value = next(c.value for c in client.session.cookie_jar if c.key == COOKIE)
    response = await client.post("/console/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/sign-in"
    assert "max-age=0" in set_cookies(response)[COOKIE].lower()
    # The old cookie, replayed, is worth nothing.
    again = await client.get("/console/", cookies={COOKIE: value}, allow_redirects=False)
    assert again.status == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/v1/render",
        "/console/sign-out",
        "/\\evil",
        "/console/\x7f",
        "/console/\x85x",
        "/console/a b",
        "/console/\u2028",
    ],
)
async def test_sign_in_only_returns_to_console_pages(
    client: TestClient[Any, Any], target: str
) -> None:
    page = await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(await page.text()), "api_key": KEY_XIAOKANG, "next": target},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console/"


@pytest.mark.parametrize("query", ["next=/console/%7F", "next=/console/%0d%0aSet-Cookie:x=1"])
async def test_sign_in_page_with_a_control_character_in_next_answers(
    client: TestClient[Any, Any], query: str
) -> None:
    """``/console/sign-in?next=/console/%7F`` dropped the connection after making the session."""
    response = await client.get(f"/console/sign-in?{query}")
    assert response.status == 200
    assert 'value="/console/"' in await response.text()
    await sign_in(client, KEY_XIAOKANG)
    signed_in = await client.get(f"/console/sign-in?{query}", allow_redirects=False)
    assert signed_in.status in (302, 303) and signed_in.headers["Location"] == "/console/"


async def test_sign_in_returns_to_a_console_page_with_chinese_in_its_query(
    client: TestClient[Any, Any],
) -> None:
    page = await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in",
        data={
            "csrf": csrf_of(await page.text()),
            "api_key": KEY_XIAOKANG,
            "next": "/console/documents?company=小康&year=2023",
        },
        allow_redirects=False,
    )
    location = response.headers["Location"]
    assert location == "/console/documents?company=%E5%B0%8F%E5%BA%B7&year=2023"


async def test_the_api_still_wants_its_key(client: TestClient[Any, Any]) -> None:
    """A console session is not an API credential, and the console changes no API answer."""
    await sign_in(client, KEY_XIAOKANG)
    response = await client.post("/v1/validate", data=b'{"company": {"id": "xiaokang-life"}}')
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert (await client.get("/healthz")).status == 200
    missing = await client.get("/v1/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"


async def test_pages_carry_security_headers(client: TestClient[Any, Any]) -> None:
    await sign_in(client, KEY_XIAOKANG)
    for path in ("/console/", "/console/sign-in", "/console/nowhere"):
        response = await client.get(path)
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert '<html lang="zh-CN">' in await response.text()
    css = await client.get("/console/static/console.css?v=x")
    assert css.status == 200
    assert "immutable" in css.headers["Cache-Control"]


async def test_unknown_console_pages_are_html_404(client: TestClient[Any, Any]) -> None:
    await sign_in(client, KEY_XIAOKANG)
    response = await client.get("/console/no/such/page")
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "没有找到该内容，或您无权查看" in await response.text()


async def test_a_session_is_good_on_another_node_and_after_a_restart(tmp_path: Any) -> None:
    """Two applications on one data folder (two nodes, or one restarted): a browser signed in on
    the first is signed in on the second, with the same CSRF token, and signing out on the
    second signs it out on the first."""
    data = tmp_path / "shared"
    async with TestClient(TestServer(console_app(data))) as first:
        csrf = await sign_in(first, KEY_XIAOKANG)
        value = next(c.value for c in first.session.cookie_jar if c.key == COOKIE)
    async with (
        TestClient(TestServer(console_app(data))) as second,
        TestClient(TestServer(console_app(data))) as third,
    ):
        home = await second.get("/console/", cookies={COOKIE: value}, allow_redirects=False)
        assert home.status == 200 and csrf_of(await home.text()) == csrf
        out = await second.post(
            "/console/sign-out", data={"csrf": csrf}, cookies={COOKIE: value},
            allow_redirects=False,
        )  # fmt: skip
        assert out.status == 303
        again = await third.get("/console/", cookies={COOKIE: value}, allow_redirects=False)
        assert again.status == 303


def test_throttle_forgets_old_failures() -> None:
    now = [0.0]
    throttle = SignInThrottle(limit=2, window_s=10, clock=lambda: now[0])
    throttle.failed("1.2.3.4")
    throttle.failed("1.2.3.4")
    assert throttle.blocked("1.2.3.4")
    assert not throttle.blocked("5.6.7.8")
    now[0] = 11
    assert not throttle.blocked("1.2.3.4")


async def test_setup_twice_changes_nothing(tmp_path: Any) -> None:
    from service.console import setup_console

    app = console_app(tmp_path)
    routes = len(app.router.routes())
    middlewares = list(app.middlewares)
    setup_console(app)
    assert len(app.router.routes()) == routes and list(app.middlewares) == middlewares


async def test_a_form_not_in_its_declared_encoding_is_400_not_a_console_error(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    page = await client.get("/console/sign-in")
    body = f"csrf={csrf_of(await page.text())}&api_key={KEY_XIAOKANG}".encode()
    response = await client.post(
        "/console/sign-in",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_body"
    assert not [r for r in caplog.records if r.exc_info]
