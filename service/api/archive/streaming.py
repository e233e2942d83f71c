"""Stored bytes as a streamed response: a download or a batch ZIP, chunk by chunk, never whole.

A response streams what an async iterator yields. The first chunk is read before the headers go
out, so a missing artifact is still an ordinary error reply (``storage_corrupt``); a failure after
that cannot change the status any more, so the connection is dropped and the client sees a cut
transfer (short of ``Content-Length``, or a ZIP without its end), never a whole-looking file.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing

from aiohttp import web

log = logging.getLogger("pilu.api.archive")


async def stream_reply(
    request: web.Request,
    chunks: AsyncGenerator[bytes, None],
    headers: Mapping[str, str],
    *,
    size: int | None = None,
    what: str,
) -> web.StreamResponse:
    """Send ``chunks`` with ``headers`` (``Content-Length: size`` when known); ``what`` names
    the body in the log line of a cut transfer."""
    async with aclosing(chunks):
        first = await anext(chunks, b"")
        response = web.StreamResponse(headers=headers)
        if size is not None:
            response.content_length = size
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        try:
            if first:
                await response.write(first)
            async for chunk in chunks:
                if chunk:
                    await response.write(chunk)
        except ConnectionError:
            return response  # the client went away
        except Exception:
            log.exception("%s cut short", what)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response
