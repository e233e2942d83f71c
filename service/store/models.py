"""What the stores take and give back: plain frozen dataclasses, picklable, no database types.

Times are :class:`datetime.datetime` in UTC, from the database's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from service.errors import FieldError
from service.store.layouts import Split
from service.store.layouts import sha256_hex as sha256_hex  # the store's hash, for its users

T = TypeVar("T")


def from_epoch(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One payload rendered in a worker: the outputs and the facts the manifest records.

    Built by :func:`service.jobs.render.render_item` in the process that rendered, so the
    library versions are those that actually ran. ``outputs`` maps format (``pdf``, ``docx``) to
    bytes, or to a :class:`~service.store.layouts.Split` the worker cut them into (a DOCX: its
    shared parts then cross from the worker as references); ``filenames`` the same formats to the download names
    (``小康人寿-2023-消费者权益保护工作重大信息披露.pdf``).
    """

    company_id: str
    report_year: int
    kind: str
    outputs: Mapping[str, bytes | Split]
    filenames: Mapping[str, str]
    template_version: str
    house_style: str
    house_style_version: str
    fonts: Mapping[str, str]
    """Font file name → SHA-256 from ``fonts/catalogue.toml``, for the faces the style uses."""
    libraries: Mapping[str, str]
    """Distribution name → version (weasyprint, python-docx, pydantic, fonttools, python)."""
    signing_certificate_sha256: str | None = None
    """SHA-256 of the company certificate the PDF is signed with; ``None``: not signed."""
    period: str = ""
    """The statistics period the complaint figures cover (``前三季度``), ``""`` for the whole
    year; with company, kind and year the document's natural identity."""

    def output_bytes(self, fmt: str) -> bytes:
        """The whole bytes of one output (a :class:`Split` put back together)."""
        data = self.outputs[fmt]
        return data.assemble() if isinstance(data, Split) else data


