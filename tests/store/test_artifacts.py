"""Artifacts: atomic files, content addressing, damage detected on read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from service.errors import StorageCorrupt
from service.store import FileArtifacts, Store
from service.store.files import sweep_temp_files, write_atomic
from service.store.models import sha256_hex
from service.store.schema import artifacts
from tests.store.fakes import payload, rendered_for


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "文件.pdf"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["文件.pdf"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_crash_before_rename_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.pdf"
    write_atomic(target, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(target, b"new and longer")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]


def test_sweep_removes_only_old_temp_files(tmp_path: Path) -> None:
    old, fresh = tmp_path / ".tmp-old", tmp_path / ".tmp-fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sweep_temp_files(tmp_path) == 1
    assert not old.exists() and fresh.exists()


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
async def test_damaged_file_is_reported(tmp_path: Path, damage: str) -> None:
    store = FileArtifacts(tmp_path / "artifacts")
    data = b"%PDF-1.7 " + bytes(range(256)) * 10
    sha = sha256_hex(data)
    await store.prepare({sha: data})
    assert await store.get(sha) == data
    path = store.path_of(sha)
    if damage == "flip":
        path.write_bytes(b"X" + data[1:])
    elif damage == "truncate":
        path.write_bytes(data[:100])
    else:
        path.unlink()
    with pytest.raises(StorageCorrupt):
        await store.get(sha)


async def test_identical_outputs_are_stored_once(store: Store) -> None:
    raw = payload()
    await store.documents.create(raw, rendered_for(raw))
    await store.documents.create(raw, rendered_for(raw))
    docs = (await store.documents.list()).items
    assert len(docs) == 2
    first, second = [await store.documents.get(d.id) for d in docs]
    assert first.version.manifest.outputs == second.version.manifest.outputs
    if isinstance(store.artifacts, FileArtifacts):
        files = [p for p in store.artifacts.root.rglob("*") if p.is_file()]
        assert len(files) == 3  # payload, pdf, docx
        assert all(sha256_hex(p.read_bytes()) == p.name for p in files)


async def test_damaged_row_is_reported(pg_url: str, tmp_path: Path) -> None:
    from service.store import open_store

    async with await open_store(pg_url, tmp_path) as store:
        raw = payload()
        doc = (await store.documents.create(raw, rendered_for(raw))).document
        sha = doc.version.manifest.outputs["pdf"].sha256
        async with store.db.write() as conn:
            await conn.execute(
                update(artifacts).where(artifacts.c.sha256 == sha).values(data=b"rot")
            )
        with pytest.raises(StorageCorrupt):
            await store.documents.read_output(doc.id, "pdf")
