"""Batches through the console with the fake backend: upload (NDJSON, ZIP), follow, archive."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from service.api.state import POOL, SETTINGS
from service.console.uploads import parse_upload
from service.errors import BatchInvalid
from service.jobs.render import pool_render
from service.jobs.runner import run_worker
from tests.api import fakes
from tests.console.conftest import KEY_XIAOKANG, sign_in, store_of


def line(**changes: Any) -> str:
    obj: dict[str, Any] = {
        "company": {"id": "xiaokang-life", "short_name": "小康人寿"},
        "report_year": 2023,
        "title": "披露",
    }
    obj.update(changes)
    return json.dumps(obj, ensure_ascii=False)


async def upload(client: TestClient[Any, Any], csrf: str, data: bytes, name: str) -> Any:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("nonce", "upload-nonce-1")
    form.add_field("file", data, filename=name)
    return await client.post("/console/batches", data=form, allow_redirects=False)


async def finish(client: TestClient[Any, Any], batch_id: str) -> None:
    """Run the batch to its end: the service's own runner if it has one, else one here."""
    store = store_of(client)
    if not any(t.get_name() == "pilu-batch-runner" for t in asyncio.all_tasks()):
        app = client.app
        await run_worker(
            store,
            pool_render(app[POOL], app[SETTINGS].render_timeout_s, fakes.render_item),
            batch_id=batch_id,
            stop_when_finished=True,
            webhooks=False,
            poll_interval_s=0.05,
        )
    for _ in range(200):
        if (await store.batches.get(batch_id)).state == "finished":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("batch did not finish")


async def test_ndjson_batch_from_upload_to_archive(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    data = "\n".join([line(), line(report_year=1999), line(report_year=2022)]).encode()
    response = await upload(client, csrf, data, "three.ndjson")
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    batch_id = location.rsplit("/", 1)[1]
    page = await (await client.get(location)).text()
    assert 'data-batch-events="/console/batches/' in page
    assert "第1行" in page and "第3行" in page
    # The same upload form sent again makes no second batch.
    again = await upload(client, csrf, data, "three.ndjson")
    assert again.headers["Location"] == location

    await finish(client, batch_id)
    page = await (await client.get(location)).text()
    assert "失败的项目（1项）" in page
    failed = page.split('id="item-1"', 1)[1].split("</article>", 1)[0]
    assert "报告年度" in failed and "$.report_year" in failed
    assert "data-batch-events" not in page  # finished: nothing to follow
    assert page.count("查看文档") == 2

    events = await client.get(f"{location}/events")
    assert events.headers["Content-Type"].startswith("text/event-stream")
    stream = await events.text()
    assert "event: status" in stream and "event: finished" in stream
    finished = re.search(r"event: finished\ndata: (.*)\n", stream)
    assert finished is not None, stream
    status = json.loads(finished.group(1))
    assert (status["done"], status["failed"], status["state_name"]) == (2, 1, "已结束")

    archive = await client.get(f"{location}/archive")
    assert archive.status == 200
    assert "filename*=UTF-8''" in archive.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(await archive.read())).namelist()
    assert "manifest.json" in names and "小康人寿-2023-披露.pdf" in names

    listing = await (await client.get("/console/batches")).text()
    assert batch_id in listing and "已结束" in listing


async def test_zip_of_payloads(client: TestClient[Any, Any]) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("b/2022.json", line(report_year=2022))
        archive.writestr("a.json", "\ufeff" + line())
        archive.writestr("__MACOSX/._a.json", "junk")
        archive.writestr(".hidden.json", "junk")
        archive.writestr("readme.txt", "not a payload")
    response = await upload(client, csrf, buffer.getvalue(), "payloads.zip")
    assert response.status == 303
    batch_id = response.headers["Location"].rsplit("/", 1)[1]
    items = await store_of(client).batches.items(batch_id)
    assert [i.source for i in items] == ["a.json", "b/2022.json"]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"PK\x03\x04 broken", "x.zip", "不是有效的ZIP文件"),
        (b"", "empty.ndjson", "请选择一个批量文件"),
        (b"\n\n", "blank.ndjson", "批次中没有任何报送数据"),
        (b'{"company": {"id": "xiaokang-life"}}\nnot json\n', "b.ndjson", "第2行"),
    ],
)
async def test_unusable_uploads(
    client: TestClient[Any, Any], data: bytes, name: str, message: str
) -> None:
    csrf = await sign_in(client, KEY_XIAOKANG)
    response = await upload(client, csrf, data, name)
    assert response.status == 422
    assert message in await response.text()
    assert (await store_of(client).batches.list()).items == []


def test_zip_limits() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", '{"company": {"id": "x"}, "pad": "' + " " * 5000 + '"}')
        archive.writestr("ok.json", line())
    parsed = parse_upload("p.zip", buffer.getvalue(), max_item_bytes=1000)
    big, ok = parsed.items
    assert big.errors[0].code == "limit_exceeded" and not ok.errors
    with pytest.raises(BatchInvalid, match="没有 .json"):
        empty = io.BytesIO()
        with zipfile.ZipFile(empty, "w") as archive:
            archive.writestr("notes.txt", "x")
        parse_upload("p.zip", empty.getvalue(), max_item_bytes=1000)


async def test_uploads_may_be_larger_than_an_api_body(client: TestClient[Any, Any]) -> None:
    """A batch file is limited by ``max_batch_bytes``, not by the API's ``max_body_bytes``."""
    csrf = await sign_in(client, KEY_XIAOKANG)
    pad = "说" * 300_000  # about 0.9 MB a payload, three of them: over the 2 MiB body limit
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(3):
            archive.writestr(f"{n}.json", line(title=pad))
    assert len(buffer.getvalue()) > client.app[SETTINGS].max_body_bytes
    response = await upload(client, csrf, buffer.getvalue(), "big.zip")
    assert response.status == 303, await response.text()
