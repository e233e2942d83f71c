"""The annual disclosure's sample: a small document with every kind of block (``pilu sample``,
and the document the warm-up renders in each house style)."""

from __future__ import annotations

from typing import Any

SAMPLE: dict[str, Any] = {
    "kind": "consumer-protection-annual",
    "company": {"id": "warm-up", "full_name": "预热保险股份有限公司", "short_name": "预热保险"},
    "report_year": 2023,
    "publish_date": "2024-01-12",
    "signatory": "预热保险股份有限公司",
    "sections": [
        {
            "title": "消费投诉情况",
            "content": [
                "全年共开展消保审查{review.total}次。",
                {"insert": "complaints.direct.summary"},
                {"insert": "complaints.direct.tables"},
            ],
            "sections": [
                {
                    "title": "投诉处理",
                    "sections": [{"title": "处理情况", "content": ["处理及时。"]}],
                }
            ],
        }
    ],
    "figures": {
        "review": {"product": 1, "service": 2},
        "complaints": {
            "direct": {
                "total": 3,
                "closed": 3,
                "breakdowns": [{"dimension": "channel", "rows": [{"label": "个险", "count": 3}]}],
            }
        },
    },
}
