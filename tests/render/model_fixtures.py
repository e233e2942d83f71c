"""Documents built by hand for the writers' tests (no payload, no report template)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from service.model import (
    Block,
    Document,
    DocumentMeta,
    Heading,
    Signature,
    Table,
    TableColumn,
    TableRow,
)
from service.model.document import HeadingLevel
from service.model.figures import share
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


def breakdown_table(
    number: int,
    rows: int,
    *,
    sub_rows: int,
    caption: str,
    columns: tuple[str, str, str],
    name: Callable[[int], str],
    percent_sign: str,
) -> Table:
    """A breakdown table: ``rows`` data rows called ``name(i)`` with counts 1234×i, ``sub_rows``
    其中 rows after the first, a 合计 row; shares with two decimals and ``percent_sign``."""
    whole = 1234 * rows * (rows + 1) // 2

    def cells(label: str, count: int) -> tuple[str, str, str]:
        return label, f"{count:,}", f"{share(count, whole)}{percent_sign}"

    body: list[TableRow] = []
    for i in range(1, rows + 1):
        body.append(TableRow(cells(name(i), 1234 * i)))
        if i == 1:
            body += [
                TableRow(cells(f"其中：来电{k}", k * 11), "sub") for k in range(1, sub_rows + 1)
            ]
    body.append(TableRow(("合计", f"{whole:,}", f"100.00{percent_sign}"), "total"))
    label_title, count_title, share_title = columns
    heads = (
        TableColumn(label_title, "left"),
        TableColumn(count_title, "right"),
        TableColumn(share_title, "right"),
    )
    return Table(number, f"表{number} {caption}", heads, tuple(body))
