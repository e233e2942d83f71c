"""Template versions by report year, read from ``templates/<kind>/versions.toml`` (or the
kind's own templates folder, :attr:`service.kinds.Kind.templates`)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from service import TEMPLATES_DIR, kinds
from service.errors import UnknownTemplate


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """The wording of one period: regulator names and the rules the report cites."""

    kind: str
    id: str
    first_year: int
    last_year: int
    regulator: str
    regulator_full: str
    local_office: str
    consumer_bureau: str
    rules: tuple[str, ...]
    report_name: str
    template: str

    @property
    def years(self) -> str:
        return (
            f"{self.first_year}–{self.last_year}"
            if self.last_year < 2100
            else f"{self.first_year}–"
        )


def template_versions(kind: str) -> tuple[TemplateVersion, ...]:
    """The template versions of ``kind``, from ``<its templates folder>/<kind>/versions.toml``."""
    known = kinds.KINDS.get(kind)
    return _read_versions(kind, known.templates if known else TEMPLATES_DIR)


@cache
def _read_versions(kind: str, templates: Path) -> tuple[TemplateVersion, ...]:
    path = templates / kind / "versions.toml"
    if not path.is_file():
        raise UnknownTemplate(f"未知的报告类型：{kind}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    versions = tuple(
        TemplateVersion(
            kind=kind,
            report_name=data["report_name"],
            template=data["template"],
            **{**v, "rules": tuple(v["rules"])},
        )
        for v in data["versions"]
    )
    _check_no_overlap(kind, versions)
    return versions


def _check_no_overlap(kind: str, versions: tuple[TemplateVersion, ...]) -> None:
    ordered = sorted(versions, key=lambda v: v.first_year)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.first_year <= earlier.last_year:
            raise ValueError(f"{kind}: versions {earlier.id} and {later.id} overlap")


def version_for(kind: str, report_year: int) -> TemplateVersion:
    for version in template_versions(kind):
        if version.first_year <= report_year <= version.last_year:
            return version
    raise UnknownTemplate(f"报告类型{kind}没有适用于{report_year}年度的模板")
