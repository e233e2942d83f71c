"""The form's JSON: what the new-document form is built from, and what it shows as one types.

``GET /console/form/schema.json`` hands the page the published payload schema
(:func:`service.kinds.payload_json_schema`), each kind's figures registry (name, Chinese name,
unit: what a paragraph may quote) and the house styles, so the form is generated from them and
holds nothing of its own. ``POST /console/form/live.json`` takes a payload as it stands, even an
invalid one, and answers what the page cannot know without the server: every heading's printed
number (:func:`service.model.numbering.heading_label`), every table and breakdown as it will print
(:mod:`service.report.tables`, :mod:`service.report.table_block`: the same rounding, the same
合计), and every error of the payload with its path and its field's name. It cannot number
tables (their 表N depends on the template's own tables) and answers no table whose rows do not
parse on their own; it never stores anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from service.api.state import SETTINGS
from service.console import next_year, work
from service.console.fields import label
from service.console.forms import Form
from service.console.pages import size
from service.console.replies import check_json_csrf, json_endpoint, json_reply, json_session
from service.errors import FieldError, MalformedJSON, PayloadInvalid, PayloadTooLarge, PiluError
from service.kinds import KINDS, payload_json_schema
from service.kinds.registry import DEFAULT_KIND
from service.model import Table
from service.model.numbering import LADDER, heading_label
from service.payload.schema import Breakdown, ComplaintSource, TableSpec
from service.report.next_year import tables as payload_tables
from service.report.table_block import table_blocks
from service.report.tables import SOURCE_NAMES, breakdown_spec
from service.style import list_house_styles, load_house_style

ENVELOPE_BYTES = 64 * 1024
"""Room around a payload in a JSON body (a draft's id and base document)."""


@cache
def form_schema() -> dict[str, Any]:
    """Everything the form is generated from (the same for every user)."""
    styles = []
    for name in list_house_styles():
        try:
            style = load_house_style(name)
        except (KeyError, ValueError):
            continue
        styles.append({"name": name, "label": style.description or name})
    return {
        "schema": payload_json_schema(),
        "default_kind": DEFAULT_KIND,
        "kinds": [
            {
                "name": kind.name,
                "label": kind.label,
                "model": kind.model.__name__,
                "narrative": kind.narrative,
                "inserts": sorted(kind.inserts) if kind.inserts is not None else None,
                "figures": [
                    {"name": f.name, "label": f.label, "unit": f.unit, "source": f.source}
                    for f in kind.figures
                ],
            }
            for kind in KINDS.values()
        ],
        "house_styles": styles,
        "ladder_levels": len(LADDER),
    }


@json_endpoint
async def schema(request: web.Request) -> web.Response:
    """``GET /console/form/schema.json``."""
    json_session(request)
    return json_reply(form_schema())


async def read_json(request: web.Request) -> Any:
    """The signed-in request's JSON body (its CSRF token in ``X-CSRF-Token``), at most
    the API's body limit (and a little room around a payload); ``None`` when it is not JSON."""
    session = json_session(request)
    check_json_csrf(request, session, Form())
    limit = request.app[SETTINGS].max_body_bytes + ENVELOPE_BYTES
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"提交的内容超过上限（{size(limit)}）", details={"max_bytes": limit})
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def headings(payload: Any) -> dict[str, str]:
    """Each section's path → its printed number (``一、``, ``（二）``), as the document numbers
    it: per parent, from the payload's ``ladder_start``. Sections deeper than the ladder get
    none (the payload's validation names them)."""
    start = payload.get("ladder_start", 1) if isinstance(payload, dict) else 1
    if start not in (1, 2):
        start = 1
    out: dict[str, str] = {}

    def walk(sections: Any, path: str, level: int) -> None:
        if not isinstance(sections, list) or level not in LADDER:
            return
        for index, section in enumerate(sections):
            here = f"{path}[{index}]"
            out[here] = heading_label(level, index + 1)
            if isinstance(section, dict):
                walk(section.get("sections"), here + ".sections", level + 1)

    if isinstance(payload, dict):
        walk(payload.get("sections"), "$.sections", start)
    return out


def _printed(table: Table) -> dict[str, Any]:
    return {
        "title": table.caption.partition(" ")[2],
        "columns": [c.title for c in table.columns],
        "rows": [{"cells": list(r.cells), "kind": r.kind} for r in table.rows],
    }