@dataclass(frozen=True, slots=True)
class OutputInfo:
    sha256: str
    size: int
    filename: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """How one document version was made, enough to tell whether a re-render would differ."""

    payload_sha256: str
    template_version: str
    house_style: str
    house_style_version: str
    fonts: Mapping[str, str]
    libraries: Mapping[str, str]
    outputs: Mapping[str, OutputInfo]
    signing_certificate_sha256: str | None = None
    """Present only for a signed PDF, so unsigned manifests read as before."""
    created_by: str | None = None
    """The name of the API key that asked for this version (never the key itself); ``None``
    for versions made before keys had names, by a batch, or by the command line."""
    uploaded_docx: OutputInfo | None = None
    """The edited DOCX this version was read back from (kept as an artifact beside the
    outputs); ``None``, and absent from the stored manifest, for a version made from JSON."""

    @classmethod
    def of(cls, rendered: Rendered, payload_sha256: str, created_by: str | None = None) -> Manifest:
        outputs = {
            fmt: (
                OutputInfo(data.layout.sha256, data.layout.size, rendered.filenames[fmt])
                if isinstance(data, Split)
                else OutputInfo(sha256_hex(data), len(data), rendered.filenames[fmt])
            )
            for fmt, data in sorted(rendered.outputs.items())
        }
        return cls(
            payload_sha256=payload_sha256,
            template_version=rendered.template_version,
            house_style=rendered.house_style,
            house_style_version=rendered.house_style_version,
            fonts=dict(sorted(rendered.fonts.items())),
            libraries=dict(sorted(rendered.libraries.items())),
            outputs=outputs,
            signing_certificate_sha256=rendered.signing_certificate_sha256,
            created_by=created_by,
        )

    def as_dict(self) -> dict[str, Any]:
        signed = self.signing_certificate_sha256
        uploaded = self.uploaded_docx
        extra: dict[str, Any] = {"signing_certificate_sha256": signed} if signed else {}
        if uploaded is not None:
            extra["uploaded_docx"] = {
                "sha256": uploaded.sha256,
                "size": uploaded.size,
                "filename": uploaded.filename,
            }
        return extra | {
            "payload_sha256": self.payload_sha256,
            "template_version": self.template_version,
            "house_style": self.house_style,
            "house_style_version": self.house_style_version,
            "fonts": dict(self.fonts),
            "libraries": dict(self.libraries),
            "outputs": {
                fmt: {"sha256": o.sha256, "size": o.size, "filename": o.filename}
                for fmt, o in self.outputs.items()
            },
            "created_by": self.created_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        return cls(
            payload_sha256=data["payload_sha256"],
            template_version=data["template_version"],
            house_style=data["house_style"],
            house_style_version=data["house_style_version"],
            fonts=dict(data["fonts"]),
            libraries=dict(data["libraries"]),
            outputs={fmt: OutputInfo(**o) for fmt, o in data["outputs"].items()},
            signing_certificate_sha256=data.get("signing_certificate_sha256"),
            created_by=data.get("created_by"),
            uploaded_docx=OutputInfo(**data["uploaded_docx"]) if "uploaded_docx" in data else None,
        )


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    document_id: str
    version: int
    created_at: datetime
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document and one of its versions (the latest unless another was asked for)."""

    id: str
    company_id: str
    report_year: int
    kind: str
    latest_version: int
    created_at: datetime
    updated_at: datetime
    version: DocumentVersion

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "company_id": self.company_id,
            "report_year": self.report_year,
            "kind": self.kind,
            "latest_version": self.latest_version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version.version,
            "version_created_at": self.version.created_at.isoformat(),
            "manifest": self.version.manifest.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The document a create or regenerate left; ``replayed`` when an idempotency key matched an
    earlier request and nothing new was stored (an API answers 200 rather than 201)."""

    document: StoredDocument
    replayed: bool


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    id: str
    company_id: str
    report_year: int
    kind: str
    latest_version: int
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "company_id": self.company_id,
            "report_year": self.report_year,
            "kind": self.kind,
            "latest_version": self.latest_version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, newest first; ``next_cursor`` is ``None`` on the last page."""

    items: list[T]
    next_cursor: str | None


# --- Batches -----------------------------------------------------------------------------------

ItemState = Literal["pending", "running", "done", "failed"]
BatchState = Literal["queued", "running", "finished"]
WebhookState = Literal["none", "waiting", "pending", "delivering", "delivered", "failed"]
"""``none``: no webhook; ``waiting``: batch not finished; ``pending``/``delivering``: due or being
sent (a failed try waits in ``delivering`` for its next try, after a back-off); then
``delivered`` or ``failed`` (gave up after the attempts)."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Called once when a batch finishes; the body is signed with HMAC-SHA256 under ``secret``."""

    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class BatchItemInput:
    """One payload of a batch as parsed. Items with ``errors`` are stored already failed.

    ``source`` names where it came from (``line 3``, ``xiaokang-2023.json``). ``idempotency_key``
    is the key its document is stored under; ``None`` means ``<batch id>:<index>``, so each item
    yields one document. The CLI passes ``sha256:<payload hash>`` instead, so an unchanged payload
    is never rendered twice across runs.
    """

    raw: bytes
    source: str
    company_id: str | None
    errors: tuple[FieldError, ...] = ()
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class BatchStatus:
    id: str
    created_at: datetime
    finished_at: datetime | None
    total: int
    pending: int
    running: int
    done: int
    failed: int
    webhook_state: WebhookState

    @property
    def state(self) -> BatchState:
        """``finished`` when every item is done or failed; ``queued`` while none is running nor
        done (items that failed on arrival do not count); else ``running``."""
        if self.done + self.failed >= self.total:
            return "finished"
        if self.done + self.running == 0:
            return "queued"
        return "running"

    @property
    def progress(self) -> float:
        """Finished share in 0…1 (done and failed items both count as finished)."""
        return (self.done + self.failed) / self.total if self.total else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "total": self.total,
            "pending": self.pending,
            "running": self.running,
            "done": self.done,
            "failed": self.failed,
            "progress": round(self.progress, 4),
            "webhook": self.webhook_state,
        }


@dataclass(frozen=True, slots=True)
class BatchCreated:
    batch: BatchStatus
    replayed: bool


@dataclass(frozen=True, slots=True)
class ItemStatus:
    batch_id: str
    index: int
    source: str
    state: ItemState
    company_id: str | None
    payload_sha256: str
    attempts: int
    document_id: str | None
    version: int | None
    errors: tuple[FieldError, ...]
    started_at: datetime | None
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "source": self.source,
            "state": self.state,
            "company_id": self.company_id,
            "payload_sha256": self.payload_sha256,
            "attempts": self.attempts,
            "document_id": self.document_id,
            "version": self.version,
            "errors": [e.as_dict() for e in self.errors],
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """An item an attempt has begun on (``attempts`` counts this one): its payload and key."""

    id: int
    batch_id: str
    index: int
    raw: bytes
    attempts: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class WebhookDue:
    batch_id: str
    url: str
    secret: str
    attempt: int
    status: BatchStatus = field(compare=False)
