"""JSON bytes -> :class:`Payload`, with every problem named by JSON path, code and message."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from service.errors import FieldError, MalformedJSON, PayloadInvalid
from service.payload.messages import field_error_from_pydantic
from service.payload.rules import check_parsed_parts, check_rules
from service.payload.schema import Payload


def decode_json(raw: bytes | str) -> Any:
    """Decode JSON, keeping decimals exact; a syntax error names its line, column and position."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise MalformedJSON(
            f"请求内容不是有效的UTF-8编码（第{exc.start}字节）", details={"position": exc.start}
        ) from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(
            f"JSON格式错误：第{exc.lineno}行第{exc.colno}列，{exc.msg}",
            details={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from None
    except RecursionError:
        raise MalformedJSON("JSON嵌套层数过深", details={"position": None}) from None
    except ValueError as exc:
        raise MalformedJSON(f"JSON格式错误：{exc}", details={"position": None}) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"不支持的数值 {name}")


Check = Callable[[Payload], Iterable[FieldError]]


def parse_payload(
    data: bytes | str | dict[str, Any], extra_checks: Iterable[Check] = ()
) -> Payload:
    """A payload that passed the schema and every rule, or ``PayloadInvalid`` with all errors.

    ``extra_checks`` run beside the payload's own rules (once the schema holds), so that checks of
    later stages (template, fonts) are reported in the same list.
    """
    obj = data if isinstance(data, dict) else decode_json(data)
    if not isinstance(obj, dict):
        raise PayloadInvalid([FieldError("$", "model_type", "报送数据须为JSON对象")])
    try:
        payload = Payload.model_validate(obj)
    except ValidationError as exc:
        schema_errors = [field_error_from_pydantic(e) for e in exc.errors()]
        raise PayloadInvalid(_dedupe(schema_errors + check_parsed_parts(obj))) from None
    errors = check_rules(payload)
    for check in extra_checks:
        errors += check(payload)
    if errors:
        raise PayloadInvalid(errors)
    return payload


def _dedupe(errors: Any) -> list[FieldError]:
    seen: dict[tuple[str, str], FieldError] = {}
    for error in errors:
        seen.setdefault((error.path, error.code), error)
    return list(seen.values())


def payload_json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of the payload, as ``docs/payload.schema.json``."""
    schema = Payload.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
