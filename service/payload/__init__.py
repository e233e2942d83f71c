"""The disclosure payload: its schema (version 1), the rules beyond types, and parsing.

``parse_payload`` is the one way in: JSON bytes or a dict -> a valid :class:`Payload`, or
:class:`service.errors.PayloadInvalid` listing every problem with its JSON path.
"""

from service.payload.parse import parse_payload, payload_json_schema
from service.payload.schema import Payload

__all__ = ["Payload", "parse_payload", "payload_json_schema"]