def _table_specs(payload: Any) -> Iterator[tuple[str, Any, str]]:
    """``(path, value, what)`` of every table block (``what`` = ``table``) and every breakdown
    (``what`` = the source's name) in the payload."""
    if not isinstance(payload, dict):
        return
    for path, table in payload_tables(payload):
        yield path, table, "table"
    complaints = (payload.get("figures") or {}).get("complaints")
    if not isinstance(complaints, dict):
        return
    for name in SOURCE_NAMES:
        source = complaints.get(name)
        breakdowns = source.get("breakdowns") if isinstance(source, dict) else None
        if isinstance(breakdowns, list):
            for k, breakdown in enumerate(breakdowns):
                yield f"$.figures.complaints.{name}.breakdowns[{k}]", breakdown, name


def tables(payload: Any, rounding_note: str = "") -> dict[str, dict[str, Any]]:
    """Every table block and breakdown whose own fields parse, by path, as it will print: its
    rows with given cells formatted, computed cells (合计, 占比, 增减) computed, its notes."""
    out: dict[str, dict[str, Any]] = {}
    for path, value, what in _table_specs(payload):
        try:
            if what == "table":
                spec = TableSpec.model_validate(value)
            else:
                breakdown = Breakdown.model_validate(value)
                spec = breakdown_spec(what, ComplaintSource.model_construct(total=0), breakdown)
            blocks = table_blocks(1, spec, rounding_note)
        except (ValidationError, KeyError, ValueError, TypeError, ArithmeticError):
            continue
        first, notes = blocks[0], blocks[1:]
        if isinstance(first, Table):
            printed = _printed(first)
            printed["notes"] = [getattr(n, "text", "") for n in notes]
            out[path] = printed
    return out


def _rounding_note(payload: Any) -> str:
    name = payload.get("house_style") if isinstance(payload, dict) else None
    try:
        return load_house_style(
            name if isinstance(name, str) and name else "gbt9704"
        ).table.rounding_note
    except (KeyError, ValueError):
        return ""


def _dotted(payload: Any, source: str) -> Any:
    node = payload
    for key in source.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def computed_from_base(payload: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
    """The figures ``checked`` (the payload with its 同比 computed from last year's document)
    has and the payload leaves out, by JSON path: what the form offers to fill in."""
    kind = KINDS.get(str(payload.get("kind") or DEFAULT_KIND)) or KINDS[DEFAULT_KIND]
    out: dict[str, Any] = {}
    for figure in kind.figures:
        value = _dotted(checked, figure.source)
        if value is not None and _dotted(payload, figure.source) is None:
            # As the report would print it: a Decimal keeps its places (10.00) as text.
            out["$." + figure.source] = str(value) if isinstance(value, Decimal) else value
    return out


def error_list(errors: list[FieldError], payload: Any) -> list[dict[str, str]]:
    return [
        {"path": e.path, "code": e.code, "message": e.message, "label": label(e.path, payload)}
        for e in errors
    ]


@json_endpoint
async def live(request: web.Request) -> web.Response:
    """``POST /console/form/live.json`` (the payload as JSON, the session's CSRF token in
    ``X-CSRF-Token``): headings, tables, errors and — for a valid payload — its figures. With
    ``?base=<document id>`` (a draft started from last year's document) also the 同比 computed
    from that document's stored figures (``computed``) and the errors where the payload's own
    disagree with them."""
    session = json_session(request)
    payload = await read_json(request)
    if payload is None:
        return json_reply({"problem": "报送数据不是有效的JSON"}, status=422)
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    answer: dict[str, Any] = {
        "headings": headings(payload),
        "tables": tables(payload, _rounding_note(payload)),
        "errors": [],
        "figures": {},
    }
    company = payload.get("company") if isinstance(payload, dict) else None
    company_id = company.get("id") if isinstance(company, dict) else None
    if isinstance(company_id, str) and company_id and not session.principal.may_access(company_id):
        error = FieldError(
            "$.company.id", "forbidden", f"您的API密钥无权处理公司“{company_id}”的数据"
        )
        answer["errors"] = error_list([error], payload)
        return json_reply(answer)
    base = request.query.get("base", "")
    if base and isinstance(payload, dict):
        checked, base_errors = await next_year.checked_against_base(request, session, base, payload)
        answer["computed"] = computed_from_base(payload, checked)
        answer["errors"] = error_list(base_errors, payload)
    try:
        preview = await work.preview(request, raw)
    except PayloadInvalid as exc:
        answer["errors"] = answer["errors"] + error_list(list(exc.errors), payload)
    except MalformedJSON as exc:
        answer["problem"] = exc.message
    except PiluError as exc:
        answer["problem"] = f"暂时无法检查：{exc.message}"
    else:
        answer["figures"] = preview.get("figures") or {}
    return json_reply(answer)
