"""Starting from last year: ``GET /console/documents/{id}/next-year.json`` gives next year's
draft of a stored document (:func:`service.report.next_year.next_year`), and
``POST /console/documents/{id}/next-year/check`` checks a payload made from it against its
stored figures (:func:`service.report.next_year.year_on_year`). JSON for the form's script.

The draft: ``{"payload": …, "previous": {"<JSON path>": last year's value}, "base": {"document_id",
"version", "report_year"}}``, from the latest version's payload as stored. The check takes the
form fields ``payload`` (JSON) and ``csrf`` (or the ``X-CSRF-Token`` header) and answers
``{"payload": … with each 同比 left out computed, "errors": [{"path", "code", "message"}]}``; a
handler generating from a base document calls :func:`checked_against_base` the same way.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.api.archive.params import checked_id
from service.api.state import SETTINGS
from service.console.common import store_of
from service.console.forms import FORM_OVERHEAD_BYTES, read_form
from service.console.replies import check_json_csrf, json_endpoint, json_reply, json_session
from service.console.sessions import Session
from service.errors import FieldError, MalformedJSON, PayloadInvalid
from service.payload.parse import decode_json
from service.report.next_year import NoNextYear, next_year, year_on_year

ROUTE = "/console/documents/{document_id}/next-year"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(ROUTE + ".json", draft, name="console.next_year")
    router.add_post(ROUTE + "/check", check, name="console.next_year_check")


async def base_payload(
    request: web.Request, session: Session, document_id: str
) -> tuple[dict[str, Any], int]:
    """The stored payload of the latest version of a document the session may see, and that
    version's number; ``NotFound`` otherwise."""
    store = store_of(request)
    document_id = checked_id(document_id, "document")
    allowed = session.allowed_companies
    doc = await store.documents.get(document_id, allowed_companies=allowed)
    raw = await store.documents.read_payload(
        document_id, version=doc.version.version, allowed_companies=allowed
    )
    stored = decode_json(raw)
    if not isinstance(stored, dict):
        raise NoNextYear("存档的报送数据不是JSON对象")
    return stored, doc.version.version


@json_endpoint
async def draft(request: web.Request) -> web.Response:
    session = json_session(request)
    document_id = request.match_info["document_id"]
    stored, version = await base_payload(request, session, document_id)
    made = next_year(stored)
    return json_reply(
        {
            "payload": made.payload,
            "previous": made.previous,
            "base": {
                "document_id": document_id,
                "version": version,
                "report_year": stored.get("report_year"),
            },
        }
    )


async def checked_against_base(
    request: web.Request, session: Session, document_id: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """``payload`` with its 同比 computed from the base document where left out, and the errors
    where the figures it gives disagree with the base's stored ones."""
    stored, _ = await base_payload(request, session, document_id)
    return year_on_year(payload, stored)


@json_endpoint
async def check(request: web.Request) -> web.Response:
    session = json_session(request)
    form = await read_form(request, request.app[SETTINGS].max_body_bytes + FORM_OVERHEAD_BYTES)
    check_json_csrf(request, session, form)
    try:
        payload = decode_json(form.get("payload"))
    except MalformedJSON as exc:
        raise PayloadInvalid([FieldError("$", "malformed_json", exc.message)]) from exc
    if not isinstance(payload, dict):
        raise PayloadInvalid([FieldError("$", "model_type", "报送数据须为JSON对象")])
    checked, errors = await checked_against_base(
        request, session, request.match_info["document_id"], payload
    )
    return json_reply({"payload": checked, "errors": [e.as_dict() for e in errors]})
