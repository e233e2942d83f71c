"""Documents and styles built by hand for the DOCX writer's tests (no payload, no template)."""

from __future__ import annotations

from typing import Literal

import pytest

from service.model import (
    Block,
    Document,
    Paragraph,
    Signature,
    Table,
)
from service.model.document import HeadingLevel
from service.render.docx import warm_up
from service.style import HouseStyle, load_house_style
from tests.render.model_fixtures import (
    SENTENCE,
    SIGN_DATE,
    SIGNER,
    breakdown_table,
    document,
    heading,
)

MIXED = "全年累计参与人数约1486人次，培训覆盖率为100%，同比增长11.56%，荟员服务体系覆盖客户3108人。"
LEAD = "发布时间：2024年1月12日"

GBT = load_house_style("gbt9704")


def style_with(
    mode: Literal["editable", "used", "full", "none"], base: HouseStyle = GBT
) -> HouseStyle:
    """``base`` with another ``docx.embed_fonts`` mode."""
    return base.model_copy(update={"docx": base.docx.model_copy(update={"embed_fonts": mode})})


def table(number: int, rows: int = 4, *, sub_rows: int = 2) -> Table:
    """A breakdown table: ``rows`` data rows, ``sub_rows`` 其中 rows after the first, a total."""
    return breakdown_table(
        number,
        rows,
        sub_rows=sub_rows,
        caption="公司自收投诉业务渠道分布",
        columns=("业务渠道", "件数", "占比"),
        name="渠道{}".format,
        percent_sign="%",
    )


def sample_document(ladder_start: HeadingLevel = 1) -> Document:
    """Every kind of block: lead, headings from ``ladder_start`` down to level 4, body text with
    Latin digits, two tables with sub and total rows, a note, a signature."""
    blocks: list[Block] = [Paragraph(LEAD, "lead"), Paragraph(SENTENCE * 2)]
    every_level: tuple[HeadingLevel, ...] = (1, 2, 3, 4)
    levels = [lv for lv in every_level if lv >= ladder_start]
    for n in (1, 2):
        for depth, level in enumerate(levels):
            blocks.append(
                heading(
                    level,
                    n if depth == 0 else 1,
                    ("重要政策", "重大举措", "消保审查", "员工培训")[level - 1],
                )
            )
            blocks.append(Paragraph(SENTENCE if depth % 2 else MIXED + SENTENCE))
        blocks += [table(n), Paragraph("注：数据来源于公司内部统计。", "note")]
    return document(blocks, signature=Signature(SIGNER, SIGN_DATE))


def numbering_document(count: int = 120) -> Document:
    """Headings 1..``count`` on each of the four levels, each level in its own run, then twelve
    （一）…（十二） under 一、 to show sub-levels restart."""
    blocks: list[Block] = [
        heading(level, n, "标题") for level in (1, 2, 3, 4) for n in range(1, count + 1)
    ]
    blocks.append(heading(1, count + 1, "标题"))
    blocks += [heading(2, n, "分项") for n in range(1, 13)]
    return document(blocks, title="编号测试")


def long_document(paragraphs: int = 12) -> Document:
    """Body text over several pages (odd and even footers), no lead line under the title."""
    return document([Paragraph(SENTENCE * 3) for _ in range(paragraphs)], title="长文档测试")


@pytest.fixture(scope="session")
def warm_docx_fonts() -> None:
    """Convert the house style's base glyphs into the disk cache once, on two processes.

    Cold, this costs ~27 s (five faces, GB2312 level 1); afterwards every process reads the
    converted glyphs from ``fonts/build/docx``.
    """
    warm_up(GBT, workers=2)
