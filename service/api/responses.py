"""The JSON bodies the API answers, as pydantic models: the handlers build every body through
one (``.body()``), and :func:`response_schemas` publishes the same models as the OpenAPI
``components/schemas``, so a shape is written down once and a body that leaves it fails at once.

Stored documents and batches are the store's dictionaries (``as_dict``, the same ones the
webhook and the batch ZIP's ``manifest.json`` carry) plus their links, validated here: a key
the model does not know, a missing one or a wrong type is an error, not a silent difference
from the description. The field order of a model is the key order of its body. A field with a
default is left out of the body unless it was given (``versions`` only on
``GET /v1/documents/{id}``, ``items`` and ``next_offset`` only on ``GET /v1/batches/{id}``, an
item's ``links`` only once it has a document).

``POST /v1/validate`` answers the backend's preview as it comes from the worker;
:class:`ApiPreview` describes the real pipeline's, and a test holds the two together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from service.errors import PiluError
from service.store import (
    BatchStatus,
    DocumentSummary,
    DocumentVersion,
    ItemStatus,
    StoredDocument,
)
from service.workers.base import PoolStats

SCHEMA_REF = "#/components/schemas/{model}"

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""ISO 8601 with the UTC offset, as :meth:`datetime.isoformat` writes it."""
Links = dict[str, str]


