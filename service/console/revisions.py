"""An edited Word document comes back through the console: the upload form on a document's
page reads it back (:mod:`service.readback`) against the version being viewed, stores the next
version rendered from what was read (the upload kept beside it), and shows the diff page; the
diff page shows any version against the one before it.

A failed read stores nothing and shows every problem with its place in the document.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.api.archive.params import checked_id
from service.api.archive.revisions import version_diff
from service.api.state import SETTINGS
from service.console import work
from service.console.common import check_csrf, session_of, store_of
from service.console.forms import read_form
from service.console.pages import Redirect, page
from service.errors import FieldError, PiluError
from service.readback import ReadBackFailed, read_back

NOTICE = "已从上传的Word文档读回报送数据，生成并存档了新版本；以下是与上一版的差异。"


class ImportFailed(PiluError):
    """The uploaded DOCX could not become a version (``details``: label, path, message)."""

    status = 422
    code = "docx_unreadable"


def _details(errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"label": e.path, "path": e.path, "message": e.message} for e in errors]


async def upload(request: web.Request) -> web.Response:
    """``POST /console/documents/{id}/revisions``: multipart ``docx`` (the edited file),
    ``version`` (the version it was downloaded as), ``mode`` (``best-effort`` or not)."""
    session = session_of(request)
    settings = request.app[SETTINGS]
    form = await read_form(request, settings.max_docx_bytes + 64 * 1024)
    check_csrf(session, form)
    upload = form.file("docx")
    if upload is None:
        raise ImportFailed("请选择要上传的Word文档（.docx）")
    store = store_of(request)
    document_id = checked_id(request.match_info["document_id"], "document")
    allowed = session.allowed_companies
    version_text = form.get("version")
    base = await store.documents.get(
        document_id,
        version=int(version_text) if version_text.isdigit() else None,
        allowed_companies=allowed,
    )
    base_payload = await store.documents.read_payload(
        document_id, version=base.version.version, allowed_companies=allowed
    )
    try:
        result = await asyncio.to_thread(
            read_back,
            upload.data,
            base_payload,
            best_effort=form.get("mode") == "best-effort",
            max_unpacked=settings.max_docx_unpacked_bytes,
        )
    except ReadBackFailed as exc:
        raise ImportFailed(exc.message, details=_details(exc.errors)) from None
    outcome = await work.render(request, result.payload)
    if outcome.rendered is None:
        raise ImportFailed("读回的报送数据无法生成文档", details=_details(list(outcome.errors)))
    filename = base.version.manifest.outputs["docx"].filename.removesuffix(".docx")
    stored = await store.documents.regenerate(
        document_id,
        result.payload,
        outcome.rendered,
        scope=session.scope,
        allowed_companies=allowed,
        created_by=session.principal.name,
        uploaded_docx=(upload.data, f"{filename}-修改稿.docx"),
    )
    version = stored.document.version.version
    raise Redirect(f"/console/documents/{document_id}/versions/{version}/diff?notice=imported")


async def show_diff(request: web.Request) -> web.Response:
    """``GET /console/documents/{id}/versions/{n}/diff``: version N against N−1."""
    session = session_of(request)
    text = request.match_info["version"]
    doc, diff = await version_diff(
        store_of(request),
        checked_id(request.match_info["document_id"], "document"),
        int(text) if text.isdigit() and len(text) < 10 else None,
        session.allowed_companies,
    )
    name = doc.version.manifest.outputs["docx"].filename.removesuffix(".docx")
    return page(
        request,
        "revision.html",
        title=f"{name} 第{doc.version.version}版的修改",
        nav="documents",
        doc=doc,
        name=name,
        diff=diff,
        uploaded=doc.version.manifest.uploaded_docx,
        notice=NOTICE if request.query.get("notice") == "imported" else None,
    )
