"""Documents built by hand for the PDF writer's tests (no payload, no report template)."""

from __future__ import annotations

from service.model import (
    Block,
    Document,
    Paragraph,
    Signature,
    Table,
    TableColumn,
    TableRow,
)
from service.model.figures import share
from tests.render.model_fixtures import SENTENCE, SIGN_DATE, SIGNER, document, heading


def table(number: int, data_rows: int, *, sub_rows: int = 1, wrap: bool = False) -> Table:
    """A breakdown table: ``data_rows`` rows, ``sub_rows`` 其中 rows after the first, a total.

    ``wrap`` makes every first cell wrap onto several lines, ending in ``尾`` and the row number.
    """
    whole = 1234 * data_rows * (data_rows + 1) // 2
    rows: list[TableRow] = []
    for i in range(1, data_rows + 1):
        name = f"渠道{i:03d}" + (f"{'甲乙丙丁戊己庚辛壬癸' * 3}尾{i:03d}" if wrap else "")
        rows.append(TableRow((name, f"{1234 * i:,}", f"{share(1234 * i, whole)}")))
        if i == 1:
            rows += [
                TableRow((f"其中：来电{k}", f"{k * 11:,}", f"{share(k * 11, whole)}"), "sub")
                for k in range(1, sub_rows + 1)
            ]
    rows.append(TableRow(("合计", f"{whole:,}", "100.00"), "total"))
    columns = (
        TableColumn("渠道", "left"),
        TableColumn("件数", "right"),
        TableColumn("占比（%）", "right"),
    )
    return Table(number, f"表{number} 投诉渠道分布", columns, tuple(rows))


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