class ResponseModel(BaseModel):
    """A response body: no unknown keys, no coercion of types, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def body(self) -> dict[str, Any]:
        """The JSON body: the fields given, in declaration order."""
        return self.model_dump(mode="json", exclude_unset=True)


# --- errors ------------------------------------------------------------------------------------


class ApiFieldError(ResponseModel):
    """One problem with one field of a payload, at its JSON path."""

    path: str = Field(examples=["$.complaints.total"])
    code: str = Field(examples=["sum_mismatch"])
    message: str


class ApiErrorBody(ResponseModel):
    code: str = Field(description="Stable machine name, see the error table.")
    message: str = Field(description="For people, in Chinese.")
    details: Any = Field(
        description="Depends on the code: a list of ApiFieldError for payload_invalid, "
        "{line, column, position} for malformed_json, else an object or null."
    )


class ApiError(ResponseModel):
    """Every failure: `{"error": {"code", "message", "details"}}`."""

    error: ApiErrorBody

    @classmethod
    def of(cls, exc: PiluError) -> Self:
        return cls.model_validate(exc.as_dict())


# --- operations and validation -----------------------------------------------------------------


class ApiWorkers(ResponseModel):
    size: int
    warm: int
    busy: int
    queued: int
    restarts: int
    accepting: bool
    lane_lent: bool


class ApiStatus(ResponseModel):
    """`/healthz` (`ok`) and `/readyz` (`ready`, with the worker counts)."""

    status: Literal["ok", "ready"]
    workers: ApiWorkers | None = None

    @classmethod
    def ready(cls, stats: PoolStats) -> Self:
        return cls.model_validate({"status": "ready", "workers": stats.as_dict()})


class ApiPreviewTable(ResponseModel):
    caption: str
    columns: list[str]
    rows: list[list[str]]


class ApiPreview(ResponseModel):
    """What will be printed: company, kind, year, template and house style, the title, every
    computed figure as printed (by dotted name), the headings and tables, and the file name stem."""

    company: dict[str, Any] = Field(description="The payload's `company`.")
    kind: str = Field(description="The report kind (`consumer-protection-annual` …).")
    report_year: int
    template_version: str
    house_style: str
    title: str
    figures: dict[str, str]
    headings: list[str]
    tables: list[ApiPreviewTable]
    filename_stem: str


# --- stored documents --------------------------------------------------------------------------


def document_links(document_id: str, version: int, formats: Iterable[str]) -> Links:
    """``self``, ``versions`` and one download per format, pinned to ``version``."""
    base = f"/v1/documents/{document_id}"
    links = {"self": base, "versions": f"{base}/versions"}
    links.update({fmt: f"{base}/{fmt}?version={version}" for fmt in formats})
    return links


class ApiOutput(ResponseModel):
    sha256: str
    size: int
    filename: str


class ApiManifest(ResponseModel):
    """How a version was made (see docs/storage.md)."""

    payload_sha256: str
    template_version: str
    house_style: str
    house_style_version: str
    fonts: dict[str, str]
    libraries: dict[str, str]
    outputs: dict[str, ApiOutput]
    signing_certificate_sha256: str | None = None
    """SHA-256 of the company certificate the PDF is signed with; absent when unsigned."""
    created_by: str | None = Field(
        description="Name of the API key that made this version (never the key); null for "
        "batch items and versions from before keys had names."
    )
    uploaded_docx: ApiOutput | None = Field(
        None,
        description="The edited DOCX this version was read back from "
        "(`GET /v1/documents/{id}/uploaded-docx?version=N`); absent for a version made from JSON.",
    )


class ApiDocumentVersion(ResponseModel):
    version: int
    created_at: Timestamp
    manifest: ApiManifest
    links: Links = Field(description="One download per format, pinned to this version.")

    @classmethod
    def of(cls, version: DocumentVersion) -> Self:
        base = f"/v1/documents/{version.document_id}"
        outputs = version.manifest.outputs
        return cls.model_validate(
            {
                "version": version.version,
                "created_at": version.created_at.isoformat(),
                "manifest": version.manifest.as_dict(),
                "links": {f: f"{base}/{f}?version={version.version}" for f in outputs},
            }
        )


class ApiDocumentVersions(ResponseModel):
    """Every version of a document, oldest first."""

    document_id: str
    versions: list[ApiDocumentVersion]


class ApiDocumentSummary(ResponseModel):
    id: str
    company_id: str
    report_year: int
    kind: str
    latest_version: int
    created_at: Timestamp
    updated_at: Timestamp
    links: Links = Field(description="`self`.")

    @classmethod
    def of(cls, summary: DocumentSummary) -> Self:
        return cls.model_validate(
            {**summary.as_dict(), "links": {"self": f"/v1/documents/{summary.id}"}}
        )


class ApiDocument(ResponseModel):
    """A document and one version of it (the latest unless asked), with links `self`,
    `versions`, `pdf`, `docx` (the last two pinned to the version)."""

    id: str
    company_id: str
    report_year: int
    kind: str
    latest_version: int
    created_at: Timestamp
    updated_at: Timestamp
    version: int
    version_created_at: Timestamp
    manifest: ApiManifest
    links: Links
    versions: list[ApiDocumentVersion] = Field(
        default_factory=list, description="Every version (`GET /v1/documents/{id}` only)."
    )

    @classmethod
    def of(cls, doc: StoredDocument, versions: list[DocumentVersion] | None = None) -> Self:
        version = doc.version
        body = {
            **doc.as_dict(),
            "links": document_links(doc.id, version.version, version.manifest.outputs),
        }
        if versions is not None:
            body["versions"] = [ApiDocumentVersion.of(v) for v in versions]
        return cls.model_validate(body)


class ApiDiff(ResponseModel):
    """What changed from the base version to this one (docs/readback.md)."""

    sections: list[dict[str, Any]] = Field(
        description="`{change: added|removed|moved, title, heading}` per section heading."
    )
    sentences: list[dict[str, Any]] = Field(
        description="`{change: added|removed, section, text}` per sentence, in reading order."
    )
    figures: list[dict[str, Any]] = Field(
        description="`{name, label, before, after}` per figure whose printed value changed."
    )
    cells: list[dict[str, Any]] = Field(
        description="`{table, row, column, before, after}` per table cell changed, or "
        "`{table, change}` for a table added or removed."
    )


class ApiRevision(ResponseModel):
    """A version read back from an edited DOCX (or its diff, `GET /v1/documents/{id}/diff`)."""

    document: ApiDocument
    base_version: int = Field(description="The version the diff is against.")
    diff: ApiDiff
    warnings: list[dict[str, str]] = Field(
        description="What a best-effort import left out: `{path, code, message}` each."
    )


class ApiParityCompared(ResponseModel):
    """How much of the document the parity check compared."""

    paragraphs: int = Field(description="Paragraphs that are not headings (title, text, captions).")
    headings: int
    table_rows: int = Field(description="Table rows, header rows included.")


class ApiParityDifference(ResponseModel):
    """One place where the DOCX and the PDF do not say the same thing."""

    kind: Literal["missing", "extra", "changed", "heading_label"] = Field(
        description="`missing`: text of the DOCX the PDF lacks; `extra`: text only the PDF has; "
        "`changed`: both have text there, not the same; `heading_label`: a heading's number."
    )
    where: str = Field(description="The DOCX paragraph or table row (cells run together).")
    docx: str = Field(description="The DOCX's text there, whitespace removed.")
    pdf: str = Field(description="The PDF's text there, whitespace removed.")
    message: str = Field(description="The difference in Chinese.")


class ApiParity(ResponseModel):
    """Do the stored DOCX and PDF of one version say the same thing: text, heading numbers and
    table cells (not fonts, layout or page breaks; see docs/console.md)."""

    document_id: str
    version: int
    ok: bool
    compared: ApiParityCompared
    differences: list[ApiParityDifference]


class ApiDocumentPage(ResponseModel):
    items: list[ApiDocumentSummary]
    next_cursor: str | None
    links: dict[str, str | None] = Field(description="`next`: the next page, or null.")


# --- batches -----------------------------------------------------------------------------------


class ApiBatchStatus(ResponseModel):
    """A batch's counts and states, as the `batch.finished` webhook carries it."""

    id: str
    state: Literal["queued", "running", "finished"]
    created_at: Timestamp
    finished_at: Timestamp | None
    total: int
    pending: int
    running: int
    done: int
    failed: int
    progress: float = Field(ge=0, le=1)
    webhook: Literal["none", "waiting", "pending", "delivering", "delivered", "failed"]


