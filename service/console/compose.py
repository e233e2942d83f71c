"""A new document: upload or paste a payload, see every problem beside its field or the figures
as they will be printed, then generate, store and download."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from aiohttp import web

from service.api.state import SETTINGS
from service.console import drafts, work
from service.console.common import check_csrf, session_of, store_of
from service.console.fields import field_rows, figure_label, label, near_errors
from service.console.forms import FORM_OVERHEAD_BYTES, Form, read_form
from service.console.pages import Redirect, page, size
from service.console.sessions import Session
from service.console.state import CONSOLE
from service.errors import FieldError, MalformedJSON, PayloadInvalid, PiluError
from service.kinds.registry import DEFAULT_KIND
from service.payload.parse import decode_json

_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_RUNGS = (
    re.compile(r"[一二三四五六七八九十百]+、"),
    re.compile(r"（[一二三四五六七八九十百]+）"),
    re.compile(r"\d+[.．]"),
    re.compile(r"（\d+）"),
)


def heading_levels(headings: list[str]) -> list[tuple[int, str]]:
    """Each heading with its depth (0 for the top rung used), read from its number."""
    rungs = [
        next((i for i, rung in enumerate(_RUNGS) if rung.match(h)), len(_RUNGS) - 1)
        for h in headings
    ]
    top = min(rungs, default=0)
    return [(rung - top, h) for rung, h in zip(rungs, headings, strict=False)]


class GenerateForbidden(PiluError):
    """The console was asked to generate a document for a company its key may not use."""

    status = 403
    code = "forbidden"


def _limit(request: web.Request) -> int:
    return request.app[SETTINGS].max_body_bytes


def _forbidden_error(company: str) -> FieldError:
    return FieldError("$.company.id", "forbidden", f"您的API密钥无权处理公司“{company}”的数据")


def _form_page(
    request: web.Request,
    *,
    status: int = 200,
    text: str = "",
    payload: Any = None,
    errors: list[FieldError] | None = None,
    json_error: MalformedJSON | None = None,
    problem: str | None = None,
    draft_id: str = "",
    from_document: str = "",
    base_document: str = "",
) -> web.Response:
    errors = errors or []
    groups = field_rows(payload, errors) if errors else []
    summary = [
        {"label": label(e.path, payload), "message": e.message, "path": e.path,
         "anchor": next(r.anchor for g in groups for r in g.rows if r.path == e.path)}
        for e in errors
    ]  # fmt: skip
    return page(
        request,
        "new.html",
        status=status,
        title="新建文档",
        nav="new",
        text=text,
        groups=near_errors(groups),
        summary=summary,
        json_error=json_error,
        problem=problem,
        max_size=size(_limit(request)),
        draft_id=draft_id,
        from_document=from_document,
        base_document=base_document,
        form_schema="/console/form/schema.json",
    )


async def form(request: web.Request) -> web.Response:
    """``GET /console/new``; ``?draft=<id>`` resumes a draft, ``?from=<document id>`` starts
    from that document's next-year draft (filled in by the page)."""
    session = session_of(request)
    draft_id = request.query.get("draft", "")
    if draft_id:
        draft = await drafts.load(request, draft_id)
        if draft is None:
            raise web.HTTPNotFound()
        return _form_page(
            request, text=draft.payload, draft_id=draft.id, base_document=draft.base_document
        )
    from_document = request.query.get("from", "")
    if from_document and not drafts.DOCUMENT_ID.fullmatch(from_document):
        raise web.HTTPNotFound()
    return _form_page(
        request,
        text=_starting_text(session),
        from_document=from_document,
        base_document=from_document,
    )


def _starting_text(session: Session) -> str:
    """A new payload's first lines: the kind, and the company when the key has only one."""
    start: dict[str, Any] = {"kind": DEFAULT_KIND}
    companies = sorted(session.principal.companies)
    if len(companies) == 1 and companies[0] != "*":
        start["company"] = {"id": companies[0]}
    return json.dumps(start, ensure_ascii=False, indent=2)


def _payload_from(form: Form, limit: int) -> tuple[bytes, str | None]:
    """The payload bytes from the uploaded file (preferred) or the text box; or a problem."""
    upload = form.file("file")
    raw = upload.data if upload is not None else form.get("payload").encode("utf-8")
    if not raw.strip():
        return b"", "请粘贴报送数据（JSON），或选择一个 .json 文件。"
    if len(raw) > limit:
        return b"", f"报送数据超过上限（{size(limit)}）。"
    return raw.removeprefix(b"\xef\xbb\xbf"), None


