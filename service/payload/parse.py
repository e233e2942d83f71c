"""JSON bytes -> a payload of a model, with every problem named by JSON path, code and message."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from service.errors import FieldError, MalformedJSON, PayloadInvalid
from service.payload.messages import field_error_from_pydantic


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


Check = Callable[[Any], Iterable[FieldError]]


def validate_object(
    obj: dict[str, Any],
    extra_checks: Iterable[Check],
    *,
    model: type[BaseModel],
    rules: Callable[[Any], list[FieldError]],
    part_rules: Callable[[dict[str, Any]], list[FieldError]],
) -> Any:
    """A payload of ``model`` that passed the schema and every rule, or ``PayloadInvalid`` with
    all errors: ``rules`` check a parsed payload, ``part_rules`` the parts of an invalid one that
    parse on their own (each report kind gives its own, see :mod:`service.kinds`).

    ``extra_checks`` run beside the payload's own rules (once the schema holds), so that checks of
    later stages (template, fonts) are reported in the same list.
    """
    try:
        payload = model.model_validate(obj)
    except ValidationError as exc:
        schema_errors = [field_error_from_pydantic(e) for e in exc.errors()]
        raise PayloadInvalid(_dedupe(schema_errors + part_rules(obj))) from None
    errors = rules(payload)
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