class ApiBatchItem(ResponseModel):
    index: int
    source: str = Field(examples=["line 3", "[2]"])
    state: Literal["pending", "running", "done", "failed"]
    company_id: str | None
    payload_sha256: str
    attempts: int
    document_id: str | None
    version: int | None
    errors: list[ApiFieldError]
    started_at: Timestamp | None
    finished_at: Timestamp | None
    links: Links = Field(default_factory=dict, description="Its document's links, once it has one.")

    @classmethod
    def of(cls, item: ItemStatus) -> Self:
        body = item.as_dict()
        if item.document_id is not None and item.version is not None:
            body["links"] = document_links(item.document_id, item.version, ("pdf", "docx"))
        return cls.model_validate(body)


class ApiBatch(ApiBatchStatus):
    """A batch; with one page of its items on `GET /v1/batches/{id}`."""

    links: dict[str, str | None] = Field(
        description="`self`, `archive`; with items, `next` (the next page, or null)."
    )
    items: list[ApiBatchItem] = Field(default_factory=list)
    next_offset: int | None = None

    @classmethod
    def of(cls, status: BatchStatus) -> Self:
        return cls.model_validate({**status.as_dict(), "links": _batch_links(status.id)})

    @classmethod
    def with_items(
        cls,
        status: BatchStatus,
        items: list[ItemStatus],
        next_offset: int | None,
        next_link: str | None,
    ) -> Self:
        """The batch with one page of its items; ``next_link`` is ``links.next``."""
        return cls.model_validate(
            {
                **status.as_dict(),
                "links": {**_batch_links(status.id), "next": next_link},
                "items": [ApiBatchItem.of(i) for i in items],
                "next_offset": next_offset,
            }
        )


def _batch_links(batch_id: str) -> dict[str, str | None]:
    base = f"/v1/batches/{batch_id}"
    return {"self": base, "archive": f"{base}/archive"}


class ApiBatchPage(ResponseModel):
    items: list[ApiBatch]
    next_cursor: str | None
    links: dict[str, str | None] = Field(description="`next`: the next page, or null.")


class ApiWebhookEvent(ResponseModel):
    """The body of the `batch.finished` webhook."""

    event: Literal["batch.finished"]
    batch: ApiBatchStatus


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ApiError,
    ApiStatus,
    ApiPreview,
    ApiDocument,
    ApiDocumentVersions,
    ApiRevision,
    ApiDocumentPage,
    ApiParity,
    ApiBatch,
    ApiBatchPage,
    ApiWebhookEvent,
)
"""The bodies the OpenAPI document names; the models they contain come along."""


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A ``$ref`` to ``model`` in ``components/schemas``."""
    return {"$ref": SCHEMA_REF.format(model=model.__name__)}


def response_schemas() -> dict[str, Any]:
    """``components/schemas`` of every response model, referring to each other there."""
    _, schema = models_json_schema(
        [(model, "serialization") for model in RESPONSE_MODELS], ref_template=SCHEMA_REF
    )
    defs: dict[str, Any] = schema["$defs"]
    return defs
