"""Atomic file writes: a reader sees the old file, the whole new file, or nothing; never a part.

The bytes go to a temporary file in the same directory (same file system, so the rename is
atomic), which is fsynced, renamed over the target, and then the directory is fsynced so the
rename itself survives a power cut. A crash leaves at most a ``.tmp-*`` file behind, which no
reader opens and :func:`sweep_temp_files` removes later.

What this cannot do: make two files appear together (each is atomic on its own), or protect
against a disk that lies about fsync.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """``mkdir -p`` that also fsyncs each parent whose entry it created."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically and durably (see the module docstring)."""
    with atomic_writer(path, mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int = 0o644, *, sync_dir: bool = True) -> Iterator[BinaryIO]:
    """A file to write in pieces that appears at ``path`` whole when the block ends, atomically
    and durably; an exception in the block leaves ``path`` as it was and no temporary file.

    ``sync_dir=False`` leaves the fsync of the directory (which makes the rename durable) to
    the caller, who writes several files into it and then syncs it once for all of them."""
    ensure_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def sweep_temp_files(root: Path, older_than_s: float = 3600.0) -> int:
    """Remove ``.tmp-*`` files under ``root`` older than ``older_than_s`` (left by a crash).

    The age guard keeps it from removing a file another process is writing right now.
    Returns how many were removed.
    """
    if not root.exists():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for tmp in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
