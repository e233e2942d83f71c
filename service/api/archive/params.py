"""What the archive's requests name: ids in the path, query parameters and the
``Idempotency-Key`` and ``If-None-Match`` headers, each checked before the store is asked.

Every refusal is ``400 invalid_parameter`` naming the parameter, except an id that cannot be one,
which is ``404 not_found`` exactly like an id that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from service.errors import InvalidParameter, NotFound

IDEMPOTENCY_HEADER = "Idempotency-Key"
ITEM_STATES = ("pending", "running", "done", "failed")
MAX_FILTER_CHARS = 200
"""Longest free-text filter (``company``, ``kind``)."""

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a document or batch id can be (the store makes ``doc_`` or ``bat_`` + 20 hex digits).
Anything else is answered ``404`` before the store is asked: a NUL or a lone surrogate would
make some databases fail, and a long id would be echoed back."""
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def idempotency_key(request: web.Request) -> str | None:
    """``Idempotency-Key``: 1–255 visible ASCII characters, or absent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in key)):
        raise InvalidParameter(
            "Idempotency-Key 须为1–255个可见ASCII字符", details={"parameter": IDEMPOTENCY_HEADER}
        )
    return key


def single_param(request: web.Request, name: str) -> str | None:
    """The query parameter ``name``, or ``None``; given more than once it is refused, since which
    of the values counts would be a guess."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidParameter(
            f"参数 {name} 只能出现一次", details={"parameter": name, "count": len(values)}
        )
    return values[0] if values else None


def int_param(request: web.Request, name: str, default: int | None, lo: int, hi: int) -> Any:
    text = single_param(request, name)
    if text is None:
        return default
    # ASCII digits only (an empty value is none): int() would also take " 1", "+1", "1_0" and
    # other scripts' digits
    value = int(text) if _INTEGER.fullmatch(text) else lo - 1
    if not lo <= value <= hi:
        raise InvalidParameter(
            f"参数 {name} 须为 {lo}–{hi} 之间的整数",
            details={"parameter": name, "min": lo, "max": hi},
        )
    return value


def checked_id(text: str, kind: str) -> str:
    """``text`` if it can be a document or batch id (``kind``: ``document``, ``batch``), else
    ``NotFound`` exactly as for an id that does not exist."""
    if _ID.fullmatch(text):
        return text
    message = "文档不存在" if kind == "document" else "批次不存在"
    raise NotFound(message, details={f"{kind}_id": printable(text[:64])})


def document_id_of(request: web.Request) -> str:
    return checked_id(request.match_info["id"], "document")


def batch_id_of(request: web.Request) -> str:
    return checked_id(request.match_info["id"], "batch")


def text_param(request: web.Request, name: str) -> str | None:
    """A free-text filter (``company``, ``kind``): at most 200 printable characters, or absent."""
    text = single_param(request, name)
    if not text:
        return None
    if len(text) > MAX_FILTER_CHARS or not text.isprintable():
        raise InvalidParameter(
            f"参数 {name} 须为不超过{MAX_FILTER_CHARS}个可打印字符",
            details={"parameter": name},
        )
    return text


def version_param(request: web.Request) -> int | None:
    value: int | None = int_param(request, "version", None, 1, 10**9)
    return value


def states_param(request: web.Request) -> list[str] | None:
    text = single_param(request, "state")
    if not text:
        return None
    states = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in states if s not in ITEM_STATES]
    if unknown or not states:
        raise InvalidParameter(
            f"参数 state 须为 {', '.join(ITEM_STATES)} 之一或以逗号分隔的组合",
            details={"parameter": "state", "allowed": list(ITEM_STATES)},
        )
    return states


def etag_matches(header: str | None, sha256: str) -> bool:
    """``If-None-Match`` (weak comparison, RFC 9110 §13.1.2) against our ETag."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


def printable(text: str) -> str:
    """``text`` with every unprintable character replaced, fit to echo back in an error."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text)
