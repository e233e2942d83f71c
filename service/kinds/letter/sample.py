"""A small 报告 to the regulator (``pilu sample submission-letter``)."""

from __future__ import annotations

from typing import Any

SAMPLE: dict[str, Any] = {
    "kind": "submission-letter",
    "company": {
        "id": "sample-life",
        "full_name": "样例人寿保险股份有限公司",
        "short_name": "样例人寿",
    },
    "genre": "报告",
    "document_number": {"agency_code": "样例人寿发", "year": 2024, "number": 12},
    "signers": ["王明"],
    "title": "样例人寿保险股份有限公司关于报送2023年度消费者权益保护工作重大信息披露的报告",
    "recipient": "国家金融监督管理总局",
    "body": ["根据监管规定，现将我公司2023年度消费者权益保护工作重大信息披露报送你局，请审阅。"],
    "attachments": ["样例人寿保险股份有限公司2023年度消费者权益保护工作重大信息披露"],
    "date": "2024-01-12",
    "note": {"contact": "李华", "phone": "010-12345678"},
    "copy_to": ["国家金融监督管理总局北京监管局"],
    "printed_by": "样例人寿保险股份有限公司办公室",
    "printed_date": "2024-01-12",
}
