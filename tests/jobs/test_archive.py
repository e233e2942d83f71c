"""Batch archives: names, duplicates, manifests, and hashes that match the store."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from service.errors import NotFound
from service.jobs.archive import (
    _Sink,
    archive_entries,
    iter_archive,
    manifest_csv,
    manifest_json,
    manifest_rows,
    open_archive,
)
from service.jobs.parse import item_from_bytes
from service.jobs.render import RenderOutcome
from service.jobs.runner import run_worker
from service.store import Store
from service.store.models import sha256_hex
from service.store.schema import output_layouts
from service.ziparchive import member_info
from tests.store.fakes import FakeRender, payload
from tests.store.test_layouts import BIG, docx, rendered_with_docx

STEM = "消费者权益保护工作重大信息披露"


async def finished_batch(store: Store) -> str:
    raws = [
        payload("xiaokang-life", 2023, 0),
        payload("xiaokang-life", 2022, 1),
        payload("xiaokang-life", 2023, 2),  # same name as the first
        payload("xiaokang-life", 2023, 3, fail=True),
        payload("anhe-life", 2023, 4),
        payload("xiaokang-life", 2023, 5),  # and again
    ]
    batch = (
        await store.batches.create(
            [item_from_bytes(r, f"line {i + 1}") for i, r in enumerate(raws)]
        )
    ).batch
    await run_worker(
        store, FakeRender(), 3, 5, batch_id=batch.id, stop_when_finished=True, poll_interval_s=0.02
    )
    return batch.id


async def read_zip(store: Store, batch_id: str) -> zipfile.ZipFile:
    chunks = [chunk async for chunk in iter_archive(store, batch_id)]
    assert len(chunks) > 1, "streamed, not built whole"
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


async def test_archive_names_and_hashes(store: Store) -> None:
    batch_id = await finished_batch(store)
    archive = await read_zip(store, batch_id)
    assert archive.testzip() is None
    assert archive.namelist() == [
        f"小康人寿-2023-{STEM}.pdf", f"小康人寿-2023-{STEM}.docx",
        f"小康人寿-2022-{STEM}.pdf", f"小康人寿-2022-{STEM}.docx",
        f"小康人寿-2023-{STEM}-2.pdf", f"小康人寿-2023-{STEM}-2.docx",
        f"安和人寿-2023-{STEM}.pdf", f"安和人寿-2023-{STEM}.docx",
        f"小康人寿-2023-{STEM}-3.pdf", f"小康人寿-2023-{STEM}-3.docx",
        "manifest.csv", "manifest.json",
    ]  # fmt: skip
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["batch"]["state"] == "finished"
    assert [row["state"] for row in manifest["items"]] == [
        "done",
        "done",
        "done",
        "failed",
        "done",
        "done",
    ]
    assert manifest["items"][3]["errors"][0]["code"] == "breakdown_sum_mismatch"
    for row in manifest["items"]:
        for file in row["files"].values():
            assert sha256_hex(archive.read(file["name"])) == file["sha256"]
    assert await store.batches.get(batch_id)  # unchanged by reading


async def test_manifest_csv_opens_in_excel(store: Store) -> None:
    batch_id = await finished_batch(store)
    raw = (await read_zip(store, batch_id)).read("manifest.csv")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["state"] for r in rows] == ["done", "done", "done", "failed", "done", "done"]
    assert rows[2]["pdf_file"] == f"小康人寿-2023-{STEM}-2.pdf"
    assert rows[2]["kind"] == "consumer-protection-annual"
    assert rows[3]["pdf_file"] == "" and "breakdown_sum_mismatch" in rows[3]["errors"]


async def test_archive_is_reproducible(store: Store) -> None:
    batch_id = await finished_batch(store)
    first = b"".join([c async for c in iter_archive(store, batch_id)])
    second = b"".join([c async for c in iter_archive(store, batch_id)])
    assert first == second


async def test_archive_of_hidden_batch_fails_before_streaming(store: Store) -> None:
    batch_id = await finished_batch(store)
    with pytest.raises(NotFound):
        await open_archive(store, batch_id, allowed_companies={"xiaokang-life"})  # anhe-life too
    stream = await open_archive(store, batch_id, allowed_companies={"xiaokang-life", "anhe-life"})
    assert zipfile.ZipFile(io.BytesIO(b"".join([c async for c in stream]))).testzip() is None


class PartedRender(FakeRender):
    """FakeRender whose DOCX is a real ZIP sharing a large member, so the store keeps it in
    parts (tests/store/test_layouts.py)."""

    async def __call__(self, raw: bytes) -> RenderOutcome:
        outcome = await super().__call__(raw)
        if outcome.rendered is None:
            return outcome
        return RenderOutcome(rendered_with_docx(raw, docx(sha256_hex(raw), font=BIG)))


async def test_archive_of_parted_outputs_is_the_zip_of_whole_outputs(store: Store) -> None:
    """Streamed from residues and parts chunk by chunk, the archive is byte for byte the ZIP
    that writing each whole output as one member gives (as archives were written before)."""
    raws = [payload("xiaokang-life", 2023, n) for n in range(3)]
    batch = (
        await store.batches.create(
            [item_from_bytes(r, f"line {i + 1}") for i, r in enumerate(raws)]
        )
    ).batch
    await run_worker(
        store, PartedRender(), 2, 5, batch_id=batch.id, stop_when_finished=True,
        poll_interval_s=0.02,
    )  # fmt: skip
    async with store.db.read() as conn:
        parted = (await conn.execute(select(func.count()).select_from(output_layouts))).scalar()
    assert parted == 3  # every DOCX is stored in parts
    streamed = b"".join([c async for c in iter_archive(store, batch.id)])
    status, entries = await archive_entries(store, batch.id)
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as whole:
        for entry in entries:
            assert entry.document is not None
            for fmt in ("pdf", "docx"):
                data, _ = await store.documents.read_output(entry.document.id, fmt)
                whole.writestr(member_info(entry.names[fmt]), data)
        rows = manifest_rows(entries)
        whole.writestr(member_info("manifest.csv"), manifest_csv(rows))
        whole.writestr(member_info("manifest.json"), manifest_json(status, rows))
    assert streamed == sink.take()
    docx_names = [n for n in zipfile.ZipFile(io.BytesIO(streamed)).namelist() if n.endswith("x")]
    assert len(docx_names) == 3
