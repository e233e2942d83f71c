"""POST /v1/render and /v1/validate with in-process rendering and the fake backend."""

from __future__ import annotations

import io
import zipfile
from typing import Any
from urllib.parse import quote, unquote

import pytest
from aiohttp.test_utils import TestClient

from tests.api import fakes
from tests.api.conftest import AUTH, KEY_ALL

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILENAME = "小康人寿-2023-消费者权益保护工作重大信息披露"


@pytest.mark.parametrize(
    ("query", "accept", "fmt", "media"),
    [
        ("?format=pdf", None, "pdf", "application/pdf"),
        ("?format=docx", None, "docx", DOCX),
        ("?format=DOCX", None, "docx", DOCX),
        ("?format=zip", None, "zip", "application/zip"),
        ("", None, "pdf", "application/pdf"),
        ("", "*/*", "pdf", "application/pdf"),
        ("", DOCX, "docx", DOCX),
        ("", "application/zip", "zip", "application/zip"),
        ("", f"application/pdf;q=0.5, {DOCX}", "docx", DOCX),
        ("", "application/*;q=0.9, application/pdf;q=0", "docx", DOCX),
        ("?format=pdf", DOCX, "pdf", "application/pdf"),
    ],
)
async def test_format_from_query_or_accept(
    client: TestClient[Any, Any], query: str, accept: str | None, fmt: str, media: str
) -> None:
    headers = {**AUTH, **({"Accept": accept} if accept else {})}
    response = await client.post(f"/v1/render{query}", data=fakes.payload_bytes(), headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"] == media
    body = await response.read()
    assert body.startswith(b"PK\x03\x04" if fmt == "zip" else f"{fmt}|".encode())
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        f'attachment; filename="xiaokang-life-2023-disclosure.{fmt}"; '
        f"filename*=UTF-8''{quote(FILENAME)}.{fmt}"
    )
    assert disposition.isascii()


async def test_a_star_key_renders_any_company(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/render", data=fakes.payload_bytes("any-co"), headers={"X-API-Key": KEY_ALL}
    )
    assert response.status == 200


async def test_validate_returns_the_preview(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/validate", data=fakes.payload_bytes(), headers=AUTH)
    assert response.status == 200
    assert response.content_type == "application/json"
    preview = await response.json()
    assert preview["company"]["id"] == "xiaokang-life"
    assert preview["figures"] == {"complaints.total": "1,234"}
    assert "小康人寿" in await response.text()  # not \\u-escaped


async def test_validate_lists_every_error(client: TestClient[Any, Any]) -> None:
    bad = fakes.payload(report_year=1900, title="")
    del bad["company"]["short_name"]
    response = await client.post(
        "/v1/validate", data=__import__("json").dumps(bad).encode(), headers=AUTH
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "payload_invalid"
    assert sorted(d["path"] for d in error["details"]) == [
        "$.company.short_name",
        "$.report_year",
        "$.title",
    ]
    assert all(set(d) == {"path", "code", "message"} for d in error["details"])


async def test_zip_holds_each_format_rendered_by_its_own_task(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/render?format=zip", data=fakes.payload_bytes(), headers=AUTH)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert f"{FILENAME}.zip" in unquote(response.headers["Content-Disposition"])
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert archive.namelist() == [f"{FILENAME}.docx", f"{FILENAME}.pdf"]
    for fmt in ("pdf", "docx"):
        assert archive.read(f"{FILENAME}.{fmt}").decode().startswith(f"{fmt}|")


async def test_a_failing_member_fails_the_zip_with_its_error(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/render?format=zip", data=fakes.payload_bytes(explode=True), headers=AUTH
    )
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "internal_error"
