"""Batch input → items: a JSON array, NDJSON (one payload a line) or a folder of ``*.json``.

Only what an access check and a worker need is checked here: each item is a JSON object with a
``company.id``. Full validation happens when the item is rendered, where its errors are recorded
against that item. Problems found here are reported per line (NDJSON), element (array) or file
(folder), all at once.

An array element is stored re-encoded (``json.dumps``, UTF-8, compact), so its hash is not that
of any bytes the caller sent; NDJSON lines and files are stored byte for byte (a trailing
``\\r`` and surrounding blanks removed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.errors import BatchInvalid, FieldError, MalformedJSON
from service.payload.parse import decode_json
from service.store.models import BatchItemInput

MAX_ITEMS = 10_000
"""Most items one batch may hold (the API's ``max_batch_items`` may lower it)."""
MAX_COMPANY_ID_CHARS = 200
"""Longest ``company.id`` kept with an item. The payload schema allows far less (63); this only
keeps what cannot be an id out of the store's indexes before the item is validated."""

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    items: list[BatchItemInput]
    lines: list[int | None]
    """The input line of each item (NDJSON), ``None`` for array elements and files."""

    @property
    def problems(self) -> list[dict[str, Any]]:
        """``{"index", "line", "source", "errors"}`` for every item with errors."""
        return [
            {
                "index": index,
                "line": self.lines[index],
                "source": item.source,
                "errors": [e.as_dict() for e in item.errors],
            }
            for index, item in enumerate(self.items)
            if item.errors
        ]

    def raise_for_problems(self) -> None:
        """``BatchInvalid`` listing every bad item, if any (the API rejects such a batch whole)."""
        problems = self.problems
        if problems:
            raise BatchInvalid(f"批次中有{len(problems)}项无法读取", details=problems)


def item_from_bytes(
    raw: bytes, source: str, *, idempotency_key: str | None = None
) -> BatchItemInput:
    """One item; ``errors`` tell why it cannot be a payload (bad JSON, no ``company.id``)."""
    try:
        obj = decode_json(raw)
    except MalformedJSON as exc:
        return BatchItemInput(
            raw, source, None, (FieldError("$", exc.code, exc.message),), idempotency_key
        )
    return _item_from_object(raw, obj, source, idempotency_key)


def _item_from_object(
    raw: bytes, obj: Any, source: str, idempotency_key: str | None
) -> BatchItemInput:
    if not isinstance(obj, dict):
        error = FieldError("$", "model_type", "报送数据须为JSON对象")
        return BatchItemInput(raw, source, None, (error,), idempotency_key)
    company = obj.get("company")
    value = company.get("id") if isinstance(company, dict) else None
    if not isinstance(value, str) or not value.strip():
        error = FieldError("$.company.id", "missing", "缺少必填项")
        return BatchItemInput(raw, source, None, (error,), idempotency_key)
    value = value.strip()
    if len(value) > MAX_COMPANY_ID_CHARS or not value.isprintable():
        # NUL, control characters and lone surrogates: a database may refuse them (500).
        error = FieldError("$.company.id", "forbidden_character", "公司标识含有不可用的字符或过长")
        return BatchItemInput(raw, source, None, (error,), idempotency_key)
    return BatchItemInput(raw, source, value, (), idempotency_key)


def parse_batch(data: bytes, *, max_items: int = MAX_ITEMS) -> ParsedBatch:
    """Items of a JSON array (first non-blank byte ``[``) or of NDJSON (blank lines skipped).

    Raises ``BatchInvalid`` when the input as a whole is unusable: an array that is not valid
    JSON, no items, or more than ``max_items``. Bad items are returned with their errors.
    """
    data = data.removeprefix(_BOM)
    parsed = _parse_array(data) if data.lstrip()[:1] == b"[" else _parse_ndjson(data)
    _check_count(len(parsed.items), max_items)
    return parsed


def parse_folder(folder: Path, *, max_items: int = MAX_ITEMS) -> ParsedBatch:
    """One item per ``*.json`` file directly in ``folder``, sorted by name; source = file name."""
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    _check_count(len(files), max_items)
    items = [item_from_bytes(_strip_bom(p.read_bytes()), p.name) for p in files]
    return ParsedBatch(items=items, lines=[None] * len(items))


def _parse_array(data: bytes) -> ParsedBatch:
    """Walk the array element by element (``raw_decode``) so each item keeps its own bytes and
    the line it starts on."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BatchInvalid(f"批次不是有效的UTF-8编码（第{exc.start}字节）", details=[]) from None
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
    pos = _skip_blank(text, text.index("[") + 1)
    items: list[BatchItemInput] = []
    lines: list[int | None] = []
    if pos < len(text) and text[pos] == "]":
        return ParsedBatch(items=[], lines=[])
    while True:
        line = text.count("\n", 0, pos) + 1
        try:
            element, end = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, ValueError) as exc:
            raise _array_error(text, exc, len(items), pos) from None
        raw = text[pos:end].encode("utf-8")
        items.append(_item_from_object(raw, element, f"[{len(items)}]", None))
        lines.append(line)
        pos = _skip_blank(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_blank(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]" and not text[pos + 1 :].strip():
            return ParsedBatch(items=items, lines=lines)
        raise _array_error(text, json.JSONDecodeError("应为“,”或“]”", text, pos), len(items), pos)


def _parse_ndjson(data: bytes) -> ParsedBatch:
    items: list[BatchItemInput] = []
    lines: list[int | None] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        source = f"line {number}"
        try:
            obj = decode_json(line)
        except MalformedJSON as exc:
            column = (exc.details or {}).get("column")
            where = f"第{number}行第{column}列" if column else f"第{number}行"
            message = exc.message.split("，", 1)[-1] if column else exc.message
            item = BatchItemInput(
                line, source, None, (FieldError("$", exc.code, f"{where}：{message}"),)
            )
        else:
            item = _item_from_object(line, obj, source, None)
        items.append(item)
        lines.append(number)
    return ParsedBatch(items=items, lines=lines)


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _array_error(text: str, exc: Exception, index: int, element_pos: int) -> BatchInvalid:
    """``index`` is 0-based in ``details`` and 1-based in the message."""
    pos = getattr(exc, "pos", element_pos)
    line = text.count("\n", 0, pos) + 1
    message = getattr(exc, "msg", str(exc))
    return BatchInvalid(
        f"批次JSON格式错误：第{line}行，第{index + 1}项，{message}",
        details=[{"index": index, "line": line, "source": f"[{index}]", "errors": []}],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"不支持的数值 {name}")


def _check_count(count: int, max_items: int) -> None:
    if count == 0:
        raise BatchInvalid("批次中没有任何报送数据", details=[])
    if count > max_items:
        raise BatchInvalid(
            f"批次最多{max_items}项，收到{count}项", details={"max_items": max_items}
        )


def _strip_bom(data: bytes) -> bytes:
    return data.removeprefix(_BOM)


__all__ = ["MAX_ITEMS", "ParsedBatch", "item_from_bytes", "parse_batch", "parse_folder"]
