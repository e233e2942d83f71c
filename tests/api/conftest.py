"""Fixtures for API tests: settings with known keys, the fake backend, and a client factory."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.api import create_app
from service.api.backend import Backend
from service.settings import Settings
from tests.api import fakes

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


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    """A test client of ``app`` on a started server; closed on leaving."""
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def client_factory(make_app: Callable[..., web.Application]) -> AsyncIterator[ClientFactory]:
    """``await factory(**arguments)``: a client (:func:`serving`) of ``make_app(**arguments)``;
    every one closed on leaving."""
    async with AsyncExitStack() as clients:

        async def factory(**arguments: Any) -> TestClient[Any, Any]:
            return await clients.enter_async_context(serving(make_app(**arguments)))

        yield factory


def _api_app(backend: Backend = FAKE_BACKEND, **overrides: Any) -> web.Application:
    return create_app(make_settings(**overrides), backend=backend)


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``await make_client(backend=..., **settings)``: a started test client; closed after."""
    async with client_factory(_api_app) as factory:
        yield factory


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real_worker() -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the real pipeline in one worker process, for a module's slow tests."""
    async with serving(create_app(make_settings(workers=1, render_timeout_s=120))) as client:
        yield client


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    """In-process rendering (workers=0) with the fake backend."""
    return await make_client()
