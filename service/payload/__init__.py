"""The disclosure payload: its shapes (schema version 1), the rules beyond types, and parsing.

:func:`service.payload.parse.validate_object` takes a JSON object to a valid payload of a
model, or :class:`service.errors.PayloadInvalid` listing every problem with its JSON path. Which
model and rules apply is the report kind's choice (:func:`service.kinds.parse_payload`).
"""

from service.payload.schema import Payload

__all__ = ["Payload"]