async def check(request: web.Request) -> web.Response:
    """``POST /console/new``: validate; every error beside its field, or the preview."""
    session = session_of(request)
    limit = _limit(request)
    data = await read_form(request, limit + FORM_OVERHEAD_BYTES)
    check_csrf(session, data)
    raw, problem = _payload_from(data, limit)
    text = raw.decode("utf-8", "replace") if raw else data.get("payload")
    draft_id = _draft_id(data)
    if problem is not None:
        return _form_page(request, status=422, text=text, problem=problem, draft_id=draft_id)
    if data.get("action") == "edit":
        return _form_page(request, text=text, draft_id=draft_id)
    try:
        payload = decode_json(raw)
    except MalformedJSON as exc:
        return _form_page(request, status=422, text=text, json_error=exc, draft_id=draft_id)
    request.app[CONSOLE].companies.learn(payload)
    errors = _access_errors(request, session, raw)
    if not errors:
        try:
            preview = await work.preview(request, raw)
        except PayloadInvalid as exc:
            errors = list(exc.errors)
        else:
            return _preview_page(request, raw, preview, draft_id)
    status = 403 if errors[0].code == "forbidden" else 422
    return _form_page(
        request, status=status, text=text, payload=payload, errors=errors, draft_id=draft_id
    )


def _draft_id(data: Form) -> str:
    value = data.get("draft_id")
    return value if drafts.DRAFT_ID.fullmatch(value) else ""


def _access_errors(request: web.Request, session: Session, raw: bytes) -> list[FieldError]:
    try:
        company = work.company_id(request, raw)
    except PayloadInvalid as exc:
        return list(exc.errors)
    if not session.principal.may_access(company):
        return [_forbidden_error(company)]
    return []


def _preview_page(
    request: web.Request, raw: bytes, preview: dict[str, Any], draft_id: str = ""
) -> web.Response:
    figures = [
        {"name": name, "label": figure_label(name), "value": value}
        for name, value in (preview.get("figures") or {}).items()
    ]
    company = preview.get("company") or {}
    facts = [
        (
            "公司",
            f"{company.get('full_name') or company.get('short_name', '')}（{company.get('id', '')}）",
        ),
        ("报告年度", preview.get("report_year")),
        ("标题", str(preview.get("title") or "").replace("\n", "")),
        ("模板版本", preview.get("template_version")),
        ("版式方案", preview.get("house_style")),
        (
            "文件名",
            f"{preview['filename_stem']}.pdf / .docx" if preview.get("filename_stem") else None,
        ),
    ]
    return page(
        request,
        "preview.html",
        facts=[(name, value) for name, value in facts if value],
        title="核对数据",
        nav="new",
        preview=preview,
        figures=figures,
        tables=preview.get("tables") or [],
        headings=heading_levels(preview.get("headings") or []),
        payload_b64=base64.b64encode(raw).decode("ascii"),
        text=raw.decode("utf-8", "replace"),
        nonce=secrets.token_urlsafe(16),
        draft_id=draft_id,
    )


async def generate(request: web.Request) -> web.Response:
    """``POST /console/new/generate``: render both outputs, store version 1, go to it."""
    session = session_of(request)
    limit = _limit(request)
    data = await read_form(request, limit * 2 + FORM_OVERHEAD_BYTES)
    check_csrf(session, data)
    try:
        raw = base64.b64decode(data.get("payload_b64"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or len(raw) > limit:
        return _form_page(request, status=422, problem="报送数据缺失或无效，请重新填写。")
    store = store_of(request)
    errors = _access_errors(request, session, raw)
    if errors and errors[0].code == "forbidden":
        raise GenerateForbidden(errors[0].message)
    text = raw.decode("utf-8", "replace")
    try:
        payload = decode_json(raw)
    except MalformedJSON as exc:
        return _form_page(request, status=422, text=text, json_error=exc)
    if errors:
        return _form_page(request, status=422, text=text, payload=payload, errors=errors)
    nonce = data.get("nonce")
    key = f"new:{nonce}" if _NONCE.fullmatch(nonce) else None
    if key is not None:
        earlier = await store.documents.find_replay(session.scope, key, raw)
        if earlier is not None:
            raise Redirect(f"/console/documents/{earlier.id}?notice=replayed")
    outcome = await work.render(request, raw)
    if outcome.rendered is None:
        return _form_page(
            request, status=422, text=text, payload=payload, errors=list(outcome.errors)
        )
    if not session.principal.may_access(outcome.rendered.company_id):
        raise GenerateForbidden(_forbidden_error(outcome.rendered.company_id).message)
    result = await store.documents.create(
        raw, outcome.rendered, idempotency_key=key, scope=session.scope,
        created_by=session.principal.name, by_identity=True,
    )  # fmt: skip
    draft_id = _draft_id(data)
    if draft_id:
        await drafts.rows_of(request).delete(draft_id, session.principal.companies)
    notice = "replayed" if result.replayed else "created"
    raise Redirect(f"/console/documents/{result.document.id}?notice={notice}")
