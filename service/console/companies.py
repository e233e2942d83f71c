"""Companies by name (小康人寿), not by id (xiaokang-life), wherever the console lists them.

A company's name is the ``company.short_name`` of the latest payload seen for it: learnt from
every payload the console checks, generates or saves as a draft, and read from the store (one
document's latest payload) the first time a page lists a company not yet known. The names are
kept per process, at most :data:`MAX_NAMES`; a company renamed shows its new name once one of its
new payloads has been seen here. An id with no stored payload shows as the id.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.errors import PiluError
from service.store import DocumentSummary, Store, StoredDocument

MAX_NAMES = 10_000


@dataclass(eq=False)
class CompanyNames:
    names: dict[str, str] = field(default_factory=dict)

    def learn(self, payload: Any) -> None:
        """Remember the company's short name from a payload (parsed JSON), if it has both."""
        company = payload.get("company") if isinstance(payload, dict) else None
        if not isinstance(company, dict):
            return
        cid, name = company.get("id"), company.get("short_name") or company.get("full_name")
        if isinstance(cid, str) and cid and isinstance(name, str) and name.strip():
            if cid not in self.names and len(self.names) >= MAX_NAMES:
                self.names.pop(next(iter(self.names)))
            self.names[cid] = name.strip()

    def learn_raw(self, raw: bytes | str) -> None:
        with contextlib.suppress(ValueError, RecursionError):
            self.learn(json.loads(raw))

    def name(self, company_id: str) -> str:
        return self.names.get(company_id, company_id)

    async def load(
        self,
        store: Store,
        documents: Iterable[DocumentSummary | StoredDocument],
        allowed: Any = None,
    ) -> dict[str, str]:
        """The names of the documents' companies, reading one payload of each company not
        known yet."""
        for doc in documents:
            if doc.company_id in self.names:
                continue
            try:
                raw = await store.documents.read_payload(doc.id, allowed_companies=allowed)
            except (PiluError, OSError):
                continue
            self.learn_raw(raw)
        return dict(self.names)

    async def load_ids(self, store: Store, company_ids: Iterable[str]) -> None:
        """The names of ``company_ids`` (a key's companies, ``*`` left out) not known yet, each
        from one stored document of it; a company with none stays unnamed."""
        for company_id in company_ids:
            if company_id == "*" or company_id in self.names:
                continue
            try:
                found = await store.documents.list(company_id=company_id, limit=1)
            except PiluError:
                continue
            await self.load(store, found.items)
