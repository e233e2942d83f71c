"""Wiring the console into the API application: routes, state and one middleware.

The console's routes (all named ``console.*``) are served by the console middleware, which sits
just before the API's key check: it reads the session cookie, calls the route's handler itself
(so a console page never asks for an ``Authorization`` header) and turns errors into HTML pages.
Every other route passes through it untouched.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError

from service import FONTS_DIR
from service.api.middleware import access_middleware
from service.api.state import KEYRING, REQUEST_ID, SETTINGS, STORE
from service.console import (
    batches,
    compose,
    documents,
    drafts,
    editor,
    next_year,
    preview_pages,
    revisions,
    sheet_import,
    signin,
)
from service.console.pages import (
    STATIC_DIR,
    Redirect,
    make_environment,
    page,
    redirect_response,
    secure_headers,
    static_url,
)
from service.console.sessions import COOKIE, SessionStore, SignInThrottle
from service.console.state import CONSOLE, SESSION, ConsoleState
from service.console.thumbnails import Thumbnails
from service.errors import PiluError
from service.store.sessions import SessionRows

log = logging.getLogger("pilu.console")

ROUTE_PREFIX = "console."
FONT_FILE = "FandolHei-Regular.otf"
"""The UI's fallback face for Chinese when the browser's system has none (served locally)."""

TITLES = {
    400: "请求无效",
    401: "需要登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持的操作",
    413: "内容过大",
    422: "无法处理",
    429: "尝试过多",
    500: "内部错误",
    503: "服务暂不可用",
    504: "处理超时",
}


def setup_console(app: web.Application) -> None:
    """Add the compliance console to ``app`` (made by ``create_app``, not yet started):
    ``/console/…`` pages, ``/`` redirecting to them, and the console middleware. A second
    call on the same application does nothing."""
    if CONSOLE in app:
        return
    settings = app[SETTINGS]
    app[CONSOLE] = ConsoleState(
        sessions=SessionStore(rows=lambda: SessionRows(app[STORE].db), keys=lambda: app[KEYRING]),
        throttle=SignInThrottle(),
        pages=make_environment(),
        thumbnails=Thumbnails(settings.data_dir / "console" / "thumbnails"),
    )
    state = app[CONSOLE]
    state.pages.filters["company"] = state.companies.name
    _add_routes(app.router)
    position = next(
        (i for i, m in enumerate(app.middlewares) if m is access_middleware),
        len(app.middlewares),
    )
    app.middlewares.insert(position, console_middleware)


def _add_routes(router: web.UrlDispatcher) -> None:
    add = router.add_get
    add("/", root, name="console.root")
    add("/console", root, name="console.bare")
    add("/console/", documents.index, name="console.documents")
    add("/console/sign-in", signin.form, name="console.sign_in")
    router.add_post("/console/sign-in", signin.submit, name="console.sign_in_submit")
    router.add_post("/console/sign-out", signin.sign_out, name="console.sign_out")
    doc = "/console/documents/{document_id}"
    add(doc, documents.show, name="console.document")
    add(doc + r"/versions/{version:\d+}/{fmt:pdf|docx}", documents.download,
        name="console.download")  # fmt: skip
    add(doc + r"/versions/{version:\d+}/pages/{page:\d{1,4}}.png", documents.thumbnail,
        name="console.thumbnail")  # fmt: skip
    router.add_post(doc + "/regenerate", documents.regenerate, name="console.regenerate")
    router.add_post(doc + "/revisions", revisions.upload, name="console.revision_upload")
    add(doc + r"/versions/{version:\d+}/diff", revisions.show_diff, name="console.revision")
    add("/console/new", compose.form, name="console.new")
    router.add_post("/console/new", compose.check, name="console.check")
    router.add_post("/console/new/generate", compose.generate, name="console.generate")
    router.add_post("/console/new/pages.json", preview_pages.pages, name="console.preview_pages")
    add(r"/console/new/pages/{sha256}/{page:\d{1,4}}.png", preview_pages.page_image,
        name="console.preview_page")  # fmt: skip
    add("/console/form/schema.json", editor.schema, name="console.form_schema")
    router.add_post("/console/form/live.json", editor.live, name="console.form_live")
    router.add_post("/console/drafts.json", drafts.save, name="console.draft_save")
    router.add_post(
        r"/console/drafts/{draft_id}/delete", drafts.remove, name="console.draft_delete"
    )
    add("/console/batches", batches.index, name="console.batches")
    router.add_post("/console/batches", batches.upload, name="console.batch_upload")
    batch = "/console/batches/{batch_id}"
    add(batch, batches.show, name="console.batch")
    add(batch + "/status", batches.status, name="console.batch_status")
    add(batch + "/events", batches.events, name="console.batch_events")
    add(batch + "/archive", batches.archive, name="console.batch_archive")
    sheet_import.add_routes(router)
    next_year.add_routes(router)
    add("/console/help", help_page, name="console.help")
    add("/favicon.ico", favicon, name="console.favicon")
    add("/console/fonts/pilu-hei.otf", font, name="console.font")
    router.add_static("/console/static", STATIC_DIR, name="console.static", append_version=True)
    router.add_route("*", "/console/{tail:.*}", not_found, name="console.not_found")


async def root(request: web.Request) -> web.Response:
    raise Redirect("/console/")


async def help_page(request: web.Request) -> web.Response:
    """``GET /console/help``: how to use the console, linking only pages the service serves."""
    return page(request, "help.html", title="帮助", nav="help")


async def favicon(request: web.Request) -> web.Response:
    """``GET /favicon.ico``: browsers ask for it before reading a page's icon link."""
    raise Redirect(static_url(request, "favicon.svg"))


