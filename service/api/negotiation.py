"""Which format to send, and what to call the file.

The ``format`` query parameter wins over ``Accept``. Without either the first offered format
(PDF) is sent. ``Accept`` follows RFC 9110 §12.5.1: the most specific matching range sets the
quality of a media type, ``q=0`` refuses it, ties go to the offered order.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from service.errors import NotAcceptable
from service.formats import MEDIA_TYPES

_RFC5987_SAFE = "!#$&+-.^_`|~"


def choose_format(query_format: str | None, accept: str | None, offered: tuple[str, ...]) -> str:
    """The format to render; raises NotAcceptable (406) naming what is offered."""
    supported = {"supported": list(offered)}
    if query_format is not None:
        fmt = query_format.strip().lower()
        if fmt not in offered:
            raise NotAcceptable(f"不支持的输出格式：{query_format[:20]}", details=supported)
        return fmt
    if not accept or not accept.strip():
        return offered[0]
    ranges = _parse_accept(accept)
    best, best_q = None, 0.0
    for fmt in offered:
        q = _quality(MEDIA_TYPES[fmt], ranges)
        if q > best_q:
            best, best_q = fmt, q
    if best is None:
        raise NotAcceptable("Accept 中没有本服务能输出的格式", details=supported)
    return best


def _parse_accept(header: str) -> list[tuple[str, str, float]]:
    ranges = []
    for item in header.split(",")[:50]:
        media, *params = (p.strip() for p in item.split(";"))
        kind, _, sub = media.lower().partition("/")
        if not kind or not sub:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((kind, sub, q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, str, float]]) -> float:
    kind, _, sub = media_type.partition("/")
    for want_kind, want_sub in ((kind, sub), (kind, "*"), ("*", "*")):
        matches = [q for k, s, q in ranges if k == want_kind and s == want_sub]
        if matches:
            return max(matches)
    return 0.0


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real name as
    ``filename*=UTF-8''…`` (RFC 6266 §4.3, RFC 8187). ``fallback`` must be plain ASCII."""
    encoded = quote(filename, safe=_RFC5987_SAFE)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def ascii_filename(filename: str, company_id: str) -> str:
    """An ASCII stand-in for a Chinese file name: ``xiaokang-life-2023-disclosure.pdf``.

    Made of the company id and the ASCII runs of the name (the year), keeping the extension.
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    words = re.findall(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*", company_id)
    words += [w for w in re.findall(r"[A-Za-z0-9]+", stem) if w not in words]
    base = "-".join([*words, "disclosure"])[:120]
    safe_ext = re.sub(r"[^A-Za-z0-9]", "", ext)
    return f"{base}.{safe_ext}" if safe_ext else base
