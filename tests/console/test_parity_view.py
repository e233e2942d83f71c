"""The parity check on a document's page and over the API, with the real pipeline in-process:
"一致" for a rendered document, the difference for a version whose DOCX says something else."""

from __future__ import annotations

import dataclasses
import html as html_lib
import io
import re
import zipfile
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.api.parity import PARITY
from service.api.state import STORE
from service.jobs import tasks
from service.jobs.render import render_item
from service.render.parity import read_docx
from service.store import Rendered
from service.store.layouts import Split
from tests.api import fakes
from tests.conftest import EXAMPLES
from tests.console.conftest import KEY_OTHER, KEY_XIAOKANG, ClientFactory, sign_in

pytestmark = pytest.mark.slow

RAW = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()


def _whole(output: bytes | Split) -> bytes:
    return output.assemble() if isinstance(output, Split) else output


def _rendered() -> tuple[Rendered, bytes]:
    """The example rendered as the console's generate renders it, with its DOCX whole."""
    outcome = render_item(RAW)
    assert outcome.rendered is not None, outcome.errors
    return outcome.rendered, _whole(outcome.rendered.outputs["docx"])


def _with_docx_text(docx: bytes, old: str, new: str) -> bytes:
    """``docx`` with the first ``<w:t>`` text ``old`` in the body replaced by ``new``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                text = data.decode("utf-8")
                assert f">{old}</w:t>" in text
                data = text.replace(f">{old}</w:t>", f">{new}</w:t>", 1).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def _section(page: str) -> str:
    match = re.search(r'<section aria-labelledby="h-parity".*?</section>', page, re.DOTALL)
    assert match, "no parity section on the page"
    return html_lib.unescape(match.group(0))


async def _real_client(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client(backend=None)


async def test_a_rendered_document_shows_agreement_once_computed(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await _real_client(make_client)
    rendered, docx = _rendered()
    doc = (await client.app[STORE].documents.create(RAW, rendered)).document
    runs = 0
    real = tasks.parity

    def counted(*args: Any) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        return real(*args)

    monkeypatch.setattr(tasks, "parity", counted)
    await sign_in(client, KEY_XIAOKANG)
    page = await client.get(f"/console/documents/{doc.id}")
    assert page.status == 200
    section = _section(await page.text())
    items = list(read_docx(docx))
    headings = sum(i.kind == "heading" for i in items)
    rows = sum(i.kind in ("row", "header_row") for i in items)
    assert 'data-parity="ok"' in section and "一致" in section and "不一致" not in section
    assert (
        f"已比对 {len(items) - headings - rows} 个段落、{headings} 个标题、{rows} 行表格" in section
    )
    assert headings > 5 and rows > 5
    again = await client.get(f"/console/documents/{doc.id}?version=1")
    assert 'data-parity="ok"' in _section(await again.text())
    assert runs == 1, "a second page view compares again"

    api = await client.get(
        f"/v1/documents/{doc.id}/parity?version=1",
        headers={"Authorization": f"Bearer {KEY_XIAOKANG}"},
    )
    assert api.status == 200
    body = await api.json()
    assert body == {
        "document_id": doc.id,
        "version": 1,
        "ok": True,
        "compared": {
            "paragraphs": len(items) - headings - rows,
            "headings": headings,
            "table_rows": rows,
        },
        "differences": [],
    }
    assert runs == 1
    other = await client.get(
        f"/v1/documents/{doc.id}/parity", headers={"Authorization": f"Bearer {KEY_OTHER}"}
    )
    assert other.status == 404


async def test_a_version_whose_docx_says_otherwise_shows_the_difference(
    make_client: ClientFactory,
) -> None:
    client = await _real_client(make_client)
    store = client.app[STORE]
    rendered, docx = _rendered()
    first = (await store.documents.create(RAW, rendered)).document
    altered = _with_docx_text(docx, "66.67%", "66.76%")
    changed = dataclasses.replace(rendered, outputs={**rendered.outputs, "docx": altered})
    second = (await store.documents.regenerate(first.id, RAW, changed)).document
    assert second.version.version == 2
    await sign_in(client, KEY_XIAOKANG)

    section = _section(await (await client.get(f"/console/documents/{first.id}")).text())
    assert 'data-parity="differ"' in section
    assert "不一致" in section and "1 处差异" in section
    cells = re.findall(r"<td>(.*?)</td>", section)
    assert cells[1:] == ["文字不同", "76", "67"], cells
    assert cells[0].endswith(" | 66.76%"), cells

    older = _section(await (await client.get(f"/console/documents/{first.id}?version=1")).text())
    assert 'data-parity="ok"' in older
    assert len(client.app[PARITY]._results) == 2
    # The altered bytes are stored as the manifest says: the download is what was checked.
    download = await client.get(f"/console/documents/{first.id}/versions/2/docx")
    assert await download.read() == altered

    api = await client.get(
        f"/v1/documents/{first.id}/parity?version=2",
        headers={"Authorization": f"Bearer {KEY_XIAOKANG}"},
    )
    body = await api.json()
    assert body["ok"] is False
    [difference] = body["differences"]
    assert (difference["kind"], difference["docx"], difference["pdf"]) == ("changed", "76", "67")
    assert "DOCX 为“76”，PDF 为“67”" in difference["message"]


async def test_outputs_that_cannot_be_read_leave_the_page_up(client: TestClient[Any, Any]) -> None:
    """The fake backend stores text, not a DOCX and a PDF: the page says why there is no
    result."""
    await sign_in(client, KEY_XIAOKANG)
    raw = fakes.payload_bytes()
    outcome = fakes.render_item(raw)
    assert outcome.rendered is not None
    doc = (await client.app[STORE].documents.create(raw, outcome.rendered)).document
    page = await client.get(f"/console/documents/{doc.id}")
    assert page.status == 200
    section = _section(await page.text())
    assert 'data-parity="unchecked"' in section
    assert "无法检查：存档的 DOCX 无法读取" in section
