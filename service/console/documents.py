"""Documents: the list, one document (manifest, versions, parity check, page thumbnails),
downloads and regenerating with today's templates."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from aiohttp import web

from service.api.archive.params import MAX_FILTER_CHARS, checked_id
from service.api.archive.streaming import stream_reply
from service.api.negotiation import ascii_filename, content_disposition
from service.console import drafts, parity_view, work
from service.console.common import check_csrf, session_of, store_of
from service.console.fields import label
from service.console.forms import read_form
from service.console.pages import Redirect, page, report_kinds
from service.console.state import CONSOLE
from service.errors import InvalidCursor, NotFound, PiluError
from service.formats import MEDIA_TYPES
from service.payload.parse import decode_json

PAGE_SIZE = 20
FORM_LIMIT = 16 * 1024
_YEAR = re.compile(r"\d{4}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
NOTICES = {
    "created": "文档已生成并存档。",
    "regenerated": "已用当前模板重新生成，新版本已存档；旧版本保持不变。",
    "replayed": "该请求已处理过，显示的是当时生成的版本。",
    "draft-deleted": "草稿已删除。",
}


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class RegenerateFailed(PiluError):
    status = 422
    code = "payload_invalid"


def _document_id(request: web.Request) -> str:
    """The path's document id; what cannot be one is ``NotFound`` before the store is asked."""
    return checked_id(request.match_info["document_id"], "document")


