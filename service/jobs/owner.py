"""One owner per data folder: an exclusive ``flock`` that the kernel releases when its process
dies, however it dies (``kill -9`` included).

On embedded SQLite only one process may run a folder's batches (``pilu serve`` in the folder it
serves, ``pilu batch`` in ``DIR/.pilu``). Whoever holds the lock knows that no one else works on
those items, so what was left ``running`` belongs to a process that is gone and is taken up at
once (:meth:`~service.store.BatchStore.reset_running`); nothing waits. A
second process on the same folder waits for the lock (``pilu serve``) or refuses to start
(``pilu batch``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Locked(Exception):
    """Another process holds the lock."""


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on ``path`` (created if missing) for the ``with`` block; raises
    :class:`Locked` at once if another open file holds it (another process, or another
    ``open`` in this one)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Locked() from None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
