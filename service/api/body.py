"""Reading a request body without ever holding more than the limit."""

from __future__ import annotations

from aiohttp import web

from service.errors import PayloadTooLarge

_CHUNK = 64 * 1024


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or PayloadTooLarge (413) as soon as it passes ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a chunked
    body is read until it passes the limit. The rest of an oversized body is left to aiohttp,
    which drains or drops the connection.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(
            f"请求体 {declared} 字节，超过上限 {limit} 字节", details={"max_bytes": limit}
        )
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"请求体超过上限 {limit} 字节", details={"max_bytes": limit})
    return bytes(body)
