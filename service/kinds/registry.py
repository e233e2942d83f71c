"""The report kinds by name, the payload's way in through its ``kind``, and the published
schema: the union of every kind's payload model.

A payload names its kind in ``kind`` (absent: ``consumer-protection-annual``, as before kinds
were more than one); the kind's model and rules parse it. A kind is found by its package: every
package under ``service/kinds/`` defines ``KIND``.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from typing import Any, Union

from pydantic import TypeAdapter

from service.errors import FieldError, PayloadInvalid
from service.kinds.kind import Kind
from service.payload.parse import Check, decode_json, validate_object


def _discover() -> dict[str, Kind]:
    """The ``KIND`` of every package in ``service/kinds/``, by package name."""
    import service.kinds as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.append(module.KIND)
    return {kind.name: kind for kind in found}


KINDS: dict[str, Kind] = _discover()
"""Every report kind: the ``KIND`` of each package under ``service/kinds/``, in the order of the
packages' names (``pilu kinds`` lists them so)."""

DEFAULT_KIND = "consumer-protection-annual"
SCHEMA_ID = "https://pilu.example/schemas/payload-v1.json"


def refresh() -> None:
    """Forget the published schema, after a kind was added to (or taken from) :data:`KINDS`."""
    _schema.cache_clear()


def kind_named(name: str) -> Kind:
    return KINDS[name]


def kind_of(obj: dict[str, Any]) -> Kind:
    """The kind a payload object names, or ``PayloadInvalid`` for a kind there is not."""
    name = obj.get("kind", DEFAULT_KIND)
    if isinstance(name, str) and name in KINDS:
        return KINDS[name]
    known = "、".join(KINDS)
    raise PayloadInvalid([FieldError("$.kind", "literal_error", f"取值须为以下之一：{known}")])


def parse_payload(data: bytes | str | dict[str, Any], extra_checks: Iterable[Check] = ()) -> Any:
    """A payload of its kind that passed the schema and every rule, else ``PayloadInvalid``."""
    obj = data if isinstance(data, dict) else decode_json(data)
    if not isinstance(obj, dict):
        raise PayloadInvalid([FieldError("$", "model_type", "报送数据须为JSON对象")])
    kind = kind_of(obj)
    return validate_object(
        obj, extra_checks, model=kind.model, rules=kind.rules, part_rules=kind.check_parts
    )


@cache
def _schema() -> dict[str, Any]:
    models = tuple(kind.model for kind in KINDS.values())
    union: Any = Union[models]  # noqa: UP007 - a union built from a tuple of models
    schema = TypeAdapter(union).json_schema(mode="validation")
    quoted: dict[int, tuple[dict[str, Any], list[str]]] = {}
    for kind in KINDS.values():
        for figure in kind.figures:
            prop = _field(schema, figure.source.split("."), kind.model.__name__)
            if prop is not None:
                names = quoted.setdefault(id(prop), (prop, []))[1]
                if figure.name not in names:
                    names.append(figure.name)
    for prop, names in quoted.values():
        quote = "正文引用：" + "、".join(f"{{{name}}}" for name in names)
        text = prop.get("description")
        prop["description"] = f"{text}；{quote}" if text else quote
    return schema


def payload_json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12), as ``docs/payload.schema.json``: one branch per
    kind; a field a figure is read from says which ``{name}`` a paragraph may quote it as."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Pilu disclosure payload v1",
        "description": "报送数据：按 kind 选择报告类型，"
        + "、".join(KINDS)
        + "，缺省为 "
        + DEFAULT_KIND,
        **_schema(),
    }
    return copy.deepcopy(schema)


def _field(schema: dict[str, Any], keys: list[str], model: str) -> dict[str, Any] | None:
    """The schema of the field at ``keys`` below definition ``model``; ``None`` for a figure
    computed from several fields."""
    node: dict[str, Any] = schema["$defs"][model]
    for key in keys:
        prop = _resolve(schema, node).get("properties", {}).get(key)
        if not isinstance(prop, dict):
            return None
        node = prop
    return node


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` followed, and an optional field's non-null branch taken."""
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
        elif "anyOf" in node:
            node = next(b for b in node["anyOf"] if b.get("type") != "null")
        else:
            return node
