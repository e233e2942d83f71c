"""The OpenAPI 3.1 description of the API, built from code so it cannot drift far.

The payload schema is the one :func:`service.pipeline.payload_json_schema` publishes; its
``$defs`` are lifted into ``components/schemas`` and its ``$ref``s rewritten to match (an
embedded ``#/$defs/...`` would point at the OpenAPI document's root). The response bodies are
the models of :mod:`service.api.responses`, the ones the handlers answer with. The error codes
come from the :class:`~service.errors.PiluError` tree. A test checks that every route is
described and the result passes openapi-spec-validator; wording of descriptions is by hand.
"""

from __future__ import annotations

import copy
from importlib import metadata
from typing import Any

from service.api.openapi_archive import (
    archive_parameters,
    archive_paths,
    archive_responses,
    archive_webhooks,
)
from service.api.responses import ApiError, ApiPreview, ApiStatus, response_schemas, schema_ref
from service.errors import PiluError
from service.formats import MEDIA_TYPES
from service.style import PDF_VARIANTS

PAYLOAD = "Payload"


_MEANINGS = {
    "malformed_json": "The body is not valid JSON; `details` has line, column and position.",
    "payload_invalid": "The payload breaks the schema or a rule; `details` lists every problem "
    "with its JSON path.",
    "payload_too_large": "The body is larger than `max_body_bytes`.",
    "method_not_allowed": "The path does not take this method; `details.allowed` lists those "
    "it does.",
    "not_acceptable": "The asked output format (`format` or `Accept`) is not offered.",
    "not_found": "No such path.",
    "unknown_template": "No report template for this report kind and year.",
    "http_error": "Another HTTP-level error from the server (rare).",
}


def error_catalogue() -> list[tuple[int, str, str]]:
    """``(status, code, meaning)`` for every error the API can answer, sorted by status.

    Meanings are the first sentence of the docstring of the first PiluError subclass with that
    code (breadth first, so ``Forbidden`` before a subclass of it) unless :data:`_MEANINGS`
    words it for callers; a class without a docstring is a test failure, never its name.
    """
    classes: list[type[PiluError]] = []
    stack = list(PiluError.__subclasses__())
    while stack:
        cls = stack.pop(0)
        stack.extend(cls.__subclasses__())
        if not cls.__name__.startswith("_"):
            classes.append(cls)
    out: dict[str, tuple[int, str, str]] = {}
    for cls in classes:
        meaning = _MEANINGS.get(cls.code) or _first_sentence(cls.__doc__ or "")
        out.setdefault(cls.code, (cls.status, cls.code, meaning))
    out.setdefault("http_error", (400, "http_error", _MEANINGS["http_error"]))
    return sorted(out.values())


