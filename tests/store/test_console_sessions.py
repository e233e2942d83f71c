"""Console sessions in the store, on both backends: expiry, bounds, sharing between nodes, and
the end of a session whose key was removed."""

from __future__ import annotations

from typing import Any

from service.api.auth import KeyRing
from service.console.sessions import SessionStore
from service.settings import Settings
from service.store import Store
from service.store.sessions import SessionRows
from tests.console.conftest import API_KEYS, KEY_ALL, KEY_OTHER, KEY_XIAOKANG


def session_store(store: Store, **options: Any) -> SessionStore:
    keys = KeyRing(Settings(api_keys=API_KEYS, workers=0).api_keys)
    return SessionStore(rows=lambda: SessionRows(store.db), keys=lambda: keys, **options)


async def test_sessions_expire_when_idle_and_at_their_age(store: Store) -> None:
    now = [1000.0]
    sessions = session_store(
        store, idle_timeout_s=60, max_age_s=300, touch_after_s=0, clock=lambda: now[0]
    )
    principal = KeyRing(Settings(api_keys=API_KEYS, workers=0).api_keys).identify(KEY_XIAOKANG)
    assert principal is not None
    session, cookie = await sessions.create(principal, "tag")
    now[0] += 59
    found = await sessions.lookup(cookie)
    assert found is not None and (found.id, found.csrf) == (session.id, session.csrf)
    assert found.principal.companies == frozenset({"xiaokang-life"})
    now[0] += 61
    assert await sessions.lookup(cookie) is None
    _, cookie = await sessions.create(principal, "tag")
    for _ in range(7):
        now[0] += 50
        found = await sessions.lookup(cookie)
    assert found is None  # used all along, still ends at max_age_s


async def test_sessions_are_bounded_and_shared_by_every_node(store: Store) -> None:
    sessions = session_store(store, max_sessions=3)
    keys = KeyRing(Settings(api_keys=API_KEYS, workers=0).api_keys)
    principal = keys.identify(KEY_ALL)
    assert principal is not None
    cookies = [(await sessions.create(principal, "t"))[1] for _ in range(5)]
    assert await SessionRows(store.db).count() == 3
    assert await sessions.lookup(cookies[0]) is None
    assert await sessions.lookup(cookies[-1]) is not None
    other_node = session_store(store)  # another process on the same store: same secret, rows
    assert await other_node.lookup(cookies[-1]) is not None
    pre = SessionStore.new_pre_session()
    assert await other_node.sign_in_token_ok(pre, await sessions.sign_in_token(pre))


async def test_a_session_ends_with_its_key(store: Store) -> None:
    """A key taken out of PILU_API_KEYS signs its sessions out, though they are in the store."""
    principal = KeyRing(Settings(api_keys=API_KEYS, workers=0).api_keys).identify(KEY_OTHER)
    assert principal is not None
    _, cookie = await session_store(store).create(principal, "t")
    fewer = KeyRing(Settings(api_keys=f"{KEY_ALL}:*", workers=0).api_keys)
    restarted = SessionStore(rows=lambda: SessionRows(store.db), keys=lambda: fewer)
    assert await restarted.lookup(cookie) is None
    assert await SessionRows(store.db).count() == 0
