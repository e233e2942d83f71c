"""Documents built by hand for the writers' tests (no payload, no report template)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from service.model import Block, Document, DocumentMeta, Heading, Signature
from service.model.document import HeadingLevel
from service.model.numbering import heading_label

SENTENCE = (
    "公司始终坚持以人民为中心的发展思想，以客户利益为导向，将消费者权益保护工作融入公司治理、"
    "企业文化建设和经营发展战略的各个方面，不断提升专业能力和服务水平。"
)
"""Sixty-four full-width characters: no Latin, so every full line holds exactly the grid."""

SIGNER = "小康人寿保险有限责任公司"
SIGN_DATE = "2024年1月12日"
TITLE = "小康人寿保险有限责任公司2023年度消费者权益保护工作重大信息披露"


def meta(**changes: object) -> DocumentMeta:
    fields: dict[str, object] = {
        "title": TITLE,
        "author": "小康人寿保险有限责任公司",
        "subject": "2023年度消费者权益保护工作重大信息披露",
        "keywords": ("小康人寿", "2023年度", "消费者权益保护", "信息披露"),
        "language": "zh-CN",
        "created": date(2024, 1, 12),
        "report_kind": "consumer_protection",
        "report_year": 2023,
        "company_short_name": "小康人寿",
        "template_version": "test",
        "house_style": "gbt9704",
    }
    fields.update(changes)
    return DocumentMeta(**fields)  # type: ignore[arg-type]


def heading(level: HeadingLevel, number: int, text: str = "标题") -> Heading:
    return Heading(level, number, heading_label(level, number), text)


def document(
    blocks: Iterable[Block],
    title: str = TITLE,
    signature: Signature | None = None,
    **meta_changes: object,
) -> Document:
    return Document(meta(**meta_changes), title, tuple(blocks), signature)
