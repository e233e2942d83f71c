"""pydyf writes every object of a PDF once, not twice: the same bytes, half the work.

``pydyf.PDF.write`` (0.13) serialises each object when it writes it and then, to hash the file
identifier's second half, serialises every object again: ``b''.join(obj.data for obj in
self.objects)``. An object's ``data`` is a property that builds its bytes afresh each time, and a
stream's deflates its content again, so every page's content stream, every font subset and the
object stream are compressed twice per render (~10 % of a PDF's time). :func:`install` makes
``PDF.write`` remember, while it runs, the ``data`` of each numbered object (those the PDF holds
as indirect objects, the only ones the identifier hashes) and hand the same bytes out the second
time. The output is byte for byte what pydyf wrote before (a test compares).

What it cannot do: an object changed while ``write`` runs would keep its first bytes; pydyf
changes none (it only adds the info object, the object stream and the cross-reference stream,
each serialised after it is complete). The memory is per call: the remembered bytes (about the
size of the uncompressed PDF) are dropped when ``write`` returns. One thread at a time, like the
rest of the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydyf

_memo: dict[int, tuple[object, bytes]] | None = None
"""While :func:`_write_once` runs: ``id(object) -> (object, data)``; the object is kept so that
its id cannot be reused by another object during the call."""

_MEMOIZED_CLASSES = (pydyf.Dictionary, pydyf.Stream, pydyf.Array, pydyf.String)
"""The classes whose instances pydyf numbers in our PDFs (WeasyPrint's own ``Stream`` inherits
``data`` from :class:`pydyf.Stream`)."""

_original_write: Callable[..., Any] = pydyf.PDF.write


def _remembered(compute: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def data(self: Any) -> bytes:
        memo = _memo
        if memo is None or self.number is None:
            return compute(self)
        entry = memo.get(id(self))
        if entry is None or entry[0] is not self:
            entry = memo[id(self)] = (self, compute(self))
        return entry[1]

    data.pilu_remembered = True  # type: ignore[attr-defined]
    return data


def _write_once(self: pydyf.PDF, *args: Any, **kwargs: Any) -> Any:
    global _memo
    outer, _memo = _memo, {}
    try:
        return _original_write(self, *args, **kwargs)
    finally:
        _memo = outer


def install() -> None:
    """Make ``pydyf.PDF.write`` serialise each object once (idempotent)."""
    for cls in _MEMOIZED_CLASSES:
        prop = cls.__dict__["data"]
        if not getattr(prop.fget, "pilu_remembered", False):
            cls.data = property(_remembered(prop.fget), doc=prop.__doc__)
    pydyf.PDF.write = _write_once
