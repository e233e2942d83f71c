"""A batch as a ZIP: every output of its done items, named for people, plus a manifest.

Names come from each version's manifest (``pipeline.output_filename`` at render time:
``小康人寿-2023-消费者权益保护工作重大信息披露.pdf``). When two items would get the same name, the
later item (by index) gets ``-2``, ``-3`` … before the extension, the same for its PDF and DOCX.
``manifest.csv`` (UTF-8 with a byte-order mark, so Excel shows the Chinese) and
``manifest.json`` list every item (its kind among its columns), failed ones with their errors, and
the SHA-256 of each file.

The ZIP is produced as a stream (a chunk of an output in memory at a time, see
:meth:`~service.store.DocumentStore.stream_output`) and is the same bytes every time for a
finished batch: members stored (outputs are compressed already), in index order, each as
:func:`service.ziparchive.member_info` describes (dated 1980-01-01). An unfinished batch
gives the items done so far; the manifest says which are still pending.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from service.store import BatchStatus, ItemStatus, Store, StoredDocument
from service.ziparchive import member_info

FORMAT_ORDER = ("pdf", "docx")
CSV_COLUMNS = (
    "index", "source", "state", "company_id", "report_year", "kind", "document_id", "version",
    "pdf_file", "pdf_sha256", "docx_file", "docx_sha256", "payload_sha256",
    "template_version", "house_style", "house_style_version", "errors",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One item, its document (``None`` unless done) and the file names it gets (format → name)."""

    item: ItemStatus
    document: StoredDocument | None
    names: dict[str, str] = field(default_factory=dict)


async def archive_entries(
    store: Store, batch_id: str, *, allowed_companies: Collection[str] | None = None
) -> tuple[BatchStatus, list[ArchiveEntry]]:
    """The batch (``NotFound`` as :meth:`BatchStore.get`) and one entry per item, named."""
    status = await store.batches.get(batch_id, allowed_companies=allowed_companies)
    items = await store.batches.items(batch_id, allowed_companies=allowed_companies)
    found = await store.documents.get_many(
        [
            (item.document_id, item.version)
            for item in items
            if item.state == "done" and item.document_id is not None and item.version is not None
        ]
    )
    entries: list[ArchiveEntry] = []
    for item in items:
        document = None
        if item.state == "done" and item.document_id is not None:
            document = found.get((item.document_id, item.version or 0)) or (
                await store.documents.get(item.document_id, version=item.version)
            )  # not among them (no version recorded, or gone): looked up alone, as before
        entries.append(ArchiveEntry(item, document))
    return status, assign_names(entries)


def assign_names(entries: list[ArchiveEntry]) -> list[ArchiveEntry]:
    """Give each done entry unique names (see the module docstring); others get none."""
    used: set[str] = set()
    named: list[ArchiveEntry] = []
    for entry in entries:
        if entry.document is None:
            named.append(entry)
            continue
        outputs = entry.document.version.manifest.outputs
        stems = {fmt: info.filename.rsplit(".", 1) for fmt, info in outputs.items()}
        base = next(iter(stems.values()))[0] if stems else entry.item.source
        stem, n = base, 1
        while any(f"{stem}.{parts[-1]}".casefold() in used for parts in stems.values()):
            n += 1
            stem = f"{base}-{n}"
        names = {fmt: f"{stem}.{parts[-1]}" for fmt, parts in stems.items()}
        used.update(name.casefold() for name in names.values())
        named.append(ArchiveEntry(entry.item, entry.document, names))
    return named


def manifest_rows(entries: list[ArchiveEntry]) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        item, doc = entry.item, entry.document
        manifest = doc.version.manifest if doc else None
        row: dict[str, Any] = {
            "index": item.index,
            "source": item.source,
            "state": item.state,
            "company_id": item.company_id,
            "report_year": doc.report_year if doc else None,
            "kind": doc.kind if doc else None,
            "document_id": item.document_id,
            "version": item.version,
            "payload_sha256": item.payload_sha256,
            "template_version": manifest.template_version if manifest else None,
            "house_style": manifest.house_style if manifest else None,
            "house_style_version": manifest.house_style_version if manifest else None,
            "files": {
                fmt: {"name": entry.names[fmt], "sha256": info.sha256, "size": info.size}
                for fmt, info in (manifest.outputs.items() if manifest else ())
            },
            "errors": [e.as_dict() for e in item.errors],
        }
        rows.append(row)
    return rows


def manifest_json(status: BatchStatus, rows: list[dict[str, Any]]) -> bytes:
    data = {"batch": status.as_dict(), "items": rows}
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def manifest_csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        flat = {k: row.get(k) for k in CSV_COLUMNS if k in row}
        for fmt in FORMAT_ORDER:
            file = row["files"].get(fmt)
            flat[f"{fmt}_file"] = file["name"] if file else None
            flat[f"{fmt}_sha256"] = file["sha256"] if file else None
        flat["errors"] = "; ".join(
            f"{e['path']} {e['code']}: {e['message']}" for e in row["errors"]
        )
        writer.writerow(flat)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


async def open_archive(
    store: Store, batch_id: str, *, allowed_companies: Collection[str] | None = None
) -> AsyncGenerator[bytes, None]:
    """The ZIP of ``batch_id`` as chunks for a streaming response.

    Awaiting this looks the batch up first, so ``NotFound`` (absent or not visible) is raised
    here, before a response has started; iterating then only reads stored bytes (a
    ``StorageCorrupt`` midway can only cut the stream short).
    """
    status, entries = await archive_entries(store, batch_id, allowed_companies=allowed_companies)
    return _stream(store, status, entries)


async def iter_archive(
    store: Store, batch_id: str, *, allowed_companies: Collection[str] | None = None
) -> AsyncIterator[bytes]:
    """:func:`open_archive` as one async generator (``NotFound`` at the first chunk)."""
    async for chunk in await open_archive(store, batch_id, allowed_companies=allowed_companies):
        yield chunk


def archive_filename(batch_id: str) -> str:
    return f"批量披露-{batch_id}.zip"


async def _stream(
    store: Store, status: BatchStatus, entries: list[ArchiveEntry]
) -> AsyncGenerator[bytes, None]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            if entry.document is None:
                continue
            for fmt in FORMAT_ORDER:
                if fmt not in entry.names:
                    continue
                info = entry.document.version.manifest.outputs[fmt]
                member = member_info(entry.names[fmt])
                member.file_size = info.size  # as writestr sets it: the same header bytes
                with archive.open(member, "w") as target:
                    async for chunk in store.documents.stream_output(info):
                        target.write(chunk)
                        yield sink.take()
                yield sink.take()
        rows = manifest_rows(entries)
        archive.writestr(member_info("manifest.csv"), manifest_csv(rows))
        archive.writestr(member_info("manifest.json"), manifest_json(status, rows))
    yield sink.take()


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream: ``zipfile`` then writes data descriptors and never seeks."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
