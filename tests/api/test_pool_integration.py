"""The API against real worker processes (spawned, with the fake backend's functions)."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api import fakes
from tests.api.conftest import AUTH, ClientFactory


async def wait_until_warm(client: TestClient[Any, Any], warm: int, limit_s: float = 10) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        response = await client.get("/readyz")
        if response.status == 200 and (await response.json())["workers"]["warm"] == warm:
            return
        assert time.monotonic() < deadline, "workers did not come back"
        await asyncio.sleep(0.05)


async def render(client: TestClient[Any, Any], **extra: Any) -> Any:
    return await client.post("/v1/render", data=fakes.payload_bytes(**extra), headers=AUTH)


async def test_render_and_validate_in_workers(make_client: ClientFactory) -> None:
    client = await make_client(workers=1)
    response = await render(client, title="报告")
    assert response.status == 200
    kind, title, pid = (await response.read()).decode().split("|")
    assert (kind, title) == ("pdf", "报告")
    assert int(pid) != __import__("os").getpid()
    bad = json.dumps(fakes.payload(report_year=1, title="")).encode()
    response = await client.post("/v1/validate", data=bad, headers=AUTH)
    assert response.status == 422
    paths = [d["path"] for d in (await response.json())["error"]["details"]]
    assert sorted(paths) == ["$.report_year", "$.title"]


async def test_timeout_kills_the_worker_and_the_service_recovers(
    make_client: ClientFactory,
) -> None:
    client = await make_client(workers=1, render_timeout_s=0.5)
    started = time.monotonic()
    response = await render(client, sleep_s=30)
    elapsed = time.monotonic() - started
    assert response.status == 504
    error = (await response.json())["error"]
    assert error["code"] == "render_timeout" and error["details"] == {"timeout_s": 0.5}
    assert elapsed < 2
    await wait_until_warm(client, 1)
    assert (await render(client)).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'pilu_worker_restarts_total{reason="timeout"} 1.0' in metrics
    assert 'pilu_renders_total{format="pdf",outcome="render_timeout"} 1.0' in metrics


async def test_a_crashed_worker_gives_500_and_is_replaced(make_client: ClientFactory) -> None:
    client = await make_client(workers=1)
    response = await render(client, crash=True)
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "worker_crashed"
    await wait_until_warm(client, 1)
    assert (await render(client)).status == 200


async def test_unexpected_error_in_a_worker_is_a_plain_500(make_client: ClientFactory) -> None:
    client = await make_client(workers=1)
    response = await render(client, explode=True)
    assert response.status == 500
    text = await response.text()
    assert json.loads(text)["error"]["code"] == "internal_error"
    assert fakes.SECRET_IN_TRACEBACK not in text


async def test_queue_full_answers_503_with_retry_after(make_client: ClientFactory) -> None:
    client = await make_client(workers=1, queue_limit=1, retry_after_s=3)
    first = asyncio.create_task(render(client, sleep_s=0.8, title="一"))
    second = asyncio.create_task(render(client, sleep_s=0.1, title="二"))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    response = await render(client, title="三")
    assert time.monotonic() - started < 0.2  # refused at once, body unread
    assert response.status == 503
    assert response.headers["Retry-After"] == "3"
    assert (await response.json())["error"]["code"] == "overloaded"
    assert [(await t).status for t in (first, second)] == [200, 200]
    assert (await render(client)).status == 200  # capacity is back


async def test_a_burst_is_answered_correctly(make_client: ClientFactory) -> None:
    client = await make_client(workers=2, queue_limit=40)
    titles = [f"报告{i:02d}" for i in range(40)]
    fmts = ["pdf", "docx", "zip"]

    async def one(i: int, title: str) -> tuple[int, bytes, str]:
        fmt = fmts[i % 3]
        response = await client.post(
            f"/v1/render?format={fmt}",
            data=fakes.payload_bytes(title=title, sleep_s=0.01),
            headers={**AUTH, "X-Request-ID": f"burst-{i}"},
        )
        assert response.headers["X-Request-ID"] == f"burst-{i}"
        return response.status, await response.read(), fmt

    results = await asyncio.gather(*(one(i, t) for i, t in enumerate(titles)))
    pids = set()
    for title, (status, body, fmt) in zip(titles, results, strict=False):
        assert status == 200
        if fmt == "zip":  # both documents, each rendered by a worker
            archive = zipfile.ZipFile(io.BytesIO(body))
            documents = {name.rsplit(".", 1)[1]: archive.read(name) for name in archive.namelist()}
        else:
            documents = {fmt: body}
        assert set(documents) == ({"pdf", "docx"} if fmt == "zip" else {fmt})
        for member_fmt, document in documents.items():
            assert document.decode().split("|")[:2] == [member_fmt, title]
            pids.add(document.decode().split("|")[2])
    assert len(pids) == 2  # both workers took part


async def test_healthz_stays_fast_while_every_worker_is_busy(make_client: ClientFactory) -> None:
    client = await make_client(workers=2, queue_limit=4)
    busy = [asyncio.create_task(render(client, sleep_s=1.0)) for _ in range(4)]
    await asyncio.sleep(0.2)
    ready = await (await client.get("/readyz")).json()
    assert ready["workers"]["busy"] == 2 and ready["workers"]["queued"] == 2
    latencies = []
    for _ in range(30):
        started = time.perf_counter()
        response = await client.get("/healthz")
        latencies.append(time.perf_counter() - started)
        assert response.status == 200
    assert max(latencies) < 0.05, latencies
    assert all(r.status == 200 for r in await asyncio.gather(*busy))
