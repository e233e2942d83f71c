"""File names that fit: 240 bytes at most, cut at a character, keeping the period and the kind;
``pilu render`` and ``pilu batch`` do not fail on a long company name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from service import pipeline
from service.cli import app
from service.jobs.batch_cli import run_batch
from tests.conftest import EXAMPLES

LONG_SHORT_NAME = "小康人寿" * 20
"""80 characters, 240 bytes of UTF-8: with the period and the kind, past what a file system
holds in one name (255 bytes), which gave ``Errno 36``."""
KIND_TAIL = "-2023-消费者权益保护工作重大信息披露"


def _long(name: str = LONG_SHORT_NAME) -> dict[str, Any]:
    data = json.loads((EXAMPLES / "xiaokang-life-2023.json").read_text(encoding="utf-8"))
    data["company"]["short_name"] = name
    return data


@pytest.mark.parametrize("fmt", ["pdf", "docx", "zip"])
def test_a_long_short_name_is_cut_at_a_character_keeping_year_and_kind(fmt: str) -> None:
    payload = pipeline.parse_payload(_long())
    name = pipeline.output_filename(payload, fmt)
    assert len(name.encode()) <= pipeline.MAX_FILENAME_BYTES
    stem = name.removesuffix(f".{fmt}")
    assert stem.endswith(KIND_TAIL)
    kept = stem.removesuffix(KIND_TAIL)
    assert kept and LONG_SHORT_NAME.startswith(kept) and len(kept) < len(LONG_SHORT_NAME)


def test_a_short_name_that_fits_is_kept_whole() -> None:
    payload = pipeline.parse_payload(_long("小康人寿"))
    assert pipeline.output_filename(payload, "pdf") == f"小康人寿{KIND_TAIL}.pdf"


def test_a_name_with_mixed_widths_is_cut_between_characters() -> None:
    """A cut never splits a character's UTF-8 bytes (3-byte Chinese after 1-byte Latin)."""
    payload = pipeline.parse_payload(_long("A" + "寿" * 90))
    name = pipeline.output_filename(payload, "docx")
    assert name.encode().decode("utf-8") == name and len(name.encode()) <= 240


@pytest.mark.slow
def test_pilu_render_and_pilu_batch_write_a_long_named_company(tmp_path: Path) -> None:
    source = tmp_path / "long.json"
    source.write_text(json.dumps(_long(), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "render"
    result = CliRunner().invoke(app, ["render", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and all(n.removesuffix(".pdf").removesuffix(".docx").endswith(KIND_TAIL)
                                   for n in names)  # fmt: skip

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):  # the same long name twice: the second gets -2, and still fits
        (folder / f"{i}.json").write_text(json.dumps(_long(), ensure_ascii=False), "utf-8")
    batch_out = tmp_path / "batch"
    console = Console(record=True, width=120, force_terminal=False)
    assert run_batch(folder, batch_out, workers=1, console=console) == 0, console.export_text()
    written = [p.name for p in batch_out.iterdir() if p.suffix in (".pdf", ".docx")]
    assert len(written) == 4 and all(len(n.encode()) <= 255 for n in written)
    assert any(n.endswith(f"{KIND_TAIL}-2.pdf") for n in written)
