"""The parity check of a stored version (:mod:`service.render.parity`): its two outputs read
from the store as downloads read them, compared in the worker pool, the result kept in memory.

The result depends only on the bytes of the two outputs and on the house style's page number
format, so it is kept per (DOCX SHA-256, PDF SHA-256, house style) in an LRU of
:attr:`ParityCache.size` entries: a page view after the first does not compare again, and
versions with the same bytes share one result. The cache is per process and lost on restart;
two requests for a version not yet checked may both compare it (the second result replaces the
first, the same). Access control is not here: callers look the document up with the caller's
companies first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from service.api.state import ADMISSION, POOL, SETTINGS, STORE
from service.jobs import tasks
from service.store import StoredDocument

ParityKey = tuple[str, str, str]


@dataclass(eq=False)
class ParityCache:
    size: int = 512
    _results: OrderedDict[ParityKey, dict[str, Any]] = field(default_factory=OrderedDict)

    def get(self, key: ParityKey) -> dict[str, Any] | None:
        found = self._results.get(key)
        if found is not None:
            self._results.move_to_end(key)
        return found

    def put(self, key: ParityKey, result: dict[str, Any]) -> None:
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > self.size:
            self._results.popitem(last=False)


PARITY: web.AppKey[ParityCache] = web.AppKey("parity")


def parity_key(doc: StoredDocument) -> ParityKey | None:
    """The cache key of ``doc``'s version; ``None`` when it lacks the DOCX or the PDF."""
    outputs = doc.version.manifest.outputs
    docx, pdf = outputs.get("docx"), outputs.get("pdf")
    if docx is None or pdf is None:
        return None
    return docx.sha256, pdf.sha256, doc.version.manifest.house_style


def cached_parity(app: web.Application, doc: StoredDocument) -> dict[str, Any] | None:
    """The result for ``doc``'s version if it was checked before in this process."""
    key = parity_key(doc)
    return app[PARITY].get(key) if key is not None else None


async def version_parity(app: web.Application, doc: StoredDocument) -> dict[str, Any] | None:
    """The parity check of ``doc``'s version (``{"ok", "compared", "differences"}``, see
    :meth:`service.render.parity.ParityReport.as_json`), from the cache or compared now;
    ``None`` for a version without both outputs. Raises the store's errors (``StorageCorrupt``)
    and the pool's (``Overloaded``, ``RenderTimeout`` …)."""
    key = parity_key(doc)
    if key is None:
        return None
    cache = app[PARITY]
    found = cache.get(key)
    if found is not None:
        return found
    outputs = doc.version.manifest.outputs
    store = app[STORE]
    docx = b"".join([c async for c in store.documents.stream_output(outputs["docx"])])
    pdf = b"".join([c async for c in store.documents.stream_output(outputs["pdf"])])
    with app[ADMISSION].ticket():
        result = await app[POOL].run(
            tasks.parity, docx, pdf, key[2], timeout=app[SETTINGS].render_timeout_s
        )
    cache.put(key, result)
    return result
