"""Every failure answers {"error": {"code", "message", "details"}} with the right status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api import fakes
from tests.api.conftest import AUTH, KEY_OTHER, KEY_XIAOKANG, ClientFactory

PAYLOAD = fakes.payload_bytes()


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    assert response.headers["X-Request-ID"]
    body = await response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "headers", "data", "status", "code"),
    [
        ("POST", "/v1/render", {}, PAYLOAD, 401, "unauthorized"),
        ("POST", "/v1/validate", {}, PAYLOAD, 401, "unauthorized"),
        ("POST", "/v1/render", {"Authorization": "Bearer nope"}, PAYLOAD, 401, "unauthorized"),
        (
            "POST",
            "/v1/render",
            {"Authorization": f"Basic {KEY_XIAOKANG}"},
            PAYLOAD,
            401,
            "unauthorized",
        ),
        ("POST", "/v1/render", {"X-API-Key": "nope"}, PAYLOAD, 401, "unauthorized"),
        ("POST", "/v1/render", {"X-API-Key": KEY_OTHER}, PAYLOAD, 403, "forbidden"),
        ("POST", "/v1/validate", {"X-API-Key": KEY_OTHER}, PAYLOAD, 403, "forbidden"),
        ("POST", "/v1/render?format=odt", AUTH, PAYLOAD, 406, "not_acceptable"),
        ("POST", "/v1/render", {**AUTH, "Accept": "text/html"}, PAYLOAD, 406, "not_acceptable"),
        (
            "POST",
            "/v1/render",
            {**AUTH, "Accept": "application/pdf;q=0"},
            PAYLOAD,
            406,
            "not_acceptable",
        ),
        ("POST", "/v1/render", AUTH, b'{"company": {"id": ', 400, "malformed_json"),
        ("POST", "/v1/render", AUTH, b"", 400, "malformed_json"),
        ("POST", "/v1/render", AUTH, b"\xff\xfe", 400, "malformed_json"),
        ("POST", "/v1/render", AUTH, b'{"title": "x"}', 422, "payload_invalid"),
        ("GET", "/v1/nothing", {}, None, 404, "not_found"),
        ("GET", "/v1", AUTH, None, 404, "not_found"),
        ("GET", "/v1/render", AUTH, None, 405, "method_not_allowed"),
        ("DELETE", "/healthz", {}, None, 405, "method_not_allowed"),
    ],
)
async def test_error_shape_and_status(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    headers: dict[str, str],
    data: bytes | None,
    status: int,
    code: str,
) -> None:
    response = await client.request(method, path, headers=headers, data=data)
    await error_of(response, status, code)


async def test_401_asks_for_a_bearer_key(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/render", data=PAYLOAD)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="pilu"'


async def test_403_names_the_company_and_not_the_key(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/render", data=PAYLOAD, headers={"X-API-Key": KEY_OTHER})
    error = await error_of(response, 403, "forbidden")
    assert error["details"] == {"company_id": "xiaokang-life"}
    assert KEY_OTHER not in await response.text()


async def test_405_lists_allowed_methods(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/render", headers=AUTH)
    error = await error_of(response, 405, "method_not_allowed")
    assert error["details"]["allowed"] == ["POST"]
    assert response.headers["Allow"] == "POST"


async def test_malformed_json_gives_the_position(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/render", data=b'{\n  "a": 1,\n  oops\n}', headers=AUTH)
    error = await error_of(response, 400, "malformed_json")
    assert error["details"] == {"line": 3, "column": 3, "position": 14}


async def test_422_lists_every_path(client: TestClient[Any, Any]) -> None:
    bad = fakes.payload(report_year="soon", title="", extra_field=1)
    response = await client.post("/v1/render", data=json.dumps(bad).encode(), headers=AUTH)
    error = await error_of(response, 422, "payload_invalid")
    assert sorted(d["path"] for d in error["details"]) == [
        "$.extra_field",
        "$.report_year",
        "$.title",
    ]


@pytest.fixture
async def small_limit_client(make_client: ClientFactory) -> AsyncIterator[TestClient[Any, Any]]:
    yield await make_client(max_body_bytes=1000)


async def test_413_on_declared_length(small_limit_client: TestClient[Any, Any]) -> None:
    big = fakes.payload_bytes(title="长" * 400)
    assert len(big) > 1000
    response = await small_limit_client.post("/v1/render", data=big, headers=AUTH)
    error = await error_of(response, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1000}


async def test_413_on_chunked_body(small_limit_client: TestClient[Any, Any]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100
        yield fakes.payload_bytes()

    response = await small_limit_client.post("/v1/validate", data=chunks(), headers=AUTH)
    await error_of(response, 413, "payload_too_large")


async def test_body_at_the_limit_is_accepted(make_client: ClientFactory) -> None:
    body = fakes.payload_bytes()
    client = await make_client(max_body_bytes=len(body))
    response = await client.post("/v1/render", data=body, headers=AUTH)
    assert response.status == 200


async def test_unexpected_exception_is_500_without_internals(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post("/v1/render", data=fakes.payload_bytes(explode=True), headers=AUTH)
    error = await error_of(response, 500, "internal_error")
    text = await response.text()
    assert fakes.SECRET_IN_TRACEBACK not in text
    assert "Traceback" not in text and "RuntimeError" not in text
    assert error["details"] == {"request_id": response.headers["X-Request-ID"]}
    assert fakes.SECRET_IN_TRACEBACK in caplog.text  # the log keeps what the caller may not see


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/render?format=pdf&format=docx"),
        ("POST", "/v1/validate?x=1&x=2"),
        ("GET", "/healthz?a=&a="),
        ("GET", "/v1/documents?company=a&company=b"),
        ("GET", "/console/sign-in?next=/console/&next=/console/new"),
    ],
)
async def test_a_repeated_query_parameter_is_400_on_every_route(
    client: TestClient[Any, Any], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=AUTH, data=PAYLOAD)
    error = await error_of(response, 400, "invalid_parameter")
    assert error["details"]["count"] == 2
