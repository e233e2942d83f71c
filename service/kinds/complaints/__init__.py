"""The complaint disclosure for a period, ``complaint-disclosure`` (消费投诉情况信息披露).

A year, a half-year or a quarter: its model is :mod:`.model`, its figures the complaint figures
of both disclosure kinds, its rules the disclosure rules (the publish date after the period's
end) and the inserts it offers; templates in ``templates/complaint-disclosure/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from service.errors import FieldError
from service.kinds.complaint_figures import complaint_figures
from service.kinds.complaints.model import KIND_LABEL, KIND_NAME, ComplaintPayload
from service.kinds.complaints.sample import SAMPLE
from service.kinds.kind import Figure, Kind, Naming
from service.payload.rules import PERIOD_NAMES, check_rules, period_mark, walk_sections
from service.payload.schema import Insert, Section

ANNUAL_ONLY_INSERTS = frozenset({"review", "training", "outreach"})
INSERTS = frozenset(get_args(Insert.model_fields["insert"].annotation)) - ANNUAL_ONLY_INSERTS
"""The inserts a complaint disclosure offers (not the annual's review, training, outreach)."""

FIGURES: tuple[Figure, ...] = (
    Figure("report_year", "报告年度", "", "report_year", lambda p: p.report_year, str, "2022"),
    Figure("period", "报告期", "", "period",
           lambda p: period_mark(p.report_year, p.period), str, "2022年第一季度"),
    *complaint_figures(),
)  # fmt: skip


def naming(payload: Any) -> Naming:
    period = payload.period
    code = str(payload.report_year) if period == "year" else f"{payload.report_year}{period}"
    within = "" if period == "year" else PERIOD_NAMES[period]
    return Naming(period_mark(payload.report_year, period), code, within)


def rules(payload: Any) -> list[FieldError]:
    return check_rules(payload) + list(_inserts(payload.sections))


def _inserts(sections: list[Section]) -> Iterator[FieldError]:
    for path, section in walk_sections(sections):
        for j, block in enumerate(section.content):
            if isinstance(block, Insert) and block.insert not in INSERTS:
                yield FieldError(
                    f"{path}.content[{j}].insert",
                    "insert_not_in_kind",
                    f"{KIND_LABEL}没有“{block.insert}”生成内容；可用的有："
                    + "、".join(sorted(INSERTS)),
                )


KIND = Kind(
    name=KIND_NAME,
    label=KIND_LABEL,
    model=ComplaintPayload,
    figures=FIGURES,
    rules=rules,
    sample=SAMPLE,
    naming=naming,
    keywords=("消费投诉", "信息披露"),
    inserts=INSERTS,
)
