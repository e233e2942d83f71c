"""render_item with the real pipeline, through the API's worker pool (pickled both ways)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service import PROJECT_ROOT, pipeline
from service.jobs.render import RenderOutcome, pool_render, render_item
from service.store import open_store
from service.store.models import sha256_hex
from service.style import load_house_style
from service.workers import ProcessPool
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow


async def test_pool_render_then_store(tmp_path: Path) -> None:
    raw = (EXAMPLES / "kangning-property-2022.json").read_bytes()
    bad = json.loads(raw)
    bad["report_year"] = 1999
    pool = ProcessPool(size=1, start_method="forkserver")
    await pool.start()
    try:
        render = pool_render(pool, timeout_s=60)
        good, failed = await render(raw), await render(json.dumps(bad).encode())
    finally:
        await pool.close()
    assert isinstance(good, RenderOutcome) and good.rendered is not None and not good.errors
    assert failed.rendered is None and [e.path for e in failed.errors] == ["$.report_year"]

    async with await open_store(None, tmp_path) as store:
        doc = (await store.documents.create(raw, good.rendered)).document
        for fmt in ("pdf", "docx"):
            data, info = await store.documents.read_output(doc.id, fmt)
            assert sha256_hex(data) == info.sha256
            assert data.startswith({"pdf": b"%PDF", "docx": b"PK"}[fmt])
    manifest = doc.version.manifest
    style = load_house_style("gbt9704")
    assert (doc.company_id, doc.report_year) == ("kangning-property", 2022)
    assert manifest.template_version == pipeline.build(raw)[1].meta.template_version
    assert manifest.house_style_version == style.version
    assert dict(manifest.fonts) == {f.file: f.sha256 for f in style.used_faces()}
    assert manifest.outputs["pdf"].filename == "康宁财险-2022-消费者权益保护工作重大信息披露.pdf"


def test_writer_failure_is_an_item_error() -> None:
    outcome = render_item(b'{"company": {"id": "x"}')
    assert outcome.rendered is None and outcome.errors[0].code == "malformed_json"


def _modules_after(*imports: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``imports``."""
    code = "import sys\n" + "".join(f"import {name}\n" for name in imports)
    code += "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(result.stdout.split())


def test_a_render_worker_imports_no_store_database_nor_signing_library() -> None:
    loaded = _modules_after("service.workers.child", "service.jobs.render")
    assert not loaded & {"sqlalchemy", "aiohttp", "pyhanko", "jieba", "weasyprint"}


def test_pilu_batch_itself_imports_no_writer() -> None:
    loaded = _modules_after("service.cli", "service.jobs.batch_cli")
    assert "sqlalchemy" in loaded  # it opens the store
    assert not loaded & {"weasyprint", "pyhanko", "jieba", "docx"}
