"""Reading a request body: within a size limit, a deadline, and a bound per API key.

A body is read before its request takes a render ticket (:mod:`service.api.admission`), so a
client that sends slowly holds a connection and one of its own key's upload places, never a
place of another caller's render. Every body must arrive whole within ``body_timeout_s``; past
it the caller gets 408 and the connection is closed. A key may have ``uploads_per_key`` bodies
arriving at once; the next gets 429 before anything is read. Memory held by bodies being read
is therefore at most ``uploads_per_key × max_body_bytes`` per configured key.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from service.api.state import PRINCIPAL, UPLOADS
from service.errors import PayloadTooLarge, RequestTimeout, TooManyUploads

_CHUNK = 64 * 1024


class Uploads:
    """How many bodies each key is sending at once, and how long a body may take."""

    def __init__(self, per_key: int, timeout_s: float, retry_after_s: int) -> None:
        self.per_key = per_key
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self.active: Counter[str] = Counter()

    @contextmanager
    def place(self, scope: str) -> Iterator[None]:
        """One upload place of the key ``scope``; ``TooManyUploads`` (429) when all are taken."""
        if self.active[scope] >= self.per_key:
            raise TooManyUploads(
                "此API密钥同时上传的请求过多，请等前面的上传完成后再试",
                details={"limit": self.per_key},
                retry_after_s=self.retry_after_s,
            )
        self.active[scope] += 1
        try:
            yield
        finally:
            self.active[scope] -= 1
            if not self.active[scope]:
                del self.active[scope]


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body; PayloadTooLarge (413) as soon as it passes ``limit`` bytes, RequestTimeout
    (408) when it has not arrived whole within the deadline, TooManyUploads (429) when the key
    already sends as many bodies as it may.

    A declared ``Content-Length`` over the limit is refused before reading anything; a chunked
    body is read until it passes the limit. The rest of an oversized body is left to aiohttp,
    which drains or drops the connection.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(
            f"请求体 {declared} 字节，超过上限 {limit} 字节", details={"max_bytes": limit}
        )
    uploads = request.app[UPLOADS]
    with uploads.place(request[PRINCIPAL].scope):
        try:
            async with asyncio.timeout(uploads.timeout_s):
                return await _read_within(request, limit)
        except TimeoutError:
            raise RequestTimeout(
                f"请求体未在 {uploads.timeout_s:g} 秒内传完",
                details={"timeout_s": uploads.timeout_s},
            ) from None


async def _read_within(request: web.Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"请求体超过上限 {limit} 字节", details={"max_bytes": limit})
    return bytes(body)
