"""The parity check's result on a document's page: do the stored DOCX and PDF of the version
shown say the same thing (:mod:`service.render.parity`, run by :mod:`service.api.parity`).

The page waits for the check the first time a version is shown (about as long as its
thumbnails), then it comes from the cache. A check that cannot run now (the pool busy, a
stored file damaged) leaves the page up with the reason; it does not fail the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from service.api.parity import version_parity
from service.errors import PiluError
from service.store import StoredDocument

MAX_SHOWN = 50
"""Differences listed on the page; the rest are counted."""


@dataclass(frozen=True, slots=True)
class ParityView:
    ok: bool
    compared: dict[str, int] = field(default_factory=dict)
    differences: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0
    """Differences not listed (past :data:`MAX_SHOWN`)."""
    problem: str = ""
    """Why there is no result (then ``ok`` is false and nothing was compared)."""


async def for_version(request: web.Request, doc: StoredDocument) -> ParityView:
    """The result for the version of ``doc`` (looked up with the user's companies)."""
    try:
        result = await version_parity(request.app, doc)
    except PiluError as exc:
        return ParityView(ok=False, problem=f"无法检查：{exc.message}")
    if result is None:
        return ParityView(ok=False, problem="该版本没有同时存档 DOCX 和 PDF，无从比对。")
    differences = list(result["differences"])
    return ParityView(
        ok=bool(result["ok"]),
        compared=dict(result["compared"]),
        differences=differences[:MAX_SHOWN],
        more=max(0, len(differences) - MAX_SHOWN),
    )
