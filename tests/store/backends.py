"""Fixtures for both store backends: a throwaway PostgreSQL database per test, SQLite in tmp.

PostgreSQL must be reachable at 127.0.0.1:5432 (trust auth, user ``postgres``). When it is not,
the fixture starts the local cluster (``pg_ctlcluster``) and waits; it never skips: a test run
that did not test PostgreSQL must not look green.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from service.store import Store, open_store
from service.store.schema import metadata

T = TypeVar("T")

PG_HOST = os.environ.get("PILU_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PILU_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("PILU_TEST_PG_USER", "postgres")
PG_ADMIN_URL = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
BACKENDS = ("sqlite", "postgresql")


async def _can_connect() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _reachable() -> bool:
    # In a thread of its own: callers may be inside a running event loop (async fixtures).
    return _in_thread(_can_connect)


def ensure_postgres() -> None:
    """Connectable PostgreSQL, started with ``pg_ctlcluster`` if it was down; else fail."""
    if _reachable():
        return
    clusters = Path("/etc/postgresql")
    if not clusters.is_dir():
        pytest.fail("PostgreSQL is not installed (no /etc/postgresql); `make test` installs it")
    for version in sorted(os.listdir(clusters)):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False, capture_output=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _reachable():
            return
        time.sleep(0.5)
    pytest.fail(f"PostgreSQL did not come up at {PG_HOST}:{PG_PORT}")


async def create_database() -> str:
    """A fresh, empty database; its URL."""
    name = f"pilu_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> None:
    ensure_postgres()


@pytest.fixture
async def pg_url(postgres_server: None) -> AsyncIterator[str]:
    url = await create_database()
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(scope="session")
def shared_pg_url(postgres_server: None) -> Iterator[str]:
    """One migrated database for the session; :func:`database_url` empties it before each test
    (much faster than a database per test). Tests of migrations use :func:`fresh_database_url`."""

    async def make() -> str:
        url = await create_database()
        async with await open_store(url, Path("/nonexistent")):
            pass
        return url

    url = _in_thread(make)
    try:
        yield url
    finally:
        _in_thread(lambda: drop_database(url))


async def _truncate_all(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        # DELETE, not TRUNCATE: on tables this small it is several times faster (no new files).
        for table in reversed(metadata.sorted_tables):
            if table.name != "schema_migrations":
                await conn.execute(f'DELETE FROM "{table.name}"')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """``None`` (SQLite in the test's data dir) or the shared PostgreSQL database, emptied."""
    if backend == "sqlite":
        yield None
        return
    url = request.getfixturevalue("shared_pg_url")
    await _truncate_all(url)
    yield url


@pytest.fixture
async def fresh_database_url(
    backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[str | None]:
    """``None`` (SQLite) or a PostgreSQL database of its own, never migrated, dropped after."""
    if backend == "sqlite":
        yield None
        return
    request.getfixturevalue("postgres_server")
    url = await create_database()
    try:
        yield url
    finally:
        await drop_database(url)


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(database_url: str | None, data_dir: Path) -> AsyncIterator[Store]:
    s = await open_store(database_url, data_dir)
    try:
        yield s
    finally:
        await s.close()
