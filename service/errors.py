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
        super().__init__(
            f"报送数据有{len(errors)}处错误", details=[e.as_dict() for e in errors]
        )


class MalformedJSON(PiluError):
    status = 400
    code = "malformed_json"


class RenderFailed(PiluError):
    """A writer could not produce a document (for example a WeasyPrint warning, a missing font)."""

    status = 500
    code = "render_failed"


class UnknownTemplate(PiluError):
    status = 422
    code = "unknown_template"
