"""The disclosure payload: its shapes (schema version 1), the rules beyond types, and parsing.

``parse_payload`` is the one way in: JSON bytes or a dict -> a valid payload of a model, or
:class:`service.errors.PayloadInvalid` listing every problem with its JSON path. Which model and
rules apply is the report kind's choice (:mod:`service.kinds`).
"""

from service.payload.parse import parse_payload
from service.payload.schema import Payload

__all__ = ["Payload", "parse_payload"]
