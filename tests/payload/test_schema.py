"""The payload schema: what it accepts, what it refuses, and how it names each problem."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from service.errors import FieldError, MalformedJSON, PayloadInvalid
from service.kinds import parse_payload
from service.pipeline import parse_payload as pipeline_parse
from tests.conftest import EXAMPLE_FILES, ROOT


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_is_valid(path: Any) -> None:
    payload = parse_payload(path.read_bytes())
    assert payload.schema_version == 1


def errors_of(data: dict[str, Any] | bytes) -> list[FieldError]:
    with pytest.raises(PayloadInvalid) as info:
        parse_payload(data)
    return info.value.errors


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


DELETE = object()


@pytest.mark.parametrize(
    ("field", "value", "path", "code"),
    [
        ("company.full_name", DELETE, "$.company.full_name", "missing"),
        ("company.id", "Xiaokang Life", "$.company.id", "string_pattern_mismatch"),
        ("report_year", 2018, "$.report_year", "greater_than_equal"),
        ("report_year", "二〇二三", "$.report_year", "int_type"),
        ("report_year", "2023", "$.report_year", "int_type"),
        ("report_year", True, "$.report_year", "int_type"),
        ("publish_date", 1705017600, "$.publish_date", "date_type"),
        ("publish_date", True, "$.publish_date", "date_type"),
        ("ladder_start", True, "$.ladder_start", "int_type"),
        ("schema_version", True, "$.schema_version", "int_type"),
        ("figures.review.product", True, "$.figures.review.product", "int_type"),
        ("figures.review.product", "12", "$.figures.review.product", "int_type"),
        ("figures.review.product", Decimal("12.0"), "$.figures.review.product", "int_type"),
        ("figures.training.coverage", True, "$.figures.training.coverage", "decimal_type"),
        ("publish_date", "2024/01/12", "$.publish_date", "date_from_datetime_parsing"),
        ("kind", "annual-report", "$.kind", "literal_error"),
        ("schema_version", 2, "$.schema_version", "literal_error"),
        ("ladder_start", 3, "$.ladder_start", "literal_error"),
        ("surprise", 1, "$.surprise", "extra_forbidden"),
        ("intro.0", "", "$.intro[0]", "string_too_short"),
        ("intro.0", "字" * 5001, "$.intro[0]", "limit_exceeded"),
        ("sections.0.title", DELETE, "$.sections[0].title", "missing"),
        ("sections.0.sections.0.content.0", 5, "$.sections[0].sections[0].content[0]", "model_type"),
        ("sections.1.sections.1.sections.0.content.0.insert", "everything",
         "$.sections[1].sections[1].sections[0].content[0].insert", "literal_error"),
        ("figures.review.product", -1, "$.figures.review.product", "greater_than_equal"),
        ("figures.training.coverage", "全部", "$.figures.training.coverage", "decimal_parsing"),
        ("figures.complaints.regulator.total", 2.5, "$.figures.complaints.regulator.total",
         "int_type"),
        ("figures.complaints.regulator.breakdowns.0.dimension", "city",
         "$.figures.complaints.regulator.breakdowns[0].dimension", "literal_error"),
        ("figures.complaints.regulator.breakdowns.0.rows", [],
         "$.figures.complaints.regulator.breakdowns[0].rows", "too_short"),
        ("figures.complaints.direct.breakdowns.0.rows",
         [{"label": f"第{i}项", "count": 0} for i in range(501)],
         "$.figures.complaints.direct.breakdowns[0].rows", "limit_exceeded"),
    ],
)  # fmt: skip
def test_schema_errors_name_path_and_code(
    reference_example: dict[str, Any], field: str, value: Any, path: str, code: str
) -> None:
    _set(reference_example, field, value)
    errors = errors_of(reference_example)
    assert (path, code) in [(e.path, e.code) for e in errors], errors
    assert all(e.message and not e.message.isascii() for e in errors), "messages are in Chinese"


def test_all_schema_errors_are_reported_at_once(reference_example: dict[str, Any]) -> None:
    _set(reference_example, "report_year", 1999)
    _set(reference_example, "company.short_name", DELETE)
    _set(reference_example, "figures.review.service", "many")
    paths = {e.path for e in errors_of(reference_example)}
    assert {"$.report_year", "$.company.short_name", "$.figures.review.service"} <= paths


@pytest.mark.parametrize(
    ("raw", "line", "column"),
    [
        (b'{"company": ', 1, 13),
        (b'{\n  "a": 1,\n  "b": ]\n}', 3, 8),
        (b"[1, 2", 1, 6),
        (b'{"x": NaN}', None, None),
    ],
)
def test_malformed_json_names_the_position(
    raw: bytes, line: int | None, column: int | None
) -> None:
    with pytest.raises(MalformedJSON) as info:
        parse_payload(raw)
    if line is not None:
        assert info.value.details["line"] == line
        assert info.value.details["column"] == column
        assert f"第{line}行" in info.value.message


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(MalformedJSON):
        parse_payload(b'{"a": "\xff"}')


def test_top_level_must_be_an_object() -> None:
    assert [(e.path, e.code) for e in errors_of(b"[1, 2]")] == [("$", "model_type")]


def test_published_schema_is_current() -> None:
    """docs/payload.schema.json is generated from the code; regenerate with `make schema`."""
    from service.kinds import payload_json_schema

    published = json.loads((ROOT / "docs" / "payload.schema.json").read_text(encoding="utf-8"))
    assert published == payload_json_schema()


@pytest.mark.parametrize(
    ("field", "value", "path", "wanted"),
    [
        ("ladder_start", 3, "$.ladder_start", "取值须为以下之一：1、2"),
        ("kind", "annual", "$.kind", "取值须为以下之一：consumer-protection-annual"),
        ("company.id", "Xiaokang Life", "$.company.id", "^[a-z0-9][a-z0-9-]{1,62}$"),
        ("house_style", "Nobody", "$.house_style", "^[a-z0-9][a-z0-9-]{0,62}$"),
        ("house_style", "nobody", "$.house_style", "可用的有：gbt9704、xiaokang"),
    ],
)  # fmt: skip
def test_messages_name_what_is_allowed(
    reference_example: dict[str, Any], field: str, value: Any, path: str, wanted: str
) -> None:
    _set(reference_example, field, value)
    with pytest.raises(PayloadInvalid) as info:
        pipeline_parse(reference_example)
    (error,) = [e for e in info.value.errors if e.path == path]
    assert wanted in error.message, error.message
    assert " or " not in error.message
