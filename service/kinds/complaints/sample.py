"""A small complaint disclosure for a quarter (``pilu sample complaint-disclosure``)."""

from __future__ import annotations

from typing import Any

SAMPLE: dict[str, Any] = {
    "kind": "complaint-disclosure",
    "company": {
        "id": "sample-life",
        "full_name": "样例人寿保险股份有限公司",
        "short_name": "样例人寿",
    },
    "report_year": 2022,
    "period": "Q1",
    "publish_date": "2022-06-15",
    "signatory": "样例人寿保险股份有限公司",
    "sections": [
        {
            "title": "投诉总体情况",
            "content": [
                {"insert": "complaints.regulator.summary"},
                {"insert": "complaints.direct.summary"},
                {"insert": "complaints.sources.table"},
            ],
        },
        {"title": "投诉分布", "content": [{"insert": "complaints.direct.tables"}]},
    ],
    "figures": {
        "complaints": {
            "regulator": {"total": 4, "closed": 4},
            "direct": {
                "total": 9,
                "closed": 8,
                "breakdowns": [
                    {
                        "dimension": "channel",
                        "rows": [{"label": "个险", "count": 6}, {"label": "银保", "count": 3}],
                    }
                ],
            },
        }
    },
}
