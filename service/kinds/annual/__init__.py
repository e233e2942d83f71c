"""The annual disclosure, ``consumer-protection-annual`` (消费者权益保护工作重大信息披露).

Its payload model is the version-1 payload, :class:`service.payload.schema.Payload` (the shapes
it is made of are shared with the period complaint disclosure); its rules are
:mod:`service.payload.rules`; its templates are ``templates/consumer-protection-annual/``.
"""

from __future__ import annotations

from typing import Any

from service.kinds.annual.figures import FIGURES
from service.kinds.annual.sample import SAMPLE
from service.kinds.kind import Kind, Naming
from service.payload.schema import REPORT_KIND, REPORT_LABEL, Payload


def naming(payload: Any) -> Naming:
    return Naming(f"{payload.report_year}年度", str(payload.report_year), _period(payload))


def _period(payload: Any) -> str:
    """The statistics period of the complaint figures (``前三季度``), ``""`` for the whole year;
    two sources with different periods give both, joined by ``、``."""
    complaints = payload.figures.complaints
    periods = [s.period for s in (complaints.regulator, complaints.direct) if s and s.period]
    return "、".join(dict.fromkeys(p.strip() for p in periods))


KIND = Kind(
    name=REPORT_KIND,
    label=REPORT_LABEL,
    model=Payload,
    figures=FIGURES,
    sample=SAMPLE,
    naming=naming,
    keywords=("消费者权益保护", "信息披露"),
    year_on_year=(
        ("training.yoy", "training.participants"),
        ("outreach.yoy", "outreach.reach"),
    ),
)
