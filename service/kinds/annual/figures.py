"""The annual disclosure's figures: review, training, outreach, and the complaint figures."""

from __future__ import annotations

from typing import Any

from service.kinds.complaint_figures import complaint_figures
from service.kinds.kind import Figure
from service.model.figures import percent, wan


def _get(*names: str) -> Any:
    def read(payload: Any) -> Any:
        node = payload.figures
        for name in names:
            node = getattr(node, name) if node is not None else None
        return node

    return read


def _review_total(payload: Any) -> int | None:
    review = payload.figures.review
    return None if review is None else int(review.product + review.service)


FIGURES: tuple[Figure, ...] = (
    Figure("report_year", "报告年度", "", "report_year", lambda p: p.report_year, str, "2023"),
    Figure("review.product", "涉及产品审查次数", "次", "figures.review.product",
           _get("review", "product"), str, "41"),
    Figure("review.service", "涉及服务审查次数", "次", "figures.review.service",
           _get("review", "service"), str, "194"),
    Figure("review.total", "消保审查合计次数", "次", "product + service",
           _review_total, str, "235"),
    Figure("training.participants", "参训人次", "人次", "figures.training.participants",
           _get("training", "participants"), wan, "1486 (from 10,000: 1.23万)"),
    Figure("training.coverage", "培训覆盖率", "%", "figures.training.coverage",
           _get("training", "coverage"), percent, "100%"),
    Figure("training.yoy", "参训人次同比增长", "%", "figures.training.yoy",
           _get("training", "yoy"), percent, "11.56%（负数为下降）"),
    Figure("outreach.reach", "宣教活动触达人次", "人次", "figures.outreach.reach",
           _get("outreach", "reach"), wan, "59.55万"),
    Figure("outreach.yoy", "触达人次同比增长", "%", "figures.outreach.yoy",
           _get("outreach", "yoy"), percent, "3896.64%"),
    *complaint_figures(),
)  # fmt: skip
