"""Rendering console pages: the Jinja2 environment (autoescaped), responses and their headers."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from service import TEMPLATES_DIR
from service.console.state import CONSOLE, SESSION

CONSOLE_TEMPLATES = TEMPLATES_DIR / "console"
STATIC_DIR = CONSOLE_TEMPLATES / "static"
BEIJING = timezone(timedelta(hours=8), "北京时间")

CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)

STATE_NAMES = {
    "pending": "等待中",
    "running": "生成中",
    "done": "已完成",
    "failed": "失败",
    "queued": "排队中",
    "finished": "已结束",
}


class Redirect(Exception):
    """Raised by a handler to answer ``303 See Other`` (a plain response, not an HTTP error)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def redirect_response(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


@cache
def report_kinds() -> dict[str, str]:
    """Report kinds with a template folder (``templates/<kind>/versions.toml``) → report name."""
    kinds = {}
    for path in sorted(TEMPLATES_DIR.glob("*/versions.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        kinds[path.parent.name] = str(data.get("report_name", path.parent.name))
    return kinds


def when(value: datetime | None) -> str:
    """A UTC time as Beijing time, ``2024-01-12 10:05``."""
    if value is None:
        return "—"
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def size(value: int) -> str:
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / 1024 / 1024:.1f} MiB"


def source(text: str) -> str:
    """Where a batch item came from, in words: ``line 3`` → 第3行, ``[0]`` → 第1个元素."""
    if match := re.fullmatch(r"line (\d+)", text):
        return f"第{match.group(1)}行"
    if match := re.fullmatch(r"\[(\d+)\]", text):
        return f"第{int(match.group(1)) + 1}个元素"
    return text


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(CONSOLE_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["size"] = size
    env.filters["state"] = lambda s: STATE_NAMES.get(s, s)
    env.filters["source"] = source
    env.filters["kind"] = lambda k: report_kinds().get(k, k)
    env.globals["query"] = lambda **kw: urlencode(
        {k: v for k, v in kw.items() if v not in (None, "")}
    )
    return env


def static_url(request: web.Request, filename: str) -> str:
    """The URL of a console static file with a version tag (cached for a year)."""
    resource = request.app.router["console.static"]
    return str(resource.url_for(filename=filename, append_version=True))  # type: ignore[arg-type]


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A console page: ``template`` with the session, its CSRF token and the navigation."""
    session = request.get(SESSION)
    env = request.app[CONSOLE].pages
    context.setdefault("nav", None)
    html = env.get_template(template).render(
        session=session,
        csrf=session.csrf if session is not None else "",
        css=static_url(request, "console.css"),
        js=static_url(request, "console.js"),
        form_js=static_url(request, "form.js"),
        favicon=static_url(request, "favicon.svg"),
        path=request.path,
        **context,
    )
    response = web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
    return response


def secure_headers(response: web.StreamResponse, *, html: bool) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")
    if html:
        headers.setdefault("Content-Security-Policy", CSP)
