"""The kinds registry: every field titled, every figure named, the union schema, and a kind added
inside the tests with one package's worth of code and one templates folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field

from service import kinds, pipeline
from service.kinds import KINDS, Figure, Kind, Naming, payload_json_schema
from service.kinds.registry import refresh
from service.payload.schema import (
    Company,
    Date,
    Section,
    Year,
    _Model,
    house_style_field,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, definition in schema["$defs"].items():
        for key, prop in definition.get("properties", {}).items():
            yield f"{name}.{key}", prop


def test_every_field_of_every_kind_has_a_chinese_title() -> None:
    """The console names a field by its schema title: a field without one (pydantic would make
    up "Full Name") fails here rather than show 字段“full_name” to a compliance officer."""
    untitled = [
        path
        for path, prop in _properties(payload_json_schema())
        if not CJK.search(str(prop.get("title", "")))
    ]
    assert untitled == []


def test_the_published_schema_is_a_union_over_kinds() -> None:
    schema = payload_json_schema()
    branches = [b["$ref"].removeprefix("#/$defs/") for b in schema["anyOf"]]
    assert branches == [kind.model.__name__ for kind in KINDS.values()]
    for kind, branch in zip(KINDS.values(), branches, strict=True):
        assert schema["$defs"][branch]["properties"]["kind"]["const"] == kind.name


def test_figure_descriptions_come_from_the_registry() -> None:
    """A field a figure is read from says, in the schema, how a paragraph quotes it."""
    defs = payload_json_schema()["$defs"]
    assert (
        "{training.participants}"
        in defs["TrainingFigures"]["properties"]["participants"]["description"]
    )
    total = defs["ComplaintSource"]["properties"]["total"]["description"]
    assert "{complaints.regulator.total}" in total and "{complaints.direct.total}" in total


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.name)
def test_every_figure_is_named_and_its_sample_is_valid(kind: Kind) -> None:
    names = [f.name for f in kind.figures]
    assert len(names) == len(set(names))
    assert all(CJK.search(f.label) for f in kind.figures)
    payload = kinds.parse_payload(dict(kind.sample))
    assert payload.kind == kind.name


def test_an_unknown_kind_names_the_kinds_there_are() -> None:
    from service.errors import PayloadInvalid

    with pytest.raises(PayloadInvalid) as info:
        kinds.parse_payload({"kind": "annual"})
    (error,) = info.value.errors
    assert error.path == "$.kind"
    assert all(name in error.message for name in KINDS)


# --- a kind added by a test: one module's worth of code and one templates folder ---------------


class NoticePayload(_Model):
    """A one-page notice of the complaint hotline's yearly count (a kind that exists only here)."""

    kind: Literal["hotline-notice"] = Field(title="报告类型")
    company: Company = Field(title="公司")
    report_year: Year = Field(title="报告年度")
    publish_date: Date = Field(title="发布日期")
    calls: int = Field(ge=0, title="热线来电件数")
    title: str | None = Field(None, title="标题")
    signatory: str | None = Field(None, title="落款单位")
    house_style: str = house_style_field()
    ladder_start: Literal[1] = Field(1, title="标题起始层级")
    intro: list[str] = Field(default_factory=list, title="导语")
    sections: list[Section] = Field(default_factory=list, title="正文")


NOTICE_TEMPLATE = """<document>
<title>{{ title }}</title>
<lead>发布时间：{{ date(p.publish_date) }}</lead>
<p>{{ period }}，公司客服热线共接听消费者来电{{ fig["calls"] }}件。</p>
</document>
"""


def _notice_kind(templates: Path) -> Kind:
    return Kind(
        name="hotline-notice",
        label="客服热线情况公告",
        model=NoticePayload,
        figures=(Figure("calls", "热线来电件数", "件", "calls", lambda p: p.calls, "{:,}".format),),
        rules=lambda payload: [],
        part_rules=lambda obj: [],
        sample={
            "kind": "hotline-notice",
            "company": {
                "id": "notice-co",
                "full_name": "公告保险股份有限公司",
                "short_name": "公告保险",
            },
            "report_year": 2023,
            "publish_date": "2024-01-05",
            "calls": 12345,
        },
        naming=lambda p: Naming(f"{p.report_year}年度", str(p.report_year), ""),
        keywords=("客服热线",),
        texts=lambda p: iter([("$.company.full_name", p.company.full_name)]),
        templates=templates,
    )


@pytest.fixture
def notice_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kind]:
    folder = tmp_path / "templates" / "hotline-notice"
    folder.mkdir(parents=True)
    (folder / "report.xml.j2").write_text(NOTICE_TEMPLATE, encoding="utf-8")
    (folder / "versions.toml").write_text(
        'report_name = "客服热线情况公告"\ntemplate = "report.xml.j2"\n\n[[versions]]\n'
        'id = "2023"\nfirst_year = 2023\nlast_year = 2100\nregulator = "国家金融监督管理总局"\n'
        'regulator_full = "国家金融监督管理总局"\nlocal_office = "监管局"\n'
        'consumer_bureau = "金融消费者权益保护局"\nrules = []\n',
        encoding="utf-8",
    )
    kind = _notice_kind(tmp_path / "templates")
    monkeypatch.setitem(KINDS, kind.name, kind)
    refresh()
    yield kind
    monkeypatch.undo()
    refresh()


@pytest.mark.slow
def test_a_kind_defined_in_the_tests_validates_renders_and_is_published(
    notice_kind: Kind,
) -> None:
    schema = payload_json_schema()
    assert {"$ref": "#/$defs/NoticePayload"} in schema["anyOf"]
    raw = dict(notice_kind.sample)
    payload, document = pipeline.build(raw)
    assert document.title.replace("\n", "") == "公告保险股份有限公司2023年度客服热线情况公告"
    assert "2023年度，公司客服热线共接听消费者来电12,345件。" in document.plain_text()
    assert document.meta.subject == "2023年度客服热线情况公告"
    assert document.meta.keywords == ("公告保险", "2023年度", "客服热线")
    assert pipeline.output_filename(payload, "pdf") == "公告保险-2023-客服热线情况公告.pdf"
    outputs = pipeline.render_document(document, pipeline.FORMATS)
    assert outputs["pdf"].startswith(b"%PDF-") and outputs["docx"].startswith(b"PK")
    from service.errors import PayloadInvalid

    with pytest.raises(PayloadInvalid) as info:
        pipeline.parse_payload({**raw, "calls": -1})
    assert [e.path for e in info.value.errors] == ["$.calls"]


def test_the_figures_tables_of_the_payload_doc_are_current() -> None:
    """docs/payload.md's figures tables are the registries'; regenerate with `pilu figures --write`."""
    from service import PROJECT_ROOT
    from service.kinds.docs import updated_payload_doc

    text = (PROJECT_ROOT / "docs" / "payload.md").read_text(encoding="utf-8")
    assert "<!-- figures: complaint-disclosure -->" in text
    assert updated_payload_doc(text) == text


def test_pilu_kinds_and_pilu_sample() -> None:
    from typer.testing import CliRunner

    from service.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["kinds"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    for kind in KINDS.values():
        assert kind.name in listed.output
    assert "2023: 2023–" in listed.output
    for kind in KINDS.values():
        printed = runner.invoke(app, ["sample", kind.name])
        assert printed.exit_code == 0, printed.output
        assert kinds.parse_payload(printed.output.encode()).kind == kind.name
    unknown = runner.invoke(app, ["sample", "annual"])
    assert unknown.exit_code == 2 and "consumer-protection-annual" in unknown.output
