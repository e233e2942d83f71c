"""``pilu import-docx`` and the HTTP routes of an edited DOCX: a new version with both outputs
rendered from what was read, the upload kept, the diff returned; a failed import stores
nothing; the DOCX body limit of its own."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from typer.testing import CliRunner

from service import pipeline
from service.api import create_app
from service.cli import app as cli
from service.formats import MEDIA_TYPES
from service.render.parity import compare_docx_pdf
from tests.api.conftest import AUTH, make_settings
from tests.conftest import EXAMPLES
from tests.readback import edits

pytestmark = pytest.mark.slow
async_test = pytest.mark.asyncio(loop_scope="module")

EXAMPLE = EXAMPLES / "xiaokang-life-2023.json"
DOCX = MEDIA_TYPES["docx"]


def _edited(data: bytes) -> bytes:
    doc = edits.open_docx(data)
    paragraph = edits.paragraph_with(doc, "数据安全和客户信息保护机制运行良好")
    edits.replace_in_paragraph(paragraph, "运行良好", "运行平稳有效")
    for run in edits.figure_runs(doc, "training.participants"):
        edits.set_run_text(run, "1520")
    return edits.save(doc)


def test_import_docx_prints_the_payload_or_the_errors(tmp_path: Path) -> None:
    original = edits.render(EXAMPLE.read_bytes())
    edited = tmp_path / "edited.docx"
    edited.write_bytes(_edited(original))
    result = CliRunner().invoke(cli, ["import-docx", str(edited), "--base", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["figures"]["training"]["participants"] == 1520
    pipeline.parse_payload(result.stdout.encode())

    doc = edits.open_docx(original)
    (run,) = edits.figure_runs(doc, "review.total")
    edits.set_run_text(run, "240")
    edited.write_bytes(edits.save(doc))
    result = CliRunner().invoke(cli, ["import-docx", str(edited), "--base", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "docx_figure_mismatch" in result.output and "240" in result.output


def _padded(data: bytes, size: int) -> bytes:
    """``data`` with a stored member of ``size`` random bytes no part refers to."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("word/media/padding.bin", os.urandom(size), zipfile.ZIP_STORED)
    return out.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real() -> AsyncIterator[TestClient[Any, Any]]:
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(make_settings(workers=0, max_docx_bytes=6 * 1024 * 1024)))
    )
    await client.start_server()
    yield client
    await client.close()


async def _create(real: TestClient[Any, Any]) -> dict[str, Any]:
    response = await real.post("/v1/documents", data=EXAMPLE.read_bytes(), headers=AUTH)
    assert response.status in (200, 201), await response.text()
    body: dict[str, Any] = await response.json()
    return body


@async_test
async def test_an_uploaded_docx_becomes_the_next_version_with_its_diff(
    real: TestClient[Any, Any],
) -> None:
    doc = await _create(real)
    first = doc["version"]
    downloaded = await (await real.get(doc["links"]["docx"], headers=AUTH)).read()
    # Past the 2 MiB JSON body limit, as a DOCX with its fonts embedded in full is (20 MiB):
    # the DOCX limit of its own applies.
    edited = _padded(_edited(downloaded), 3 * 1024 * 1024)
    assert len(edited) > make_settings().max_body_bytes
    response = await real.post(
        f"/v1/documents/{doc['id']}/versions",
        data=edited,
        headers={**AUTH, "Content-Type": DOCX},
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["base_version"] == first and body["document"]["version"] == first + 1
    assert body["diff"]["figures"] == [
        {"name": "training.participants", "label": "参训人次", "before": "1486", "after": "1520"}
    ]
    added = [s["text"] for s in body["diff"]["sentences"] if s["change"] == "added"]
    assert len(added) == 2 and "运行平稳有效" in added[0] and "1520人次" in added[1]
    manifest = body["document"]["manifest"]
    assert manifest["uploaded_docx"]["size"] == len(edited)

    version = first + 1
    payload = await (
        await real.get(f"/v1/documents/{doc['id']}/payload?version={version}", headers=AUTH)
    ).json()
    assert payload["figures"]["training"]["participants"] == 1520
    old = await (
        await real.get(f"/v1/documents/{doc['id']}/payload?version={first}", headers=AUTH)
    ).read()
    assert old == EXAMPLE.read_bytes()
    kept = await real.get(
        f"/v1/documents/{doc['id']}/uploaded-docx?version={version}", headers=AUTH
    )
    assert kept.status == 200 and await kept.read() == edited
    diff = await (
        await real.get(f"/v1/documents/{doc['id']}/diff?version={version}", headers=AUTH)
    ).json()
    assert diff["diff"] == body["diff"]

    # The new version's outputs print the edited text.
    pdf = await (
        await real.get(f"/v1/documents/{doc['id']}/pdf?version={version}", headers=AUTH)
    ).read()
    new_docx = await (
        await real.get(f"/v1/documents/{doc['id']}/docx?version={version}", headers=AUTH)
    ).read()
    assert pdf.startswith(b"%PDF-")
    _, expected = pipeline.build(json.dumps(payload).encode())
    assert "运行平稳有效" in expected.plain_text()
    assert edits.paragraph_with(edits.open_docx(new_docx), "运行平稳有效")
    report = compare_docx_pdf(new_docx, pdf)
    assert report.ok, str(report)


@async_test
async def test_a_failed_import_stores_nothing(real: TestClient[Any, Any]) -> None:
    doc = await _create(real)
    before = await (await real.get(f"/v1/documents/{doc['id']}/versions", headers=AUTH)).json()
    downloaded = await (await real.get(doc["links"]["docx"], headers=AUTH)).read()
    word = edits.open_docx(downloaded)
    (run,) = edits.figure_runs(word, "review.total")
    edits.set_run_text(run, "240")
    url = f"/v1/documents/{doc['id']}/versions"
    headers = {**AUTH, "Content-Type": DOCX}
    response = await real.post(url, data=edits.save(word), headers=headers)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "docx_unreadable" and error["details"][0]["path"].startswith("第")
    response = await real.post(url, data=b"PK\x03\x04 broken", headers=headers)
    assert response.status == 400 and (await response.json())["error"]["code"] == "docx_refused"
    response = await real.post(url, data=b"x" * (7 * 1024 * 1024), headers=headers)
    assert response.status == 413
    after = await (await real.get(f"/v1/documents/{doc['id']}/versions", headers=AUTH)).json()
    assert after == before


@async_test
async def test_a_retried_upload_with_its_idempotency_key_makes_one_version(
    real: TestClient[Any, Any],
) -> None:
    doc = await _create(real)
    downloaded = await (await real.get(doc["links"]["docx"], headers=AUTH)).read()
    edited = _edited(downloaded)
    url = f"/v1/documents/{doc['id']}/versions"
    headers = {**AUTH, "Content-Type": DOCX, "Idempotency-Key": f"upload-{doc['id']}"}
    first = await real.post(url, data=edited, headers=headers)
    assert first.status == 201, await first.text()
    again = await real.post(url, data=edited, headers=headers)
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
    one, two = await first.json(), await again.json()
    assert two["document"]["version"] == one["document"]["version"]
    assert two["diff"] == one["diff"] and two["base_version"] == one["base_version"]
    versions = await (await real.get(f"{url}", headers=AUTH)).json()
    assert versions["versions"][-1]["version"] == one["document"]["version"]
    word = edits.open_docx(downloaded)
    for run in edits.figure_runs(word, "training.participants"):
        edits.set_run_text(run, "1530")
    other = await real.post(url, data=edits.save(word), headers=headers)
    assert other.status == 409