async def not_found(request: web.Request) -> web.Response:
    raise web.HTTPNotFound()


async def font(request: web.Request) -> web.StreamResponse:
    path = FONTS_DIR / FONT_FILE
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={"Content-Type": "font/otf", "Cache-Control": "public, max-age=604800"},
    )


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    name = match.route.name if match.http_exception is None else None
    if not name or not name.startswith(ROUTE_PREFIX):
        return await handler(request)
    request[SESSION] = await request.app[CONSOLE].sessions.lookup(request.cookies.get(COOKIE))
    # aiohttp's static handler lets some file-system errors out (ENAMETOOLONG for a name past
    # 255 bytes, ELOOP): for a static file these mean "no such file", not a server error.
    missing_file: tuple[type[Exception], ...] = (OSError,) if name == "console.static" else ()
    try:
        response = await match.handler(request)
    except Redirect as exc:
        response = redirect_response(exc.location)
    except PiluError as exc:
        response = error_page(request, exc.status, exc.message, exc.details)
    except web.HTTPException as exc:
        if isinstance(exc, web.HTTPMove):
            response = redirect_response(str(exc.location))
        else:
            response = error_page(request, exc.status, _http_message(exc.status))
    except missing_file:
        response = error_page(request, 404, _http_message(404))
    except (ConnectionResetError, RequestPayloadError):
        raise  # a caller gone or a body not in its encoding: the API's error middleware answers
    except Exception:
        log.exception(
            "console error",
            extra={"fields": {"request_id": request.get(REQUEST_ID), "route": name}},
        )
        response = error_page(request, 500, "内部错误，请稍后重试。")
    if not response.prepared:
        if name in ("console.static", "console.font"):
            if request.query.get("v"):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        secure_headers(response, html=response.content_type == "text/html")
    return response


def _http_message(status: int) -> str:
    if status == 404:
        return "没有这个页面，或您无权查看。"
    if status == 405:
        return "此地址不支持这种操作。"
    return TITLES.get(status, "请求无法完成。")


def error_page(
    request: web.Request, status: int, message: str, details: object = None
) -> web.Response:
    if status == 404:
        message = "没有找到该内容，或您无权查看。"
    listed = details if isinstance(details, list) and all(
        isinstance(d, dict) and "message" in d for d in details
    ) else []  # fmt: skip
    headers = {}
    if status == 503:
        headers["Retry-After"] = "2"
    response = page(
        request,
        "error.html",
        status=status,
        title=TITLES.get(status, "出错了"),
        nav=None,
        status_code=status,
        message=message,
        details=listed,
        request_id=request.get(REQUEST_ID, ""),
    )
    response.headers.update(headers)
    return response
