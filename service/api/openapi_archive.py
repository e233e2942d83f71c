"""The OpenAPI description of stored documents and batches (:mod:`service.api.archive`).

Merged into the document :func:`service.api.openapi.build_openapi` builds: paths, parameters,
error responses and the ``batch.finished`` webhook (OpenAPI 3.1 ``webhooks``). The bodies they
name (``ApiDocument``, ``ApiBatch``…) are the models of :mod:`service.api.responses`. Each
operation carries ``x-codeSamples`` (a curl line) for the ``/docs`` page.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service.api.responses import (
    ApiBatch,
    ApiBatchPage,
    ApiDocument,
    ApiDocumentPage,
    ApiDocumentVersions,
    ApiError,
    ApiParity,
    ApiRevision,
    ApiWebhookEvent,
    schema_ref,
)

_SCHEMAS = "#/components/schemas/"
_RESPONSES = "#/components/responses/"
_PARAMS = "#/components/parameters/"
_REQUEST_ID_PARAM = {"$ref": _PARAMS + "RequestId"}
_REQUEST_ID_HEADER = {"$ref": "#/components/headers/RequestId"}
_BINARY = {"type": "string", "format": "binary"}
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_AUTH = '-H "Authorization: Bearer $PILU_KEY"'

_STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "RequestTimeout": 408,
    "Conflict": 409,
    "PayloadTooLarge": 413,
    "TooManyUploads": 429,
    "UnsupportedMediaType": 415,
    "PayloadInvalid": 422,
    "BatchInvalid": 422,
    "DocxRefused": 400,
    "DocxUnreadable": 422,
    "InternalError": 500,
    "Unavailable": 503,
    "RenderTimeout": 504,
    "StorageRefused": 507,
}

_OWN_RESPONSES = {
    "BadRequest": "`malformed_json` (the body is not JSON), `malformed_body` (not in its declared "
    "`Content-Encoding`), `invalid_parameter` (a query parameter or header the service cannot "
    "use, or a query parameter given twice; `details.parameter`), `invalid_cursor`.",
    "NotFound": "`not_found`: no such document, version or batch, or one of a company this key "
    "may not use (the two are not told apart).",
    "Conflict": "`idempotency_conflict` (the `Idempotency-Key` was used for another request) or "
    "`document_mismatch` (a new version for another company, report year or kind).",
    "UnsupportedMediaType": "`unsupported_media_type`: the batch is neither `application/json` "
    "nor `application/x-ndjson`; `details.supported`.",
    "StorageRefused": "`storage_full` or `storage_read_only`: the data folder or the database "
    "refuses writes; nothing of this request was stored and earlier documents are intact. "
    "`details.store` is `files` or `database`. Repeat the request (with the same "
    "`Idempotency-Key`) once there is room.",
    "DocxRefused": "As `BadRequest`, and `docx_refused` for a DOCX body: not a ZIP or corrupt, a ZIP bomb (more than "
    "`max_docx_unpacked_bytes` of XML), macros (`.docm`, `vbaProject`), relationships to "
    "anything outside the package, XML with a DTD; the message names the problem. Nothing is "
    "stored.",
    "DocxUnreadable": "`payload_invalid` (a JSON body, as `PayloadInvalid`), or for a DOCX body "
    "`docx_unreadable` (or `payload_invalid`): the DOCX was read but cannot become a payload. "
    "`details` lists every problem, `path` its place in the "
    "document in Chinese (`第12段（“…”）`, `表3 投诉地区分布 第2行（北京分公司）“占比”列`) or a "
    "payload rule's JSON path: a figure changed in one place only or computed, a count without "
    "its share and total, reworded generated text, tracked changes, images, comments, text "
    "boxes, a foreign style, a table of unknown shape, a document without Pilu's marks "
    "(`docx_not_marked`: use `?mode=best-effort`). Nothing is stored.",
    "BatchInvalid": "`batch_invalid` (empty, too many items, or items that are not payloads with "
    "a `company.id`; `details` lists each with its `line` and `errors`) or `webhook_invalid`.",
}


def archive_responses() -> dict[str, Any]:
    out = {}
    for name, text in _OWN_RESPONSES.items():
        out[name] = {
            "description": text,
            "headers": {"X-Request-ID": _REQUEST_ID_HEADER},
            "content": {"application/json": {"schema": schema_ref(ApiError)}},
        }
    return out


def archive_parameters() -> dict[str, Any]:
    return {
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "1–255 visible ASCII characters. A retry with the same key and the "
            "same request answers the first result (200, `Idempotent-Replayed: true`) without "
            "doing it again; with another request: 409 `idempotency_conflict`. Keys are per API "
            "key and do not expire.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        "DocumentId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "Document id (`doc_…`). Anything but 1–64 of `A-Z a-z 0-9 _ -` is "
            "404, like an id that does not exist.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        },
        "BatchId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "Batch id (`bat_…`). Anything but 1–64 of `A-Z a-z 0-9 _ -` is 404, "
            "like an id that does not exist.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        },
        "Version": {
            "name": "version",
            "in": "query",
            "required": False,
            "description": "Document version (1, 2, …); default the latest.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000},
        },
        "Cursor": {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "`next_cursor` of the previous page.",
            "schema": {"type": "string"},
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Page size, 1–200 (default 50).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        },
    }


def _err(*names: str) -> dict[str, Any]:
    return {str(_STATUS[n]): {"$ref": _RESPONSES + n} for n in names}


def _ok(status: int, model: type[BaseModel], description: str, **headers: str) -> dict[str, Any]:
    described: dict[str, Any] = {"X-Request-ID": _REQUEST_ID_HEADER}
    for name, text in headers.items():
        described[name.replace("_", "-")] = {"description": text, "schema": {"type": "string"}}
    return {
        str(status): {
            "description": description,
            "headers": described,
            "content": {"application/json": {"schema": schema_ref(model)}},
        }
    }


def _op(
    op_id: str,
    summary: str,
    description: str,
    parameters: list[str | dict[str, Any]],
    responses: dict[str, Any],
    curl: str,
    tag: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": [{"$ref": _PARAMS + p} if isinstance(p, str) else p for p in parameters]
        + [_REQUEST_ID_PARAM],
        "responses": responses,
        "x-codeSamples": [{"lang": "Shell", "label": "curl", "source": curl}],
    }
    if body is not None:
        op["requestBody"] = body
    return op


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_PAYLOAD_BODY = {
    "required": True,
    "description": "The disclosure payload, UTF-8 JSON, at most `max_body_bytes`.",
    "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "Payload"}}},
}
_VERSION_BODY = {
    "required": False,
    "description": "Optional: a corrected payload for the same company, report year and kind. "
    "Without a body the stored payload of the latest version is rendered again with today's "
    "templates, house style and fonts. With a DOCX body (at most `max_docx_bytes`, 32 MiB by "
    "default): a document downloaded from Pilu and edited in Word, WPS or LibreOffice, read "
    "back against the payload of version `base` (default the latest) into the next version's "
    "payload; the answer is then an `ApiRevision` (201) with the diff (docs/readback.md).",
    "content": {
        "application/json": {"schema": {"$ref": _SCHEMAS + "Payload"}},
        _DOCX: {"schema": _BINARY},
    },
}
_BATCH_ITEM = {
    "type": "object",
    "description": "A payload (`Payload`). At submit only `company.id` is read (a batch with an "
    "item without one is refused whole, 422 `batch_invalid`); each item is validated in full "
    "when it is rendered, and an invalid one fails alone (its errors in the batch's status).",
    "required": ["company"],
    "properties": {
        "company": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string", "pattern": "\\S", "maxLength": 200}},
        }
    },
}
_BATCH_BODY = {
    "required": True,
    "description": "Payloads as a JSON array (`Content-Type: application/json`) or one per "
    "line (`application/x-ndjson`), at most `max_batch_bytes` (413) and `max_batch_items` "
    "(10,000 by default; 422) items, each at most `max_body_bytes`.",
    "content": {
        "application/json": {
            "schema": {"type": "array", "minItems": 1, "maxItems": 10_000, "items": _BATCH_ITEM}
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


def _download(fmt: str, media: str) -> dict[str, Any]:
    return _op(
        f"download_document_{fmt}",
        f"Download the {fmt.upper()} of a document",
        "The stored bytes of a version (default the latest), named in `Content-Disposition` "
        "(`filename*` in Chinese, RFC 6266/8187, with an ASCII `filename`). `ETag` is the "
        "output's SHA-256 as in the manifest; `If-None-Match` with it answers 304.",
        ["DocumentId", "Version"],
        {
            "200": {
                "description": f"The {fmt.upper()}.",
                "headers": {
                    "ETag": {"description": '`"<sha256>"`', "schema": {"type": "string"}},
                    "Content-Disposition": {"schema": {"type": "string"}},
                    "X-Pilu-Document-Version": {"schema": {"type": "integer"}},
                    "X-Request-ID": _REQUEST_ID_HEADER,
                },
                "content": {media: {"schema": _BINARY}},
            },
            "304": {"description": "Not modified: `If-None-Match` matched the ETag."},
            **_err("BadRequest", "Unauthorized", "NotFound", "InternalError"),
        },
        f'curl -sS {_AUTH} -OJ "$PILU_URL/v1/documents/$DOC/{fmt}"',
        "stored documents",
    )


def archive_paths() -> dict[str, Any]:
    docs, batches = "stored documents", "batches"
    return {
        "/v1/documents": {
            "post": _op(
                "create_document",
                "Render and store a document (PDF and DOCX)",
                "Validates the payload, renders both formats in a worker, stores payload, "
                "outputs and manifest, and answers 201 with the document and its links "
                "(`Location` names it). With `Idempotency-Key` a retried POST is safe.",
                ["IdempotencyKey"],
                {
                    **_ok(201, ApiDocument, "Stored (version 1).", Location="The document."),
                    **_ok(
                        200,
                        ApiDocument,
                        "A replay of an earlier request with the same "
                        "`Idempotency-Key`: that document, `Idempotent-Replayed: true`.",
                    ),
                    **_err(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "Conflict",
                        "RequestTimeout",
                        "PayloadTooLarge",
                        "TooManyUploads",
                        "PayloadInvalid",
                        "InternalError",
                        "Unavailable",
                        "StorageRefused",
                        "RenderTimeout",
                    ),
                },
                f'curl -sS {_AUTH} -H "Idempotency-Key: $(uuidgen)" '
                '--data-binary @examples/xiaokang-life-2023.json "$PILU_URL/v1/documents"',
                docs,
                _PAYLOAD_BODY,
            ),
            "get": _op(
                "list_documents",
                "List stored documents",
                "Documents of the companies this key may use, newest first, paged with "
                "`next_cursor`.",
                [
                    _query(
                        "company", "Only this company id.", {"type": "string", "maxLength": 200}
                    ),
                    _query(
                        "year",
                        "Only this report year.",
                        {"type": "integer", "minimum": 1900, "maximum": 2200},
                    ),
                    _query("kind", "Only this report kind.", {"type": "string", "maxLength": 200}),
                    "Cursor",
                    "Limit",
                ],
                {
                    **_ok(200, ApiDocumentPage, "One page."),
                    **_err("BadRequest", "Unauthorized"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents?company=xiaokang-life&year=2023"',
                docs,
            ),
        },
        "/v1/documents/{id}": {
            "get": _op(
                "get_document",
                "A stored document",
                "Metadata, the manifest of the asked version (default the latest) and every "
                "version with its manifest and download links.",
                ["DocumentId", "Version"],
                {
                    **_ok(200, ApiDocument, "The document."),
                    **_err("BadRequest", "Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents/$DOC"',
                docs,
            )
        },
        "/v1/documents/{id}/versions": {
            "get": _op(
                "list_document_versions",
                "Every version of a document",
                "Oldest first, each with its manifest and download links.",
                ["DocumentId"],
                {
                    **_ok(200, ApiDocumentVersions, "The versions."),
                    **_err("Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents/$DOC/versions"',
                docs,
            ),
            "post": _op(
                "create_document_version",
                "Regenerate: add a version",
                "Renders version N+1 and keeps every earlier one. With a body, from that "
                "payload (same company, report year and kind, else 409 `document_mismatch`); "
                "without, from the stored payload with today's templates and fonts.",
                [
                    "DocumentId",
                    "IdempotencyKey",
                    {
                        "name": "mode",
                        "in": "query",
                        "required": False,
                        "description": "DOCX body only: `strict` (default) refuses a DOCX "
                        "without Pilu's marks; `best-effort` reads it as well as it can.",
                        "schema": {"type": "string", "enum": ["strict", "best-effort"]},
                    },
                    {
                        "name": "base",
                        "in": "query",
                        "required": False,
                        "description": "DOCX body only: the version the DOCX was downloaded "
                        "as (default the latest).",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                {
                    "201": {
                        "description": "The new version: an `ApiDocument` for a JSON body or "
                        "none, an `ApiRevision` (the version and its diff) for a DOCX body.",
                        "headers": {
                            "X-Request-ID": _REQUEST_ID_HEADER,
                            "Location": {
                                "description": "The new version.",
                                "schema": {"type": "string"},
                            },
                        },
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [schema_ref(ApiDocument), schema_ref(ApiRevision)]
                                }
                            }
                        },
                    },
                    **_ok(200, ApiDocument, "A replay (same `Idempotency-Key`)."),
                    **_err(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "NotFound",
                        "Conflict",
                        "RequestTimeout",
                        "PayloadTooLarge",
                        "TooManyUploads",
                        "DocxUnreadable",
                        "InternalError",
                        "Unavailable",
                        "StorageRefused",
                        "RenderTimeout",
                    )
                    | {"400": {"$ref": _RESPONSES + "DocxRefused"}},
                },
                f'curl -sS {_AUTH} -X POST "$PILU_URL/v1/documents/$DOC/versions"',
                docs,
                _VERSION_BODY,
            ),
        },
        "/v1/documents/{id}/payload": {
            "get": _op(
                "get_document_payload",
                "The payload of a version",
                "The payload a version (default the latest) was rendered from, byte for byte "
                "as stored (for a version read back from a DOCX: the payload read).",
                ["DocumentId", "Version"],
                {
                    "200": {
                        "description": "The payload.",
                        "headers": {"X-Request-ID": _REQUEST_ID_HEADER},
                        "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "Payload"}}},
                    },
                    **_err("BadRequest", "Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents/$DOC/payload?version=1"',
                docs,
            )
        },
        "/v1/documents/{id}/diff": {
            "get": _op(
                "get_document_diff",
                "What a version changed",
                "The diff of a version (default the latest) against the version before it: "
                "sections, sentences, figures and table cells, each version's payload built "
                "with today's templates (docs/readback.md). Empty for version 1.",
                ["DocumentId", "Version"],
                {
                    **_ok(200, ApiRevision, "The version and its diff."),
                    **_err("BadRequest", "Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents/$DOC/diff?version=2"',
                docs,
            )
        },
        "/v1/documents/{id}/uploaded-docx": {
            "get": _op(
                "download_document_uploaded_docx",
                "Download the edited DOCX a version was read from",
                "The DOCX uploaded to make a version (kept as uploaded, named "
                "`<document>-修改稿.docx`); 404 for a version made from JSON.",
                ["DocumentId", "Version"],
                {
                    "200": {
                        "description": "The uploaded DOCX.",
                        "headers": {
                            "ETag": {"description": '`"<sha256>"`', "schema": {"type": "string"}},
                            "Content-Disposition": {"schema": {"type": "string"}},
                            "X-Request-ID": _REQUEST_ID_HEADER,
                        },
                        "content": {_DOCX: {"schema": _BINARY}},
                    },
                    **_err("BadRequest", "Unauthorized", "NotFound", "InternalError"),
                },
                f'curl -sS {_AUTH} -OJ "$PILU_URL/v1/documents/$DOC/uploaded-docx?version=2"',
                docs,
            )
        },
        "/v1/documents/{id}/pdf": {"get": _download("pdf", "application/pdf")},
        "/v1/documents/{id}/docx": {"get": _download("docx", _DOCX)},
        "/v1/documents/{id}/parity": {
            "get": _op(
                "get_document_parity",
                "Do the DOCX and the PDF of a version say the same thing",
                "The parity check of the stored outputs of a version (default the latest): "
                "text, heading numbers and table cells, the DOCX read through its numbering "
                "definitions and the PDF's text in content order, whitespace and page numbers "
                "left out. Fonts, layout and page breaks are not compared. Compared in a worker "
                "the first time a version is asked for, then answered from memory.",
                ["DocumentId", "Version"],
                {
                    **_ok(200, ApiParity, "The result: `ok`, what was compared, differences."),
                    **_err(
                        "BadRequest",
                        "Unauthorized",
                        "NotFound",
                        "InternalError",
                        "Unavailable",
                        "RenderTimeout",
                    ),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/documents/$DOC/parity?version=1"',
                docs,
            )
        },
        "/v1/batches": {
            "post": _op(
                "create_batch",
                "Submit a batch",
                "Answers 202 only once the batch and every payload are committed to the store; "
                "any node sharing the store renders it (a node's death loses none of it). Items "
                "are checked for JSON and `company.id` here (else 422 with every bad line); full "
                "validation happens per item, and a bad item fails alone. A company this key "
                "may not use: 403 for the whole batch. A webhook is given in headers "
                "(`X-Pilu-Webhook-Url`, `X-Pilu-Webhook-Secret`, 16–256 characters): one signed "
                "POST when the batch finishes (see `webhooks` in this document). `priority`: "
                "`interactive` (the default) or `regeneration`, for historical regeneration, "
                "whose items are rendered after those of every interactive batch waiting.",
                [
                    "IdempotencyKey",
                    {
                        "name": "priority",
                        "in": "query",
                        "required": False,
                        "description": "`interactive` (default) or `regeneration` (after every "
                        "interactive batch).",
                        "schema": {"type": "string", "enum": ["interactive", "regeneration"]},
                    },
                    {
                        "name": "X-Pilu-Webhook-Url",
                        "in": "header",
                        "required": False,
                        "description": "http(s) URL called once when the batch finishes. Non-public "
                        "addresses are refused unless `webhook_allow_private`.",
                        "schema": {"type": "string", "format": "uri"},
                    },
                    {
                        "name": "X-Pilu-Webhook-Secret",
                        "in": "header",
                        "required": False,
                        "description": "HMAC-SHA256 key for `X-Pilu-Signature`; required with a "
                        "URL.",
                        "schema": {"type": "string", "minLength": 16, "maxLength": 256},
                    },
                ],
                {
                    **_ok(202, ApiBatch, "Recorded; poll `links.self`.", Location="The batch."),
                    **_ok(200, ApiBatch, "A replay (same `Idempotency-Key`)."),
                    **_err(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "Conflict",
                        "RequestTimeout",
                        "PayloadTooLarge",
                        "TooManyUploads",
                        "UnsupportedMediaType",
                        "BatchInvalid",
                        "Unavailable",
                        "StorageRefused",
                    ),
                },
                f'curl -sS {_AUTH} -H "Content-Type: application/x-ndjson" '
                "--data-binary @examples/batch/xiaokang-life-2019-2024.ndjson "
                '"$PILU_URL/v1/batches"',
                batches,
                _BATCH_BODY,
            ),
            "get": _op(
                "list_batches",
                "List batches",
                "Batches whose every company this key may use, newest first.",
                ["Cursor", "Limit"],
                {**_ok(200, ApiBatchPage, "One page."), **_err("BadRequest", "Unauthorized")},
                f'curl -sS {_AUTH} "$PILU_URL/v1/batches"',
                batches,
            ),
        },
        "/v1/batches/{id}": {
            "get": _op(
                "get_batch",
                "Batch progress and items",
                "Counts, progress (0–1), webhook state, and one page of items in index order "
                "(`offset`, `limit` up to 1000, `state` filter such as `failed`), each with its "
                "errors or its document's links.",
                [
                    "BatchId",
                    _query(
                        "state",
                        "Only items in these states (comma-separated).",
                        {"type": "string", "examples": ["failed", "pending,running"]},
                    ),
                    _query(
                        "offset",
                        "Items to skip.",
                        {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
                    ),
                    _query(
                        "limit",
                        "Items per page, 1–1000 (default 100).",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                    ),
                ],
                {
                    **_ok(200, ApiBatch, "The batch."),
                    **_err("BadRequest", "Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} "$PILU_URL/v1/batches/$BATCH?state=failed"',
                batches,
            )
        },
        "/v1/batches/{id}/archive": {
            "get": _op(
                "download_batch_archive",
                "The batch as a ZIP",
                "Streamed: every done item's PDF and DOCX under its Chinese name "
                "(`小康人寿-2023-消费者权益保护工作重大信息披露.pdf`; a repeated name gets `-2`), "
                "`manifest.csv` (UTF-8 with BOM) and `manifest.json` with each file's SHA-256 and "
                "every failed item's errors. Byte-identical for a finished batch; before that it "
                "holds what is done (`X-Pilu-Batch-State`).",
                ["BatchId"],
                {
                    "200": {
                        "description": "The ZIP (chunked).",
                        "headers": {
                            "Content-Disposition": {"schema": {"type": "string"}},
                            "X-Pilu-Batch-State": {"schema": {"type": "string"}},
                            "X-Request-ID": _REQUEST_ID_HEADER,
                        },
                        "content": {"application/zip": {"schema": _BINARY}},
                    },
                    **_err("Unauthorized", "NotFound"),
                },
                f'curl -sS {_AUTH} -o batch.zip "$PILU_URL/v1/batches/$BATCH/archive"',
                batches,
            )
        },
    }


def archive_webhooks() -> dict[str, Any]:
    return {
        "batch.finished": {
            "post": {
                "summary": "A batch finished",
                "description": "POSTed to the batch's `X-Pilu-Webhook-Url` once every item is "
                "done or failed; at least once (deduplicate on `X-Pilu-Delivery`, the batch id). "
                "`X-Pilu-Signature: sha256=<hex>` is HMAC-SHA256 under the batch's secret of "
                "`<X-Pilu-Timestamp>.<raw body>`; reject old timestamps. Redirects are not "
                "followed; any 2xx counts as delivered.",
                "parameters": [
                    {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                    for h in (
                        "X-Pilu-Signature",
                        "X-Pilu-Timestamp",
                        "X-Pilu-Delivery",
                        "X-Pilu-Event",
                    )
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema_ref(ApiWebhookEvent)}},
                },
                "responses": {"2XX": {"description": "Delivered."}},
            }
        }
    }