def _version_param(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 9:
        raise NotFound("文档没有该版本", details={"version": text})
    return int(text)


async def index(request: web.Request) -> web.Response:
    """``GET /console/``: documents the user may see, newest first, filtered, a page at a time."""
    session = session_of(request)
    store = store_of(request)
    query = request.query
    company = query.get("company", "").strip()
    if len(company) > MAX_FILTER_CHARS or not company.isprintable():
        company = ""  # cannot be a company id; a database may refuse it (NUL)
    year_text = query.get("year", "").strip()
    kind = query.get("kind", "").strip()
    cursor = query.get("cursor", "").strip() or None
    page_number = int(query["page"]) if query.get("page", "").isdigit() else 1
    problems = []
    year = None
    if year_text:
        if _YEAR.fullmatch(year_text):
            year = int(year_text)
        else:
            problems.append("报告年度须为四位数字，例如 2023。")
    kinds = report_kinds()
    if kind and kind not in kinds:
        problems.append("未知的报告类型。")
        kind = ""
    try:
        result = await store.documents.list(
            company_id=company or None,
            report_year=year,
            kind=kind or None,
            allowed_companies=session.allowed_companies,
            limit=PAGE_SIZE,
            cursor=cursor,
        )
    except InvalidCursor:
        raise Redirect("/console/") from None
    saved = [] if cursor else await drafts.rows_of(request).list(session.principal.companies)
    names = request.app[CONSOLE].companies
    await names.load(store, result.items, session.allowed_companies)
    await names.load_ids(store, sorted(session.principal.companies))
    return page(
        request,
        "documents.html",
        title="文档",
        nav="documents",
        documents=result.items,
        next_cursor=result.next_cursor,
        page_number=page_number,
        filters={"company": company, "year": year_text, "kind": kind},
        filtered=bool(company or year_text or kind),
        kinds=kinds,
        problems=problems,
        drafts=[
            {"draft": d, "company": drafts.company_name(d), "saved_at": _utc(d.updated_at)}
            for d in saved
            if not company or d.company_id == company
        ],
        notice=NOTICES.get(query.get("notice", "")),
    )


async def show(request: web.Request) -> web.Response:
    """``GET /console/documents/{id}``: one version (the latest unless ``?version=``)."""
    session = session_of(request)
    store = store_of(request)
    document_id = _document_id(request)
    allowed = session.allowed_companies
    doc = await store.documents.get(
        document_id, version=_version_param(request.query.get("version")), allowed_companies=allowed
    )
    versions = await store.documents.versions(document_id, allowed_companies=allowed)
    await request.app[CONSOLE].companies.load(store, [doc], allowed)
    manifest = doc.version.manifest
    pdf = manifest.outputs.get("pdf")
    thumbnails = request.app[CONSOLE].thumbnails
    thumbs = None
    if pdf is not None:

        async def load_pdf() -> bytes:
            return await store.artifacts.get(pdf.sha256)

        thumbs = await thumbnails.pages(pdf.sha256, load_pdf)
    name = (
        next(iter(manifest.outputs.values())).filename.rsplit(".", 1)[0]
        if manifest.outputs
        else doc.id
    )
    return page(
        request,
        "document.html",
        title=name,
        nav="documents",
        doc=doc,
        name=name,
        manifest=manifest,
        versions=list(reversed(versions)),
        thumbs=thumbs,
        parity=await parity_view.for_version(request, doc),
        thumbnails_available=thumbnails.available,
        notice=NOTICES.get(request.query.get("notice", "")),
        nonce=secrets.token_urlsafe(16),
    )


async def download(request: web.Request) -> web.StreamResponse:
    """``GET /console/documents/{id}/versions/{n}/{pdf|docx}``: the stored bytes, streamed."""
    session = session_of(request)
    store = store_of(request)
    fmt = request.match_info["fmt"]
    doc = await store.documents.get(
        _document_id(request),
        version=_version_param(request.match_info["version"]),
        allowed_companies=session.allowed_companies,
    )
    info = doc.version.manifest.outputs.get(fmt)
    if info is None:
        raise NotFound("文档没有该格式", details={"format": fmt})
    return await stream_reply(
        request,
        store.documents.stream_output(info),
        {
            "Content-Type": MEDIA_TYPES[fmt],
            "Content-Disposition": content_disposition(
                info.filename, ascii_filename(info.filename, doc.company_id)
            ),
        },
        size=info.size,
        what=f"{fmt} of {doc.id} v{doc.version.version}",
    )


async def thumbnail(request: web.Request) -> web.StreamResponse:
    """``GET /console/documents/{id}/versions/{n}/pages/{page}.png``."""
    session = session_of(request)
    store = store_of(request)
    doc = await store.documents.get(
        _document_id(request),
        version=_version_param(request.match_info["version"]),
        allowed_companies=session.allowed_companies,
    )
    pdf = doc.version.manifest.outputs.get("pdf")
    if pdf is None:
        raise NotFound("文档没有PDF")
    number = int(request.match_info["page"])
    thumbnails = request.app[CONSOLE].thumbnails
    path = thumbnails.path(pdf.sha256, number)
    if path is None:

        async def load_pdf() -> bytes:
            return await store.artifacts.get(pdf.sha256)

        await thumbnails.pages(pdf.sha256, load_pdf)
        path = thumbnails.path(pdf.sha256, number)
    if path is None:
        raise NotFound("没有这一页的缩略图", details={"page": number})
    return web.FileResponse(path, headers={"Content-Type": "image/png"})


async def regenerate(request: web.Request) -> web.Response:
    """``POST /console/documents/{id}/regenerate``: the latest payload rendered with the current
    template and house style, stored as a new version."""
    session = session_of(request)
    form = await read_form(request, FORM_LIMIT)
    check_csrf(session, form)
    store = store_of(request)
    document_id = _document_id(request)
    allowed = session.allowed_companies
    raw = await store.documents.read_payload(document_id, allowed_companies=allowed)
    outcome = await work.render(request, raw)
    if outcome.rendered is None:
        try:
            payload = decode_json(raw)
        except PiluError:
            payload = None
        details = [
            {"label": label(e.path, payload), "path": e.path, "message": e.message}
            for e in outcome.errors
        ]
        raise RegenerateFailed("当前模板无法生成该文档：存档的报送数据有以下问题", details=details)
    nonce = form.get("nonce")
    key = f"regenerate:{nonce}" if _NONCE.fullmatch(nonce) else None
    result = await store.documents.regenerate(
        document_id,
        raw,
        outcome.rendered,
        idempotency_key=key,
        scope=session.scope,
        allowed_companies=allowed,
        created_by=session.principal.name,
    )
    notice = "replayed" if result.replayed else "regenerated"
    raise Redirect(
        f"/console/documents/{document_id}?version={result.document.version.version}&notice={notice}"
    )
