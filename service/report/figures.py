"""Named figures of a payload, formatted once as the document prints them.

Narrative quotes them as ``{training.participants}``; the report template uses the same values,
and ``/v1/validate`` shows them for a last check. A literal brace is written ``{{`` or ``}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from service.errors import FieldError
from service.model.figures import percent, plain_decimal, share, share_text, wan
from service.payload.schema import Payload

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_.0-9]*)\}|[{}]")


def compute_figures(payload: Payload) -> dict[str, str]:
    f = payload.figures
    out: dict[str, str] = {"report_year": str(payload.report_year)}
    if f.review:
        out["review.product"] = str(f.review.product)
        out["review.service"] = str(f.review.service)
        out["review.total"] = str(f.review.product + f.review.service)
    if f.training:
        out["training.participants"] = wan(f.training.participants)
        out["training.coverage"] = percent(f.training.coverage)
        if f.training.yoy is not None:
            out["training.yoy"] = percent(f.training.yoy)
    if f.outreach:
        out["outreach.reach"] = wan(f.outreach.reach)
        if f.outreach.yoy is not None:
            out["outreach.yoy"] = percent(f.outreach.yoy)
    total = 0
    for name in ("regulator", "direct"):
        source = getattr(f.complaints, name)
        if source is None:
            continue
        total += source.total
        key = f"complaints.{name}"
        out[f"{key}.total"] = str(source.total)
        if source.closed is not None:
            out[f"{key}.closed"] = str(source.closed)
            out[f"{key}.closed_rate"] = share_text(share(source.closed, source.total))
    if f.complaints.regulator or f.complaints.direct:
        out["complaints.total"] = str(total)
    for metric in f.complaints.relative_metrics:
        out[f"complaints.relative_metrics.{metric.name}"] = plain_decimal(metric.value)
    return out


def fill(text: str, figures: dict[str, str]) -> str:
    """Replace ``{name}`` by its figure; ``{{`` and ``}}`` stand for literal braces.

    Assumes :func:`unknown_placeholders` found nothing; an unknown name raises ``KeyError``.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token in ("{{", "}}"):
            return token[0]
        if match.group(1) is None:
            return token
        return figures[match.group(1)]

    return PLACEHOLDER.sub(replace, text)


def placeholder_errors(path: str, text: str, figures: dict[str, str]) -> Iterator[FieldError]:
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        if match.group() in ("{{", "}}"):
            continue
        if name is None:
            yield FieldError(
                path,
                "unmatched_brace",
                f"第{match.start() + 1}个字符处的花括号不成对；字面花括号请写作 {{{{ 或 }}}}",
            )
        elif name not in figures:
            known = "、".join(sorted(figures)) or "（无）"
            yield FieldError(
                path, "unknown_figure", f"引用了不存在的数据“{{{name}}}”；可用的有：{known}"
            )
