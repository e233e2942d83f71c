"""What every console handler needs: the signed-in session, CSRF checks, the store."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from service.api.state import STORE
from service.console.forms import Form
from service.console.pages import Redirect
from service.console.sessions import Session
from service.console.state import SESSION
from service.errors import Forbidden, PiluError
from service.store import Store

_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
"""ASCII that may stand in a ``Location`` as it is; ``quote`` encodes everything else."""


class CsrfFailed(Forbidden):
    """A console form sent without the token of its session (a page left open too long, or a
    form posted from another site)."""

    code = "csrf_failed"


class SignInRequired(PiluError):
    """A console form sent after its session ended: sign in again, then send it."""

    status = 403
    code = "sign_in_required"


class StoreUnavailable(PiluError):
    """The console was asked for stored documents while the document store is not open."""

    status = 503
    code = "store_unavailable"


def session_of(request: web.Request) -> Session:
    """The signed-in session; a GET without one is sent to the sign-in page and comes back."""
    session: Session | None = request.get(SESSION)
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise Redirect("/console/sign-in?" + urlencode({"next": request.path_qs}))
        raise SignInRequired("登录已失效，请重新登录后再提交")
    return session


def check_csrf(session: Session, form: Form) -> None:
    if not session.csrf_ok(form.get("csrf") or None):
        raise CsrfFailed("表单已过期或来源无法确认（CSRF校验失败），请刷新页面后重试")


def store_of(request: web.Request) -> Store:
    if STORE not in request.app:
        raise StoreUnavailable("文档存档尚未启用，请稍后再试或联系管理员")
    return request.app[STORE]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path of this site, of printable characters
    without spaces (a control character in ``Location`` made aiohttp drop the connection after
    the session was created). Characters outside ASCII are sent percent-encoded."""
    if not target or not target.startswith("/console/") or target.startswith("/console/sign-"):
        return "/console/"
    if "\\" in target or "//" in target or not target.isprintable() or " " in target:
        return "/console/"
    return quote(target, safe=_URL_SAFE)
