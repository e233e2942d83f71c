"""Health, readiness, metrics, request ids, access logs, and the published descriptions."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from fontTools.ttLib import TTFont
from openapi_spec_validator import validate as validate_openapi

from service.api.docs_font import FAMILY
from service.api.logs import JsonFormatter
from service.api.middleware import PUBLIC_ROUTES
from service.api.openapi import error_catalogue
from service.errors import PiluError
from tests.api import fakes
from tests.api.conftest import AUTH, KEY_XIAOKANG, ClientFactory
from tests.store.backends import create_database, drop_database, postgres_server  # noqa: F401


async def test_healthz(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_when_ready_and_when_draining(client: TestClient[Any, Any]) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready" and body["workers"]["accepting"] is True
    await client.app.shutdown()  # the first step of a graceful stop: the pool drains
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "not_ready"
    response = await client.post("/v1/render", data=fakes.payload_bytes(), headers=AUTH)
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "shutting_down"
    assert response.headers["Retry-After"]


async def test_public_routes_need_no_key_and_the_rest_do(client: TestClient[Any, Any]) -> None:
    for resource in client.app.router.resources():
        if (resource.name or "").startswith("console."):
            continue  # the console signs in with a session cookie: tests/console covers its access
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        path = re.sub(r"\{[^}]+\}", "x", path)  # a value for each variable: /v1/documents/x
        for route in resource:
            if route.method == "HEAD":
                continue
            response = await client.request(route.method, path)
            if resource.name in PUBLIC_ROUTES:
                assert response.status == 200, path
            else:
                assert response.status == 401, path


async def test_metrics_count_requests_renders_and_workers(client: TestClient[Any, Any]) -> None:
    await client.post("/v1/render?format=docx", data=fakes.payload_bytes(), headers=AUTH)
    await client.post("/v1/render", data=b"{", headers=AUTH)
    await client.get("/no/such/page")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    assert 'pilu_http_requests_total{method="POST",route="/v1/render",status="200"} 1.0' in text
    assert 'pilu_http_requests_total{method="POST",route="/v1/render",status="400"} 1.0' in text
    assert 'pilu_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'pilu_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text
    assert 'pilu_render_duration_seconds_count{format="docx"} 1.0' in text
    assert 'pilu_renders_total{format="docx",outcome="ok"} 1.0' in text
    for name in (
        "pilu_render_queue_depth",
        "pilu_workers_busy",
        "pilu_workers_warm",
        "pilu_workers_lane_lent",
    ):
        assert re.search(rf"^{name} \d", text, re.MULTILINE), name
    assert 'pilu_worker_restarts_total{reason="timeout"} 0.0' in text
    assert "_created" not in text
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert re.search(rf"^{name} [0-9.e+]+$", text, re.MULTILINE), name
    assert 'pilu_webhook_deliveries_total{outcome="failed"} 0.0' in text
    assert "pilu_batch_item_takeovers_total 0.0" in text
    assert "pilu_batch_item_retries_total 0.0" in text


async def test_metrics_count_batch_items_by_state(client: TestClient[Any, Any]) -> None:
    lines = b"\n".join(fakes.payload_bytes() for _ in range(3))
    headers = {**AUTH, "Content-Type": "application/x-ndjson"}
    assert (await client.post("/v1/batches", data=lines, headers=headers)).status == 202
    text = await (await client.get("/metrics")).text()
    counts = {
        state: float(n)
        for state, n in re.findall(r'^pilu_batch_items\{state="(\w+)"\} (\S+)$', text, re.M)
    }
    assert set(counts) == {"pending", "running", "done", "failed"}
    assert sum(counts.values()) == 3, counts


@pytest.mark.usefixtures("postgres_server")
async def test_metrics_count_jobs_by_queue_and_state(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """SQLite: the local queue's items; PostgreSQL: the engine's jobs, every one succeeded once
    the batch is finished."""
    lines = b"\n".join(fakes.payload_bytes() for _ in range(3))
    headers = {**AUTH, "Content-Type": "application/x-ndjson"}
    url = await create_database()
    try:
        for database_url, queue in ((None, "local"), (url, "batch_items")):
            client = await make_client(data_dir=tmp_path / queue, database_url=database_url)
            created = await client.post("/v1/batches", data=lines, headers=headers)
            assert created.status == 202
            batch = f"/v1/batches/{(await created.json())['id']}"
            for _ in range(500):
                if (await (await client.get(batch, headers=AUTH)).json())["state"] == "finished":
                    break
                await asyncio.sleep(0.02)
            text = await (await client.get("/metrics")).text()
            jobs = {
                (q, state): float(n)
                for q, state, n in re.findall(
                    r'^pilu_jobs\{queue="(\w+)",state="(\w+)"\} (\S+)$', text, re.M
                )
            }
            done = "done" if queue == "local" else "succeeded"
            assert jobs == {(queue, done): 3.0}, jobs
            assert "pilu_stalled_jobs_put_back_total 0.0" in text
            await client.close()
    finally:
        await drop_database(url)


async def test_two_apps_keep_separate_metrics(make_client: ClientFactory) -> None:
    first, second = await make_client(), await make_client()
    await first.get("/healthz")
    text = await (await second.get("/metrics")).text()
    assert 'route="/healthz"' not in text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("0f8e4d3c-2b1a-4c5d-9e8f-7a6b5c4d3e2f", True),
        ("trace:span.1_x", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ("<script>", False),
        ("", False),
    ],
)
async def test_request_id_kept_or_replaced(
    client: TestClient[Any, Any], sent: str, kept: bool
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": sent})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent and re.fullmatch(r"[0-9a-f]{32}", returned)


async def test_request_id_on_errors_too(client: TestClient[Any, Any]) -> None:
    response = await client.get("/missing", headers={"X-Request-ID": "req-42"})
    assert response.status == 404
    assert response.headers["X-Request-ID"] == "req-42"


async def test_one_json_log_line_per_request_without_secrets(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    secret_title = "机密标题-不应出现在日志"
    with caplog.at_level(logging.INFO, logger="pilu.access"):
        await client.post(
            "/v1/render?format=pdf",
            data=fakes.payload_bytes(title=secret_title),
            headers={**AUTH, "X-Request-ID": "log-test-1"},
        )
        await client.post("/v1/render", data=b"{", headers={"X-API-Key": KEY_XIAOKANG})
    records = [r for r in caplog.records if r.name == "pilu.access"]
    assert len(records) == 2
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    assert lines[0]["request_id"] == "log-test-1"
    assert {k: lines[0][k] for k in ("method", "route", "status")} == {
        "method": "POST",
        "route": "/v1/render",
        "status": 200,
    }
    assert lines[0]["duration_ms"] >= 0
    assert lines[1]["status"] == 400 and lines[1]["error_code"] == "malformed_json"
    everything = caplog.text + "".join(JsonFormatter().format(r) for r in caplog.records)
    assert KEY_XIAOKANG not in everything
    assert secret_title not in everything


async def test_schema_is_the_payload_schema(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/schema")
    assert response.status == 200
    assert response.content_type == "application/schema+json"
    assert await response.json() == fakes.payload_schema()


async def test_openapi_is_valid_and_describes_every_route(client: TestClient[Any, Any]) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    spec = await response.json()
    validate_openapi(spec)
    assert spec["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    served = {
        (resource.canonical, route.method)
        for resource in client.app.router.resources()
        for route in resource
        if route.method != "HEAD" and not (resource.name or "").startswith("console.")
    }
    assert described == served, "the console's HTML pages are not part of the API description"
    for path, item in spec["paths"].items():
        for op in item.values():
            public = op.get("security") == []
            assert public == (client.app.router[op["operationId"]].name in PUBLIC_ROUTES), path


async def test_openapi_embeds_the_payload_schema_with_working_refs(
    client: TestClient[Any, Any],
) -> None:
    spec = await (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "FakeCompany" in schemas  # lifted from $defs
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(spec))
    assert refs and not [r for r in refs if r.startswith("#/$defs/")]
    for ref in refs:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


async def test_docs_page_is_self_contained(client: TestClient[Any, Any]) -> None:
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for text in ("/v1/render", "/v1/validate", "payload_invalid", "render_timeout", "X-API-Key"):
        assert text in html


def test_every_error_is_described_in_words() -> None:
    names, stack = set(), list(PiluError.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        names.add(cls.__name__)
    for _status, code, meaning in error_catalogue():
        assert meaning not in names and " " in meaning and meaning.endswith((".", ")")), code


async def test_docs_page_carries_a_font_for_its_chinese(client: TestClient[Any, Any]) -> None:
    html = await (await client.get("/docs")).text()
    (data,) = re.findall(r"src:url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", html)
    assert f'"{FAMILY}"' in html.split("</style>")[0].split("body{")[1]
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    covered = set(font.getBestCmap())
    text = unescape(re.sub(r"<[^>]+>", "", html.split("</style>")[1]))
    chinese = {c for c in text if ord(c) > 0x7F}
    assert "披" in chinese and "露" in chinese
    assert {c for c in chinese if ord(c) not in covered} == set()
    assert len(data) < 200_000


async def test_api_doc_covers_every_path(client: TestClient[Any, Any]) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    spec = await (await client.get("/openapi.json")).json()
    missing = [path for path in spec["paths"] if f"`{path}" not in doc and f" {path}" not in doc]
    assert not missing, f"docs/api.md does not mention {missing}"
