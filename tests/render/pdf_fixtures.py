"""Documents built by hand for the PDF writer's tests (no payload, no report template)."""

from __future__ import annotations

from service.model import Block, Document, Paragraph, Signature, Table
from tests.render.model_fixtures import (
    SENTENCE,
    SIGN_DATE,
    SIGNER,
    breakdown_table,
    document,
    heading,
)


def table(number: int, data_rows: int, *, sub_rows: int = 1, wrap: bool = False) -> Table:
    """A breakdown table: ``data_rows`` rows, ``sub_rows`` 其中 rows after the first, a total.

    ``wrap`` makes every first cell wrap onto several lines, ending in ``尾`` and the row number.
    """

    def name(i: int) -> str:
        return f"渠道{i:03d}" + (f"{'甲乙丙丁戊己庚辛壬癸' * 3}尾{i:03d}" if wrap else "")

    return breakdown_table(
        number,
        data_rows,
        sub_rows=sub_rows,
        caption="投诉渠道分布",
        columns=("渠道", "件数", "占比（%）"),
        name=name,
        percent_sign="",
    )


def sample_document() -> Document:
    """Every kind of block: lead, the four heading levels, body, a table with a note, signature."""
    blocks: list[Block] = [Paragraph("发布时间：2024年1月12日", "lead"), Paragraph(SENTENCE * 2)]
    for n in (1, 2):
        blocks += [heading(1, n, "消费者权益保护重大信息"), heading(2, 1, "重要政策")]
        blocks += [heading(3, 1, "消保战略制定情况"), heading(4, 1, "消保机制落实情况")]
        blocks += [
            Paragraph(SENTENCE * 3),
            table(n, 6),
            Paragraph("注：数据来源于公司内部统计。", "note"),
        ]
    return document(blocks, signature=Signature(SIGNER, SIGN_DATE))


def long_body_document(pages: float = 2.5) -> Document:
    """Title, lead and one long body paragraph running over ``pages`` pages (about 22 lines each)."""
    lines = int(pages * 22)
    return document(
        [Paragraph("发布时间：2024年1月12日", "lead"), Paragraph(SENTENCE * (lines * 28 // 64 + 1))]
    )


def ladder_document(count: int = 120) -> Document:
    """Headings 1..``count`` on each of the four levels, each level in its own run."""
    blocks = [heading(level, n) for level in (1, 2, 3, 4) for n in range(1, count + 1)]
    return document(blocks, title="编号测试")
