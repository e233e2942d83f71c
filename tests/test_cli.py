"""The ``pilu`` command line as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from service.cli import PdfChoice, app
from service.style import PDF_VARIANTS
from tests.conftest import EXAMPLES

runner = CliRunner()
REFERENCE_EXAMPLE = str(EXAMPLES / "xiaokang-life-2023.json")


def test_validate_accepts_the_example() -> None:
    result = runner.invoke(app, ["validate", REFERENCE_EXAMPLE])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_validate_prints_every_error_and_fails(
    tmp_path: Path, reference_example: dict[str, Any]
) -> None:
    reference_example["publish_date"] = "2023-05-01"
    reference_example["figures"]["complaints"]["regulator"]["closed"] = 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(reference_example, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "$.publish_date" in result.output
    assert "closed_exceeds_total" in result.output


def test_validate_reports_malformed_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"company": }', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "第1行" in result.output


def test_render_rejects_unknown_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["render", REFERENCE_EXAMPLE, "--out", str(tmp_path), "--format", "odt"]
    )
    assert result.exit_code == 2
    assert "odt" in result.output


def test_render_writes_named_pdf(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["render", REFERENCE_EXAMPLE, "--out", str(tmp_path), "--format", "pdf"]
    )
    assert result.exit_code == 0, result.output
    (pdf,) = tmp_path.iterdir()
    assert pdf.name == "小康人寿-2023-消费者权益保护工作重大信息披露.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_render_writes_both_formats(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", REFERENCE_EXAMPLE, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".docx", ".pdf"]


def test_templates_lists_versions_and_years() -> None:
    result = runner.invoke(app, ["templates"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("2019–2019", "2021–2022", "2023–", "国家金融监督管理总局", "中国银保监会"):
        assert text in result.output


def test_schema_prints_json_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert json.loads(result.output)["title"] == "Pilu disclosure payload v1"


def test_render_plain_pdf_on_request(tmp_path: Path) -> None:
    for variant, tagged in (("plain", "no"), ("pdf/a-3b", "yes")):
        out = tmp_path / variant.replace("/", "")
        result = runner.invoke(app, ["render", REFERENCE_EXAMPLE, "-o", str(out), "-f", "pdf",
                                     "--pdf", variant])  # fmt: skip
        assert result.exit_code == 0, result.output
        (pdf,) = out.iterdir()
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        assert re.search(rf"^Tagged:\s+{tagged}$", info.stdout, re.M), info.stdout


def test_render_refuses_an_unknown_pdf_variant(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", REFERENCE_EXAMPLE, "-o", str(tmp_path), "--pdf", "x"])
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())


def test_the_pdf_choices_are_the_variants() -> None:
    assert [choice.value for choice in PdfChoice] == list(PDF_VARIANTS)
