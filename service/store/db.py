"""One database behind SQLAlchemy Core (async): engine set-up per dialect and the few SQL pieces
that differ between SQLite and PostgreSQL.

Everything else in :mod:`service.store` is written once against this module. What differs:

- **Time.** :class:`epoch_now` is the database's clock in seconds since 1970 (a float), so every
  node compares leases against one clock; node clocks may drift, the database's does not jump
  between nodes. SQLite's ``julianday('now')`` has millisecond resolution.
- **Write transactions.** SQLite allows one writer; a deferred transaction that reads first and
  writes later can fail with ``SQLITE_BUSY`` when another process wrote in between, whatever the
  busy timeout. :meth:`Database.write` therefore opens SQLite transactions with
  ``BEGIN IMMEDIATE`` (the lock is taken up front and waited for, up to the busy timeout);
  :meth:`Database.read` uses a plain ``BEGIN``. On PostgreSQL both are ``READ COMMITTED``
  transactions and row locks do the rest.
- **Insert-or-ignore.** :func:`insert_ignore` is ``INSERT … ON CONFLICT DO NOTHING`` in both.

SQLite runs in WAL mode with ``synchronous=FULL``: a committed transaction survives a power cut,
readers never wait for the writer. It is for one machine: WAL needs shared memory, so never put
the file on a network file system.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import Double, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import PoolResetState
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.util import await_only

from service.store.errors import (
    StorageRefused,
    is_sqlite_io_error,
    probe_folder,
    storage_error,
)

SQLITE_FILE_NAME = "pilu.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "pilu_write"


class epoch_now(FunctionElement[float]):
    """The database server's current time in seconds since the Unix epoch (float)."""

    type = Double()
    inherit_cache = True
    name = "epoch_now"


@compiles(epoch_now, "postgresql")
def _epoch_now_pg(element: epoch_now, compiler: Any, **kw: Any) -> str:
    # clock_timestamp(), not now(): now() is frozen at the start of the transaction.
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(epoch_now, "sqlite")
def _epoch_now_sqlite(element: epoch_now, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


def normalise_url(database_url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy async URL for ``database_url``; ``None`` or ``""`` means the embedded
    SQLite file ``<data_dir>/pilu.sqlite3``.

    ``postgresql://`` and ``postgres://`` get the psycopg (3) driver, the one the job engine
    (:mod:`service.jobs.engine`) uses too, ``sqlite:///path`` the aiosqlite one; a URL that names
    its driver (``postgresql+psycopg://``) is kept as it is, so a sync driver there fails at
    connect. The password is never logged by this module.
    """
    if not database_url:
        return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE_NAME).resolve()}"
    url = make_url(database_url)
    if "+" not in url.drivername:
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        elif url.drivername == "sqlite":
            url = url.set(drivername="sqlite+aiosqlite")
    return url.render_as_string(hide_password=False)


def create_engine(async_url: str) -> AsyncEngine:
    """An engine for ``async_url`` (see :func:`normalise_url`) with the per-dialect set-up."""
    url = make_url(async_url)
    if url.get_backend_name() == "sqlite":
        # The pool's own rollback of every connection given back would be one more trip to
        # aiosqlite's thread each transaction; _on_reset below rolls back only one given back
        # inside a transaction (a block cut short), and Database.read/write end theirs.
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_reset_on_return=None,
        )
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own implicit
        # transactions cannot be IMMEDIATE and do not cover SELECT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        if not state.terminate_only and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        # On aiosqlite's connection itself: one trip to its thread, where a statement through
        # SQLAlchemy's cursor takes three (open, execute, close).
        driver = conn.connection.driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await_only(driver.execute_fetchall("BEGIN IMMEDIATE" if immediate else "BEGIN"))


def _enable_wal(cursor: Any, attempts: int = 50, pause_s: float = 0.05) -> None:
    """``PRAGMA journal_mode=WAL``, tried again while another connection holds the lock.

    Switching a new database file to WAL needs an exclusive lock, and SQLite answers "database
    is locked" at once, without waiting out ``busy_timeout``, when connections opened together
    (nodes starting side by side) contend for it; the switch is persistent, so a later try
    usually finds it done."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause_s)


class Database:
    """An engine with two kinds of transaction: :meth:`read` and :meth:`write`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for reads only (a consistent snapshot on both dialects)."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that will write: committed on leaving, rolled back on an exception.

        A database that is full or read-only raises :class:`~service.store.errors.StorageFull`
        or :class:`~service.store.errors.StorageReadOnly` (the transaction rolled back)."""
        try:
            async with self._writer.begin() as conn:
                yield conn
        except DBAPIError as exc:
            refused = storage_error(exc) or await self._probe_sqlite_folder(exc)
            if refused is None:
                raise
            raise refused from exc

    async def _probe_sqlite_folder(self, exc: BaseException) -> StorageRefused | None:
        """For SQLite's unexplained ``disk I/O error``: what the database's folder says now."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or not is_sqlite_io_error(exc):
            return None
        refused = await asyncio.to_thread(probe_folder, Path(database).parent)
        if refused is not None:
            refused.details = {**(refused.details or {}), "store": "database"}
        return refused

    async def close(self) -> None:
        await self.engine.dispose()


def insert_ignore(table: Table, dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``table`` in ``dialect``."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise ValueError(f"unsupported dialect {dialect!r}")
