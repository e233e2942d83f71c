"""Fixtures for API tests: settings with known keys, the fake backend, and a client factory."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.api import create_app
from service.api.backend import Backend
from service.settings import Settings
from tests.api import fakes
from tests.store.backends import pg_url, postgres_server  # noqa: F401 - fixtures for PostgreSQL

KEY_ALL = "key-all-companies-0123456789"
KEY_XIAOKANG = "key-xiaokang-abcdefghij"
KEY_OTHER = "key-other-company-zyxwvu"
API_KEYS = f"{KEY_ALL}:*;{KEY_XIAOKANG}:xiaokang-life;{KEY_OTHER}:other-co"
AUTH = {"Authorization": f"Bearer {KEY_XIAOKANG}"}

FAKE_BACKEND = Backend(
    render=fakes.render,
    preview=fakes.preview,
    company_id=fakes.company_id,
    payload_schema=fakes.payload_schema,
    warm_up=fakes.warm_up,
    formats=("pdf", "docx", "zip"),
    render_item=fakes.render_item,
)

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def _fresh_data_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="pilu-api-test-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def make_settings(**overrides: Any) -> Settings:
    """In-process rendering, the three test keys, and a fresh data dir (the store's SQLite and
    files) unless ``data_dir`` is given; the dir is removed at exit."""
    values: dict[str, Any] = {"workers": 0, "api_keys": API_KEYS, "data_dir": _fresh_data_dir()}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``await make_client(backend=..., **settings)``: a started test client; closed after."""
    clients: list[TestClient[Any, Any]] = []

    async def factory(backend: Backend = FAKE_BACKEND, **overrides: Any) -> TestClient[Any, Any]:
        app = create_app(make_settings(**overrides), backend=backend)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    """In-process rendering (workers=0) with the fake backend."""
    return await make_client()
