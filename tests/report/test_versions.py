"""Template versions by report year: the regulator's names and the rules of each year."""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import UnknownTemplate
from service.pipeline import build
from service.report import template_versions, version_for

KIND = "consumer-protection-annual"


@pytest.mark.parametrize(
    ("year", "version", "regulator", "bureau", "rule"),
    [
        (2019, "2019", "中国银保监会", "消费者权益保护局", "保监会令2013年第8号"),
        (2020, "2020", "中国银保监会", "消费者权益保护局", "银保监会令2020年第3号"),
        (2021, "2021", "中国银保监会", "消费者权益保护局", "银保监发〔2021〕24号"),
        (2022, "2021", "中国银保监会", "消费者权益保护局", "银保监会令2020年第3号"),
        (2023, "2023", "国家金融监督管理总局", "金融消费者权益保护局", "银保监会令2022年第9号"),
        (2024, "2023", "国家金融监督管理总局", "金融消费者权益保护局", "银保监会令2022年第9号"),
    ],
)
def test_version_for_year(year: int, version: str, regulator: str, bureau: str, rule: str) -> None:
    v = version_for(KIND, year)
    assert (v.id, v.regulator, v.consumer_bureau) == (version, regulator, bureau)
    assert any(rule in r for r in v.rules)


def test_versions_cover_every_year_from_2019_without_gaps() -> None:
    years = [y for v in template_versions(KIND) for y in range(v.first_year, v.last_year + 1)]
    assert sorted(years) == list(range(2019, 2101))


def test_no_template_before_2019() -> None:
    with pytest.raises(UnknownTemplate):
        version_for(KIND, 2018)


@pytest.mark.parametrize("year", range(2019, 2025))
def test_document_text_names_the_regulator_of_its_year(
    reference_example: dict[str, Any], year: int
) -> None:
    reference_example["report_year"] = year
    reference_example["publish_date"] = f"{year + 1}-01-15"
    reference_example["sections"][0]["content"] = [{"insert": "basis"}]
    _, document = build(reference_example)
    text = document.plain_text()
    if year < 2023:
        assert "中国银保监会消费者权益保护局公布的" in text
        assert "国家金融监督管理总局" not in text
    else:
        assert "国家金融监督管理总局金融消费者权益保护局公布的" in text
        assert "银保监会消费者权益保护局" not in text
    if year == 2019:
        assert "保监会令2013年第8号" in text and "银保监会令2020年第3号" not in text
    assert document.meta.template_version == f"{KIND}/{version_for(KIND, year).id}"


def test_six_year_example_batch_names_the_regulator_of_each_year() -> None:
    from tests.conftest import EXAMPLES

    lines = (EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson").read_bytes().splitlines()
    years = []
    for line in lines:
        payload, document = build(line)
        years.append(payload.report_year)
        text = document.plain_text()
        expected, other = (
            ("中国银保监会", "国家金融监督管理总局")
            if payload.report_year < 2023
            else ("国家金融监督管理总局", "中国银保监会")
        )
        assert expected in text and other not in text, payload.report_year
        assert f"截至{payload.report_year}年12月底" in text
    assert years == list(range(2019, 2025))
