"""API keys: who is calling, and may they use this company's payload.

Keys are compared as SHA-256 digests with ``hmac.compare_digest`` against every configured key,
so the time taken does not depend on which key (or how much of one) matched. Keys never reach a
log line or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from service.errors import Forbidden, Unauthorized
from service.settings import ApiKey

ALL_COMPANIES = "*"


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller with a known key; ``companies`` holds company ids, or ``*`` for all."""

    companies: frozenset[str]
    scope: str = field(default="", compare=False)
    name: str = field(default="", compare=False)
    """The key's configured name (``ApiKey.name``), recorded with the versions it makes."""
    """A non-reversible tag of the key (hex of part of its SHA-256): the namespace of its
    idempotency keys in the store, so two keys can neither collide nor see each other's."""

    @property
    def allowed_companies(self) -> frozenset[str] | None:
        """What the store's reads take: ``None`` for every company, else the company ids."""
        return None if ALL_COMPANIES in self.companies else self.companies

    def may_access(self, company_id: str) -> bool:
        return ALL_COMPANIES in self.companies or company_id in self.companies

    def check(self, company_id: str) -> None:
        """Raises Forbidden unless this caller may use ``company_id``."""
        if not self.may_access(company_id):
            raise Forbidden("此API密钥无权处理该公司的数据", details={"company_id": company_id})


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._entries = tuple(
            (_digest(k.secret.get_secret_value()), k.companies, k.name) for k in keys
        )

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str) -> Principal | None:
        digest = _digest(presented)
        found: Principal | None = None
        for known, companies, name in self._entries:
            if hmac.compare_digest(known, digest) and found is None:
                found = Principal(companies, scope=known[:16].hex(), name=name)
        return found

    def by_scope(self, scope: str) -> Principal | None:
        """The principal of the configured key whose :attr:`Principal.scope` is ``scope``
        (a console session names its key so); ``None`` once that key is gone."""
        found: Principal | None = None
        for known, companies, name in self._entries:
            tag = known[:16].hex()
            if hmac.compare_digest(tag.encode(), scope.encode()) and found is None:
                found = Principal(companies, scope=tag, name=name)
        return found

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller named by ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

        ``Authorization`` wins when both are sent. Raises Unauthorized for no key, a malformed
        ``Authorization`` header, or an unknown key (one message for all, so nothing leaks).
        """
        presented = presented_key(headers)
        principal = self.identify(presented) if presented else None
        if principal is None:
            raise Unauthorized(
                "缺少API密钥或密钥无效：请用 Authorization: Bearer <密钥> 或 X-API-Key"
            )
        return principal


def presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None
    key = headers.get("X-API-Key")
    return key.strip() if key and key.strip() else None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
