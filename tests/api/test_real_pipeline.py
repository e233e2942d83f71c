"""The API with the real pipeline: the reference example to PDF, DOCX and ZIP, validation,
and the published schema. One in-process app is shared by the module (warm-up loads fonts)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import pikepdf
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate as validate_openapi

from service import pipeline
from service.api import create_app
from tests.api.conftest import AUTH, make_settings, serving
from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

EXAMPLE = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()
STEM = "小康人寿-2023-消费者权益保护工作重大信息披露"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_writer_ready() -> bool:
    try:
        from service.render.docx import render_docx  # noqa: F401
    except ImportError:
        return False
    return True


needs_docx = pytest.mark.skipif(not docx_writer_ready(), reason="DOCX writer not there yet")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real() -> AsyncIterator[TestClient[Any, Any]]:
    async with serving(create_app(make_settings(workers=0))) as client:
        yield client


def filename_of(disposition: str) -> str:
    message = Message()
    message["Content-Disposition"] = disposition
    params = message.get_params(header="content-disposition") or []
    values = [v for _, v in params if isinstance(v, tuple)]
    return collapse_rfc2231_value(values[0])


@pytest.mark.parametrize(
    ("fmt", "media", "magic"),
    [
        ("pdf", "application/pdf", b"%PDF-"),
        pytest.param("docx", DOCX, b"PK\x03\x04", marks=needs_docx),
        pytest.param("zip", "application/zip", b"PK\x03\x04", marks=needs_docx),
    ],
)
async def test_render_the_reference_example(
    real: TestClient[Any, Any], fmt: str, media: str, magic: bytes
) -> None:
    response = await real.post(f"/v1/render?format={fmt}", data=EXAMPLE, headers=AUTH)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == media
    body = await response.read()
    assert body.startswith(magic)
    assert filename_of(response.headers["Content-Disposition"]) == f"{STEM}.{fmt}"
    assert 'filename="xiaokang-life-2023-disclosure.' in response.headers["Content-Disposition"]
    if fmt == "zip":
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert names == [f"{STEM}.docx", f"{STEM}.pdf"]


@needs_docx
async def test_zip_is_reproducible(real: TestClient[Any, Any]) -> None:
    first = await (await real.post("/v1/render?format=zip", data=EXAMPLE, headers=AUTH)).read()
    second = await (await real.post("/v1/render?format=zip", data=EXAMPLE, headers=AUTH)).read()
    assert first == second


async def test_validate_previews_the_example(real: TestClient[Any, Any]) -> None:
    response = await real.post("/v1/validate", data=EXAMPLE, headers=AUTH)
    assert response.status == 200, await response.text()
    preview = await response.json()
    assert preview["company"]["id"] == "xiaokang-life"
    assert preview["report_year"] == 2023
    assert preview["filename_stem"] == STEM
    assert preview["figures"]


async def test_validate_reports_every_problem_with_its_path(real: TestClient[Any, Any]) -> None:
    payload = json.loads(EXAMPLE)
    del payload["company"]["full_name"]
    payload["report_year"] = "2023年"
    response = await real.post(
        "/v1/validate", data=json.dumps(payload, ensure_ascii=False).encode(), headers=AUTH
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "payload_invalid"
    paths = {d["path"] for d in error["details"]}
    assert {"$.company.full_name", "$.report_year"} <= paths


async def test_malformed_json_position(real: TestClient[Any, Any]) -> None:
    response = await real.post("/v1/render", data=b'{"company": {"id": "x",}}', headers=AUTH)
    assert response.status == 400
    details = (await response.json())["error"]["details"]
    assert set(details) >= {"line", "column", "position"}


async def test_other_company_is_forbidden(real: TestClient[Any, Any]) -> None:
    payload = json.loads(EXAMPLE)
    payload["company"]["id"] = "someone-else"
    response = await real.post("/v1/render", data=json.dumps(payload).encode(), headers=AUTH)
    assert response.status == 403


async def test_schema_and_openapi(real: TestClient[Any, Any]) -> None:
    assert await (await real.get("/v1/schema")).json() == pipeline.payload_json_schema()
    spec = await (await real.get("/openapi.json")).json()
    validate_openapi(spec)
    assert "Payload" in spec["components"]["schemas"]


async def test_render_in_a_real_worker_process() -> None:
    """The real jobs cross to a spawned, warmed worker and the PDF comes back."""
    async with serving(create_app(make_settings(workers=1, render_timeout_s=60))) as client:
        ready = await (await client.get("/readyz")).json()
        assert ready["workers"]["warm"] == 1
        response = await client.post("/v1/render", data=EXAMPLE, headers=AUTH)
        assert response.status == 200, await response.text()
        assert (await response.read()).startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("query", "tagged"), [("", True), ("&pdf=pdf/a-3b", True), ("&pdf=plain", False)]
)
async def test_the_request_chooses_a_plain_or_archival_pdf(
    real: TestClient[Any, Any], query: str, tagged: bool
) -> None:
    response = await real.post(f"/v1/render?format=pdf{query}", data=EXAMPLE, headers=AUTH)
    assert response.status == 200, await response.text()
    with pikepdf.open(io.BytesIO(await response.read())) as pdf:
        assert ("/StructTreeRoot" in pdf.Root, len(pdf.attachments)) == (tagged, 2 * tagged)


async def test_an_unknown_pdf_variant_is_refused(real: TestClient[Any, Any]) -> None:
    response = await real.post("/v1/render?format=zip&pdf=pdf/a-1b", data=EXAMPLE, headers=AUTH)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_parameter" and error["details"]["parameter"] == "pdf"