def _first_sentence(doc: str) -> str:
    """The docstring's first sentence on one line, with ``literal`` spans as `code`."""
    text = " ".join(doc.split()).replace("``", "`")
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def build_openapi(payload_schema: dict[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
    responses = response_schemas()
    schemas = {**_payload_components(payload_schema, reserved=set(responses)), **responses}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pilu",
            "version": _version(),
            "summary": "消费者权益保护工作重大信息披露: JSON payload to PDF and DOCX.",
            "description": _INFO_DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"apiKeyHeader": []}],
        "paths": {**_paths(formats), **archive_paths()},
        "webhooks": archive_webhooks(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <key>`.",
                },
                "apiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "The same key in `X-API-Key` (Authorization wins if both).",
                },
            },
            "parameters": {
                "RequestId": {
                    "name": "X-Request-ID",
                    "in": "header",
                    "required": False,
                    "description": "Kept and echoed if 1–128 of `A-Z a-z 0-9 . _ : -`; "
                    "otherwise a new id is made. Logs carry it.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                },
                **archive_parameters(),
            },
            "headers": {
                "RequestId": {
                    "description": "The request's id (the caller's or a new one).",
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer"},
                },
            },
            "responses": {**_error_responses(), **archive_responses()},
        },
    }


_INFO_DESCRIPTION = """\
Send a disclosure payload (JSON, see `GET /v1/schema`) and get the documents back.

Every failure has the same body: `{"error": {"code", "message", "details"}}`. `code` is
stable and meant for programs; `message` is for people (Chinese). For `payload_invalid`,
`details` lists every problem with its JSON path; for `malformed_json`, the line, column and
position of the syntax error.

Endpoints under `/v1` (except `/v1/schema`) need an API key, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Each key is allowed one or more company
ids (or all); a key may only send payloads whose `company.id` it is allowed (else 403).

`/v1/documents` keeps what it renders (payload, PDF, DOCX, manifest, every version) and
`/v1/batches` renders many payloads in the background on every node sharing the store. A key
sees only its companies' documents and batches; any other is 404, as if it did not exist.
"""


def _version() -> str:
    try:
        return metadata.version("pilu")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def _payload_components(payload_schema: dict[str, Any], reserved: set[str]) -> dict[str, Any]:
    """The payload schema as ``Payload`` and its ``$defs`` beside it; a name in ``reserved``
    (the response models') is an error rather than one schema silently replacing the other."""
    schema = copy.deepcopy(payload_schema)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    defs = schema.pop("$defs", {})
    out = {name: _rewrite_refs(body) for name, body in defs.items()}
    clash = set(out) & {PAYLOAD, *reserved}
    if clash:
        raise ValueError(f"payload schema definitions clash with API schema names: {clash}")
    out[PAYLOAD] = _rewrite_refs(schema)
    return out


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                "#/components/schemas/" + v.removeprefix("#/$defs/")
                if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                else _rewrite_refs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


_ERROR_RESPONSES = {
    "MalformedJSON": (
        400,
        "`malformed_json` (the body is not JSON; `details` gives line, column and position), "
        "`malformed_body` (not in its declared `Content-Encoding`), or `invalid_parameter` (a "
        "query parameter given twice).",
    ),
    "Unauthorized": (401, "No API key, or an unknown one."),
    "Forbidden": (403, "The key may not use this payload's company."),
    "NotAcceptable": (406, "The format asked (`format` or `Accept`) is not offered."),
    "RequestTimeout": (
        408,
        "`request_timeout`: the body did not arrive whole within `body_timeout_s`; the "
        "connection is closed.",
    ),
    "PayloadTooLarge": (413, "The body is over `max_body_bytes`."),
    "TooManyUploads": (
        429,
        "`too_many_uploads`: this key already sends `uploads_per_key` bodies; see Retry-After.",
    ),
    "PayloadInvalid": (422, "The payload breaks the schema or a rule; `details` lists all."),
    "InternalError": (
        500,
        (
            "An unexpected failure (`internal_error`, `render_failed`, `worker_crashed`, "
            "`output_unreadable`); "
            "the log has the rest under the request id."
        ),
    ),
    "Unavailable": (503, "`overloaded` (queue full) or `shutting_down`; see Retry-After."),
    "RenderTimeout": (504, "The render passed `render_timeout_s`; its worker was replaced."),
}


def _error_responses() -> dict[str, Any]:
    out = {}
    for name, (status, text) in _ERROR_RESPONSES.items():
        headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
        if status in (429, 503):
            headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
        if status == 401:
            headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
        out[name] = {
            "description": text,
            "headers": headers,
            "content": {"application/json": {"schema": schema_ref(ApiError)}},
        }
    return out


def _err(*names: str) -> dict[str, Any]:
    return {str(_ERROR_RESPONSES[n][0]): {"$ref": f"#/components/responses/{n}"} for n in names}


def _json(
    schema: dict[str, Any], description: str, media: str = "application/json"
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
        "content": {media: {"schema": schema}},
    }


_REQUEST_ID_PARAM = {"$ref": "#/components/parameters/RequestId"}
_PAYLOAD_BODY = {
    "required": True,
    "description": "The disclosure payload, UTF-8 JSON, at most `max_body_bytes`.",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{PAYLOAD}"}}},
}


def _public(
    summary: str,
    description: str,
    response: dict[str, Any],
    op_id: str,
    other_responses: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "description": description,
            "security": [],
            "tags": ["operations"] if op_id in {"healthz", "readyz", "metrics"} else ["reference"],
            "parameters": [_REQUEST_ID_PARAM],
            "responses": {"200": response, **(other_responses or {})},
        }
    }


def _paths(formats: tuple[str, ...]) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    return {
        "/v1/render": {
            "post": {
                "operationId": "render",
                "summary": "Render the payload to PDF, DOCX or a ZIP of both",
                "description": "The format comes from `format`, else from `Accept` "
                "(application/pdf, application/vnd.openxmlformats-officedocument."
                "wordprocessingml.document, application/zip), else PDF. The file name is in "
                "`Content-Disposition`: `filename*` (UTF-8, Chinese) with an ASCII `filename` "
                "for old clients. Renders wait in a bounded queue; past it the answer is 503.",
                "tags": ["documents"],
                "parameters": [
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "description": "Output format; wins over `Accept`.",
                        "schema": {"type": "string", "enum": list(formats)},
                    },
                    {
                        "name": "pdf",
                        "in": "query",
                        "required": False,
                        "description": "The PDF (alone or in the ZIP): `pdf/a-3b` (archival: "
                        "tagged, the payload and render manifest attached) or `plain`; default "
                        "the house style's (`pdf/a-3b`). Anything else: 400 `invalid_parameter`.",
                        "schema": {"type": "string", "enum": list(PDF_VARIANTS)},
                    },
                    _REQUEST_ID_PARAM,
                ],
                "requestBody": _PAYLOAD_BODY,
                "responses": {
                    "200": {
                        "description": "The document.",
                        "headers": {
                            "Content-Disposition": {
                                "description": 'attachment; filename="ascii.pdf"; '
                                "filename*=UTF-8''<percent-encoded Chinese name>",
                                "schema": {"type": "string"},
                            },
                            "X-Request-ID": {"$ref": "#/components/headers/RequestId"},
                        },
                        "content": {MEDIA_TYPES[f]: {"schema": binary} for f in formats},
                    },
                    **_err(
                        "MalformedJSON",
                        "Unauthorized",
                        "Forbidden",
                        "NotAcceptable",
                        "RequestTimeout",
                        "PayloadTooLarge",
                        "TooManyUploads",
                        "PayloadInvalid",
                        "InternalError",
                        "Unavailable",
                        "RenderTimeout",
                    ),
                },
            }
        },
        "/v1/validate": {
            "post": {
                "operationId": "validate",
                "summary": "Check the payload and preview what will be printed",
                "description": "422 with every problem and its JSON path, or 200 with the "
                "computed figures as they will be printed.",
                "tags": ["documents"],
                "parameters": [_REQUEST_ID_PARAM],
                "requestBody": _PAYLOAD_BODY,
                "responses": {
                    "200": _json(schema_ref(ApiPreview), "Valid; preview."),
                    **_err(
                        "MalformedJSON",
                        "Unauthorized",
                        "Forbidden",
                        "RequestTimeout",
                        "PayloadTooLarge",
                        "TooManyUploads",
                        "PayloadInvalid",
                        "InternalError",
                        "Unavailable",
                        "RenderTimeout",
                    ),
                },
            }
        },
        "/v1/schema": _public(
            "Payload JSON Schema",
            "The JSON Schema (2020-12) of the payload; the same as components/schemas/Payload.",
            _json({"type": "object"}, "The schema.", "application/schema+json"),
            "schema",
        ),
        "/healthz": _public(
            "Process alive",
            "Always 200 while the process answers; never waits for a worker.",
            _json(schema_ref(ApiStatus), "Alive."),
            "healthz",
        ),
        "/readyz": _public(
            "Workers warm",
            "200 while at least one worker is warm and the service takes work; 503 `not_ready` "
            "while starting, draining for shutdown, or with every worker being replaced.",
            _json(schema_ref(ApiStatus), "Ready."),
            "readyz",
            {
                "503": {
                    "description": "Not ready; `details` holds the worker counts.",
                    "content": {"application/json": {"schema": schema_ref(ApiError)}},
                }
            },
        ),
        "/metrics": _public(
            "Prometheus metrics",
            "Requests by route and status, latency histograms, render time by format, queue "
            "depth, busy and warm workers, worker restarts by reason.",
            _json({"type": "string"}, "Prometheus text exposition format.", "text/plain"),
            "metrics",
        ),
        "/openapi.json": _public(
            "This description",
            "OpenAPI 3.1.",
            _json({"type": "object"}, "The OpenAPI document."),
            "openapi",
        ),
        "/docs": _public(
            "API reference page",
            "This API as one self-contained HTML page (no scripts, no CDN).",
            _json({"type": "string"}, "HTML.", "text/html"),
            "docs",
        ),
    }
