"""Storage that refuses writes: a full data folder or database, a read-only one.

The store raises :class:`StorageFull` or :class:`StorageReadOnly` (both ``507``) instead of the
``OSError``, ``sqlite3`` or ``psycopg`` error underneath, so the API answers with a code an
operator can act on and the batch runner knows to stop rather than burn its items' attempts.
Both mean *nothing of that write was stored*: the database transaction rolled back, and a file
being written was removed (a file written completely before the failure stays, unreferenced;
see ``docs/storage.md``).

:func:`is_connection_lost` tells the other kind of store failure apart: the database went away
for a moment (a restart, a failover), and the same call may work a second later.

What this cannot tell: whether the condition has passed. A caller learns that only by trying
again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, TypeAlias

from service.errors import PiluError

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_PG_FULL = frozenset({"53100", "53200"})  # disk_full, out_of_memory (no room for the row)
_PG_READ_ONLY = "25006"  # read_only_sql_transaction (a standby, default_transaction_read_only)
_PG_CONNECTION_LOST = ("08", "57P")  # connection exception; admin/crash shutdown, starting up


class StorageFull(PiluError):
    """The data folder or the database has no space left; nothing was stored."""

    status = 507
    code = "storage_full"


class StorageReadOnly(PiluError):
    """The data folder or the database refuses writes (read-only); nothing was stored."""

    status = 507
    code = "storage_read_only"


StorageRefused: TypeAlias = StorageFull | StorageReadOnly
"""Either refusal (for annotations)."""
STORAGE_REFUSED = (StorageFull, StorageReadOnly)
"""Either refusal (for ``except`` and ``isinstance``). Not a common base class: every
:class:`PiluError` subclass is a code in the published error catalogue, and no request is ever
answered with a third one."""


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``orig``, ``__cause__``, ``__context__``), outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen) or len(seen) > 8:
            continue
        seen.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def _kind(exc: BaseException) -> tuple[type[StorageRefused], dict[str, Any]] | None:
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return StorageFull, {"store": "files", "errno": errno.errorcode[exc.errno]}
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return StorageReadOnly, {"store": "files", "errno": "EROFS"}
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == _SQLITE_FULL:
            return StorageFull, {"store": "database", "error": "SQLITE_FULL"}
        if code == _SQLITE_READONLY:
            return StorageReadOnly, {"store": "database", "error": "SQLITE_READONLY"}
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in _PG_FULL:
        return StorageFull, {"store": "database", "sqlstate": sqlstate}
    if sqlstate == _PG_READ_ONLY:
        return StorageReadOnly, {"store": "database", "sqlstate": sqlstate}
    return None


def storage_error(exc: BaseException) -> StorageRefused | None:
    """The :class:`StorageFull` or :class:`StorageReadOnly` that ``exc`` (or an error it wraps)
    means, else ``None``. A SQLite ``disk I/O error`` is not classified: it may be a full disk,
    a read-only one or a failing one, and guessing would hide the last."""
    if isinstance(exc, STORAGE_REFUSED):
        return exc
    for cause in _causes(exc):
        found = _kind(cause)
        if found is not None:
            cls, details = found
            message = "存储空间已满，未能保存" if cls is StorageFull else "存储为只读，未能保存"
            return cls(message, details=details)
    return None


def is_sqlite_io_error(exc: BaseException) -> bool:
    """Whether ``exc`` wraps SQLite's ``disk I/O error`` (which does not say why)."""
    return any(
        isinstance(c, sqlite3.Error)
        and ((getattr(c, "sqlite_errorcode", 0) or 0) & 0xFF) == _SQLITE_IOERR
        for c in _causes(exc)
    )


def probe_folder(folder: Path) -> StorageRefused | None:
    """Write, sync and remove a small file in ``folder``: the :class:`StorageFull` or
    :class:`StorageReadOnly` it meets, else ``None``.

    For SQLite's ``disk I/O error``, whose errno SQLite keeps to itself: a folder that refuses a
    new file *now* says why the database write failed. A folder that accepts it says nothing
    (the write failed for another reason, or the condition passed), and the caller keeps the
    original error.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
    except OSError as exc:
        return storage_error(exc)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    except OSError as exc:
        return storage_error(exc)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
    return None


def _is_psycopg_operational(exc: BaseException) -> bool:
    return any(
        c.__module__.startswith("psycopg") and c.__name__ == "OperationalError"
        for c in type(exc).__mro__
    )


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the database connection went away or could not be made (a server
    restarting, shutting down, unreachable), so the same call may work a moment later.

    Whether a write whose commit was cut off committed is not known: callers retry only calls
    that are safe twice (idempotency keys, an item's first finish only)."""
    for cause in _causes(exc):
        if getattr(cause, "connection_invalidated", False):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_PG_CONNECTION_LOST):
            return True
        if isinstance(cause, ConnectionError | TimeoutError):
            return True
        if _is_psycopg_operational(cause) and sqlstate is None:
            return True  # psycopg: a connection that failed, closed or broke has no sqlstate
    return False
