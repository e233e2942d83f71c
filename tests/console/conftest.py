"""Fixtures for console tests: an application with the console and a store, and clients that
sign in and carry the CSRF token."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.api.backend import Backend
from service.api.state import SETTINGS, STORE
from service.server import build_app
from service.settings import Settings
from service.store import Store, open_store
from tests.api.conftest import FAKE_BACKEND, ClientFactory, client_factory

KEY_ALL = "console-key-all-0123456789"
KEY_XIAOKANG = "console-key-xiaokang-abcdef"
KEY_OTHER = "console-key-other-zyxwvu"
KEY_XIAOKANG_NAME = "小康合规部"
API_KEYS = f"{KEY_ALL}:*;{KEY_XIAOKANG}:xiaokang-life:{KEY_XIAOKANG_NAME};{KEY_OTHER}:other-co"

OWN_STORE = web.AppKey("console_test_own_store", bool)
"""Set when the test opened the store (the application did not open one itself)."""

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def console_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"workers": 0, "api_keys": API_KEYS, "data_dir": data_dir}
    values.update(overrides)
    return Settings(**values)


async def _store_if_missing(app: web.Application) -> AsyncIterator[None]:
    """``app[STORE]`` from ``open_store(None, data_dir)`` unless the application opened one."""
    if STORE in app:
        yield
        return
    store = await open_store(None, app[SETTINGS].data_dir)
    app[STORE] = store
    app[OWN_STORE] = True
    try:
        yield
    finally:
        await store.close()


def console_app(
    data_dir: Path, *, backend: Backend | None = FAKE_BACKEND, **overrides: Any
) -> web.Application:
    """The application ``pilu serve`` runs (the API with the console mounted), with a store in
    ``data_dir`` once started."""
    app = build_app(console_settings(data_dir, **overrides), backend=backend)
    app.cleanup_ctx.append(_store_if_missing)
    return app


def store_of(client: TestClient[Any, Any]) -> Store:
    return client.app[STORE]


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def sign_in(client: TestClient[Any, Any], key: str) -> str:
    """Sign ``client`` in with ``key``; the session's CSRF token."""
    page = await client.get("/console/sign-in")
    token = csrf_of(await page.text())
    response = await client.post(
        "/console/sign-in", data={"csrf": token, "api_key": key}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    home = await client.get("/console/")
    assert home.status == 200
    return csrf_of(await home.text())


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """``await make_client(**settings)``: a started test client on a console app (fake backend,
    in-process rendering), each with its own data dir."""
    data_dirs = (tmp_path / f"data-{n}" for n in itertools.count())
    async with client_factory(lambda **overrides: console_app(next(data_dirs), **overrides)) as f:
        yield f


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client()
