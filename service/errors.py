"""One error tree for the whole service.

Each error carries the HTTP status and a stable ``code``; the API turns any of them into
``{"error": {"code", "message", "details"}}``. Domain code raises these, never HTTP exceptions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a payload.

    ``path`` is the JSON path from the payload root (``$.figures.complaints.regulator.total``),
    ``code`` a stable machine name, ``message`` a sentence in Chinese for a compliance officer.
    """

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class PiluError(Exception):
    """Base of every error the service reports to a caller."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class PayloadInvalid(PiluError):
    """The payload breaks the schema or a rule; ``errors`` lists every problem found."""

    status = 422
    code = "payload_invalid"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(f"报送数据有{len(errors)}处错误", details=[e.as_dict() for e in errors])


class MalformedJSON(PiluError):
    """The body is not valid JSON; ``details`` has line, column and position."""

    status = 400
    code = "malformed_json"


class RenderFailed(PiluError):
    """A writer could not produce a document (for example a WeasyPrint warning, a missing font)."""

    status = 500
    code = "render_failed"


class OutputUnreadable(PiluError):
    """A stored output the parity check cannot read as a DOCX or a PDF; ``details.format``."""

    status = 500
    code = "output_unreadable"


class UnknownTemplate(PiluError):
    """No report template for this report kind and year."""

    status = 422
    code = "unknown_template"


# --- Errors of the HTTP layer and the worker pool -------------------------------------------
# A class may carry ``headers``: response headers the API adds when it reports the error.


class InternalError(PiluError):
    """An unexpected failure. The message is generic on purpose: internals go to the log only."""

    status = 500
    code = "internal_error"


class Unauthorized(PiluError):
    """No API key, or a key the service does not know."""

    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="pilu"'}


class Forbidden(PiluError):
    """A known key that is not allowed the company named in the payload."""

    status = 403
    code = "forbidden"


class NotFound(PiluError):
    """No such path, document, version or batch, or one of a company the key may not see."""

    status = 404
    code = "not_found"


class MethodNotAllowed(PiluError):
    """``details["allowed"]`` lists the methods the path accepts."""

    status = 405
    code = "method_not_allowed"

    @property
    def headers(self) -> dict[str, str]:
        allowed = (self.details or {}).get("allowed", [])
        return {"Allow": ", ".join(allowed)}


class NotAcceptable(PiluError):
    """The asked output format (``?format=`` or ``Accept``) is not one the service writes."""

    status = 406
    code = "not_acceptable"


class PayloadTooLarge(PiluError):
    """The body is larger than the limit (``details.max_bytes``)."""

    status = 413
    code = "payload_too_large"


class MalformedBody(PiluError):
    """The body cannot be decoded as sent (for example ``Content-Encoding: gzip`` on a body
    that is not gzip, or a broken chunked encoding); the connection is closed."""

    status = 400
    code = "malformed_body"
    headers = {"Connection": "close"}


class RequestTimeout(PiluError):
    """The body did not arrive whole within ``body_timeout_s``; the connection is closed."""

    status = 408
    code = "request_timeout"
    headers = {"Connection": "close"}


class RetryLater(PiluError):
    """An error that asks the caller to try again after ``retry_after_s`` (``Retry-After``)."""

    def __init__(self, message: str, details: Any = None, *, retry_after_s: int = 1) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class TooManyUploads(RetryLater):
    """This API key is already sending as many bodies at once as it may (``uploads_per_key``)."""

    status = 429
    code = "too_many_uploads"


class Overloaded(RetryLater):
    """Every worker is busy and the queue in front of them is full; try again later."""

    status = 503
    code = "overloaded"


class ShuttingDown(PiluError):
    """The service is draining for a restart and takes no new renders."""

    status = 503
    code = "shutting_down"
    headers = {"Retry-After": "5"}


class NotReady(PiluError):
    """No warm worker yet (starting up) or the service is draining."""

    status = 503
    code = "not_ready"


class RenderTimeout(PiluError):
    """A render ran past the time limit; its worker was killed and replaced."""

    status = 504
    code = "render_timeout"


class WorkerCrashed(PiluError):
    """The worker process died during a render (for example killed for memory)."""

    status = 500
    code = "worker_crashed"


# --- Errors of the document store and the batch jobs ------------------------------------------


class IdempotencyConflict(PiluError):
    """An ``Idempotency-Key`` already used for a different request (another payload or target)."""

    status = 409
    code = "idempotency_conflict"


class DocumentMismatch(PiluError):
    """A regenerate whose payload names another company, report year or kind than the document."""

    status = 409
    code = "document_mismatch"


class BatchInvalid(PiluError):
    """A batch that cannot be accepted: empty, too many items, or lines that are not payloads.

    ``details`` lists ``{"line", "index", "source", "errors": [FieldError…]}`` per bad item.
    """

    status = 422
    code = "batch_invalid"


class InvalidParameter(PiluError):
    """A query parameter or header whose value the service cannot use; ``details.parameter``."""

    status = 400
    code = "invalid_parameter"


class UnsupportedMediaType(PiluError):
    """A request body of a ``Content-Type`` the endpoint does not read; ``details.supported``."""

    status = 415
    code = "unsupported_media_type"


class WebhookInvalid(PiluError):
    """A batch webhook URL or secret that cannot be used (scheme, address, missing secret)."""

    status = 422
    code = "webhook_invalid"


class InvalidCursor(PiluError):
    """A paging cursor this service did not hand out."""

    status = 400
    code = "invalid_cursor"


class StorageCorrupt(PiluError):
    """A stored file or row whose bytes no longer match their SHA-256 (disk or database damage)."""

    status = 500
    code = "storage_corrupt"


class StoreSchemaTooNew(PiluError):
    """The database was migrated by a newer Pilu than this one; refuse to touch it."""

    status = 500
    code = "store_schema_too_new"
