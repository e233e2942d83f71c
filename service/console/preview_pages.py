"""The PDF's pages before generating: the preview page asks for them once the check has passed.

``POST /console/new/pages.json`` (the preview page's ``payload_b64`` and CSRF token) renders the
PDF alone in the worker pool (nothing is stored), makes its thumbnails in the console's cache
(:mod:`service.console.thumbnails`, by the PDF's hash) and answers their addresses; ``GET
/console/new/pages/{sha256}/{page}.png`` serves one, only to a session that asked for that PDF
(the sessions allowed are kept per process, for the :data:`MAX_PREVIEWS` latest PDFs). It costs
one render more than generating alone; the generated document is rendered again, not reused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from aiohttp import web

from service.api.state import SETTINGS
from service.console import work
from service.console.forms import FORM_OVERHEAD_BYTES, read_form
from service.console.replies import check_json_csrf, json_endpoint, json_reply, json_session
from service.console.state import CONSOLE
from service.errors import FieldError, NotFound, PayloadInvalid, PiluError

MAX_PREVIEWS = 500
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _allow(request: web.Request, sha256: str, session_id: str) -> None:
    owners = request.app[CONSOLE].previews
    owners.setdefault(sha256, set()).add(session_id)
    while len(owners) > MAX_PREVIEWS:
        owners.pop(next(iter(owners)))


def _problem(errors: list[FieldError]) -> str:
    return "；".join(e.message for e in errors[:3]) or "数据无效"


@json_endpoint
async def pages(request: web.Request) -> web.Response:
    """``POST /console/new/pages.json``: ``{"pages": [{"page", "width", "height", "src"}]}``,
    or ``{"pages": [], "problem": …}`` when they cannot be made."""
    session = json_session(request)
    limit = request.app[SETTINGS].max_body_bytes
    form = await read_form(request, limit * 2 + FORM_OVERHEAD_BYTES)
    check_json_csrf(request, session, form)
    try:
        raw = base64.b64decode(form.get("payload_b64"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or len(raw) > limit:
        return json_reply({"pages": [], "problem": "报送数据缺失或无效"}, status=422)
    company = work.company_id(request, raw)
    if not session.principal.may_access(company):
        return json_reply({"pages": [], "problem": "无权处理该公司的数据"}, status=403)
    thumbnails = request.app[CONSOLE].thumbnails
    if not thumbnails.available:
        return json_reply({"pages": [], "problem": "服务器未安装 pdftoppm，无法显示页面预览"})
    try:
        pdf = await work.render_pdf(request, raw)
    except PayloadInvalid as exc:
        return json_reply({"pages": [], "problem": _problem(list(exc.errors))}, status=422)
    except PiluError as exc:
        return json_reply({"pages": [], "problem": exc.message}, status=exc.status)
    sha = hashlib.sha256(pdf).hexdigest()

    async def load_pdf() -> bytes:
        return pdf

    made = await thumbnails.pages(sha, load_pdf)
    if made is None:
        return json_reply({"pages": [], "problem": "暂时无法生成页面预览"})
    _allow(request, sha, session.id)
    return json_reply(
        {
            "pages": [
                {"page": t.page, "width": t.width, "height": t.height,
                 "src": f"/console/new/pages/{sha}/{t.page}.png"}
                for t in made
            ]
        }
    )  # fmt: skip


async def page_image(request: web.Request) -> web.StreamResponse:
    """``GET /console/new/pages/{sha256}/{page}.png``."""
    session = json_session(request)
    sha = request.match_info["sha256"]
    if not _SHA256.fullmatch(sha) or session.id not in request.app[CONSOLE].previews.get(sha, ()):
        raise NotFound("没有这一页的预览")
    path = request.app[CONSOLE].thumbnails.path(sha, int(request.match_info["page"]))
    if path is None:
        raise NotFound("没有这一页的预览")
    return web.FileResponse(path, headers={"Content-Type": "image/png"})
