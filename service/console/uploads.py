"""A batch upload → items: NDJSON or a JSON array (:func:`service.jobs.parse.parse_batch`), or a ZIP
of ``*.json`` files, one payload each (sorted by name; folders, dot-files and ``__MACOSX``
ignored). A ZIP is read member by member with limits on each and on the whole, so a small
archive that inflates to gigabytes is refused rather than unpacked."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from service.errors import BatchInvalid, FieldError
from service.jobs.parse import MAX_ITEMS, ParsedBatch, item_from_bytes, parse_batch
from service.store.models import BatchItemInput

MAX_BATCH_UPLOAD_BYTES = 32 * 1024 * 1024
"""Largest batch file the console takes (NDJSON, JSON array or ZIP) when the settings have no
``max_batch_bytes``."""
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""Most bytes the payloads of one ZIP may unpack to, together."""


def parse_upload(
    filename: str, data: bytes, *, max_item_bytes: int, max_items: int = MAX_ITEMS
) -> ParsedBatch:
    """Items of an uploaded batch file; ``BatchInvalid`` when the file as a whole is unusable
    (no items, more than ``max_items``, a ZIP that is not one or unpacks too big)."""
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip"):
        return parse_zip(data, max_item_bytes=max_item_bytes, max_items=max_items)
    parsed = parse_batch(data, max_items=max_items)
    items = [
        _too_large(item, max_item_bytes) if len(item.raw) > max_item_bytes else item
        for item in parsed.items
    ]
    return ParsedBatch(items=items, lines=parsed.lines)


def _too_large(item: BatchItemInput, limit: int) -> BatchItemInput:
    error = FieldError("$", "limit_exceeded", f"单份报送数据超过上限（{limit // 1024} KiB）")
    return BatchItemInput(item.raw[:0], item.source, item.company_id, (error,))


def _wanted(info: zipfile.ZipInfo) -> bool:
    if info.is_dir() or not info.filename.lower().endswith(".json"):
        return False
    parts = PurePosixPath(info.filename).parts
    return not any(p.startswith(".") or p == "__MACOSX" for p in parts)


def parse_zip(data: bytes, *, max_item_bytes: int, max_items: int = MAX_ITEMS) -> ParsedBatch:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise BatchInvalid("不是有效的ZIP文件", details=[]) from exc
    members = sorted((i for i in archive.infolist() if _wanted(i)), key=lambda i: i.filename)
    if not members:
        raise BatchInvalid("ZIP中没有 .json 报送文件", details=[])
    if len(members) > max_items:
        raise BatchInvalid(
            f"批次最多{max_items}项，收到{len(members)}项", details={"max_items": max_items}
        )
    items: list[BatchItemInput] = []
    unpacked = 0
    for info in members:
        try:
            with archive.open(info) as member:
                raw = member.read(max_item_bytes + 1)
        except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError) as exc:
            error = FieldError("$", "unreadable_member", f"无法读取该文件（{type(exc).__name__}）")
            items.append(BatchItemInput(b"", info.filename, None, (error,)))
            continue
        unpacked += len(raw)
        if unpacked > MAX_UNPACKED_BYTES:
            raise BatchInvalid(
                f"ZIP解压后超过上限（{MAX_UNPACKED_BYTES // 1024 // 1024} MiB）", details=[]
            )
        if len(raw) > max_item_bytes:
            items.append(_too_large(BatchItemInput(raw, info.filename, None), max_item_bytes))
            continue
        items.append(item_from_bytes(raw.removeprefix(b"\xef\xbb\xbf"), info.filename))
    return ParsedBatch(items=items, lines=[None] * len(items))
