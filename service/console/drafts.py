"""Drafts of the new-document form: saved on the server per company, listed with the documents,
resumed in the form, deleted once generated or by hand.

A draft is saved as it stands, errors and all (the form checks it; generating checks it again).
It needs a company the key may use: that is whose drafts it is listed with.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from service.console.common import check_csrf, session_of, store_of
from service.console.editor import read_json
from service.console.forms import read_form
from service.console.pages import Redirect
from service.console.replies import json_endpoint, json_reply, json_session
from service.console.sessions import Session
from service.console.state import CONSOLE
from service.kinds import KINDS
from service.kinds.registry import DEFAULT_KIND
from service.store.drafts import Draft, DraftRows

DRAFT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def rows_of(request: web.Request) -> DraftRows:
    return DraftRows(store_of(request).db)


def title_of(payload: dict[str, Any]) -> str:
    """``小康人寿 · 2024年度 · 消费者权益保护工作重大信息披露`` from what the payload has so far."""
    found = payload.get("company")
    company: dict[str, Any] = found if isinstance(found, dict) else {}
    name = company.get("short_name") or company.get("full_name") or company.get("id") or ""
    year = payload.get("report_year")
    kind = KINDS.get(str(payload.get("kind") or DEFAULT_KIND))
    parts = [str(name), f"{year}年度" if isinstance(year, int) else "", kind.label if kind else ""]
    return " · ".join(p for p in parts if p) or "未命名草稿"


def company_name(draft: Draft) -> str:
    """The company's short name as the draft gives it, else its id."""
    try:
        payload = json.loads(draft.payload)
        company = payload.get("company") or {}
        return str(company.get("short_name") or company.get("full_name") or draft.company_id)
    except (ValueError, AttributeError):
        return draft.company_id


def _problem(status: int, path: str, message: str) -> web.Response:
    return json_reply({"errors": [{"path": path, "message": message}]}, status=status)


@json_endpoint
async def save(request: web.Request) -> web.Response:
    """``POST /console/drafts.json`` ``{"id": …or null, "payload": {…}}`` with the CSRF token in
    ``X-CSRF-Token``: ``{"id", "title", "saved_at"}``."""
    session = json_session(request)
    body = await read_json(request)
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        return _problem(422, "$", "草稿不是一个JSON对象")
    company = payload.get("company")
    company_id = company.get("id") if isinstance(company, dict) else None
    if not isinstance(company_id, str) or not company_id:
        return _problem(422, "$.company.id", "保存草稿前请先填写公司标识")
    if not session.principal.may_access(company_id):
        return _problem(403, "$.company.id", f"您的API密钥无权处理公司“{company_id}”的数据")
    request.app[CONSOLE].companies.learn(payload)
    draft_id = body.get("id")
    base = body.get("base")
    if not isinstance(draft_id, str) or not DRAFT_ID.fullmatch(draft_id):
        draft_id = None
    draft = await rows_of(request).save(
        draft_id,
        company_id=company_id,
        title=title_of(payload),
        payload=json.dumps(payload, ensure_ascii=False, indent=2),
        by=_who(session),
        base_document=base if isinstance(base, str) and DOCUMENT_ID.fullmatch(base) else "",
    )
    return json_reply({"id": draft.id, "title": draft.title, "saved_at": draft.updated_at})


def _who(session: Session) -> str:
    return session.principal.name or session.principal.scope or "API密钥"


async def load(request: web.Request, draft_id: str) -> Draft | None:
    session = session_of(request)
    if not DRAFT_ID.fullmatch(draft_id):
        return None
    return await rows_of(request).get(draft_id, session.principal.companies)


async def remove(request: web.Request) -> web.Response:
    """``POST /console/drafts/{draft_id}/delete``: gone, back to the document list."""
    session = session_of(request)
    data = await read_form(request, 64 * 1024)
    check_csrf(session, data)
    draft_id = request.match_info["draft_id"]
    if DRAFT_ID.fullmatch(draft_id):
        await rows_of(request).delete(draft_id, session.principal.companies)
    raise Redirect("/console/?notice=draft-deleted")
