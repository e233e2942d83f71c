"""API keys: header forms, constant-time comparison over every key, company checks."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from service.api.auth import KeyRing, Principal, presented_key
from service.errors import Forbidden, Unauthorized
from service.settings import parse_api_keys

RING = KeyRing(parse_api_keys("alpha:co-a,co-b;beta:*;gamma:co-c"))


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"Authorization": "Bearer alpha"}, "alpha"),
        ({"Authorization": "bearer   alpha "}, "alpha"),
        ({"X-API-Key": "beta"}, "beta"),
        ({"Authorization": "Bearer alpha", "X-API-Key": "beta"}, "alpha"),
        ({"Authorization": "Basic alpha"}, None),
        ({"Authorization": "Bearer "}, None),
        ({"X-API-Key": "  "}, None),
        ({}, None),
    ],
)
def test_presented_key(headers: dict[str, str], key: str | None) -> None:
    assert presented_key(headers) == key


def test_identify_compares_against_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert RING.identify("alpha") == Principal(frozenset({"co-a", "co-b"}))
    assert len(calls) == 3  # no early exit on the first key
    calls.clear()
    assert RING.identify("nope") is None
    assert len(calls) == 3
    assert all(len(a) == len(b) == 32 for a, b in calls)  # digests: equal lengths


@pytest.mark.parametrize(
    ("key", "company", "allowed"),
    [
        ("alpha", "co-a", True),
        ("alpha", "co-c", False),
        ("beta", "anything", True),
        ("gamma", "co-c", True),
        ("gamma", "co-a", False),
    ],
)
def test_company_access(key: str, company: str, allowed: bool) -> None:
    principal = RING.authenticate({"X-API-Key": key})
    assert principal.may_access(company) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            principal.check(company)


def test_unknown_key_message_does_not_echo_the_key() -> None:
    with pytest.raises(Unauthorized) as caught:
        RING.authenticate({"Authorization": "Bearer guess-123"})
    assert "guess-123" not in str(caught.value.as_dict())
