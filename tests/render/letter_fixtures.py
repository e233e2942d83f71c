"""Letters built by hand for the writers' tests: a 上行文 submitting the disclosure, with every
element of GB/T 9704's 版头, 主体 and 版记 (no payload, no report template)."""

from __future__ import annotations

from dataclasses import replace

from service.model import (
    Attachment,
    Block,
    Distribution,
    Document,
    Letter,
    LetterHead,
    Paragraph,
    Signature,
    reference_number,
)
from service.model.title import break_title
from tests.render.model_fixtures import SENTENCE, SIGN_DATE, SIGNER, document, heading

LETTER_TITLE = "小康人寿保险有限责任公司关于报送2023年度消费者权益保护工作重大信息披露的报告"
ADDRESSEE = "国家金融监督管理总局北京监管局"
ORGAN_MARK = "小康人寿保险有限责任公司文件"
REFERENCE = reference_number("小康人寿发", 2024, 12)
ANNEX_TITLE = "小康人寿保险有限责任公司2023年度消费者权益保护工作重大信息披露"


def annex() -> Document:
    """The disclosure carried as the letter's 附件."""
    blocks: list[Block] = [
        Paragraph("发布时间：2024年1月12日", role="lead"),
        heading(1, 1, "消费者权益保护工作情况"),
        Paragraph(SENTENCE * 3),
        heading(1, 2, "消费投诉情况"),
        Paragraph(SENTENCE * 2),
    ]
    return document(
        blocks, title=break_title(ANNEX_TITLE, 20.1), signature=Signature(SIGNER, SIGN_DATE)
    )


def letter_head(**changes: object) -> LetterHead:
    head = LetterHead(
        organ_mark=ORGAN_MARK,
        reference=REFERENCE,
        copy_number="000001",
        secrecy=None,
        urgency="特急",
        signers=("张三",),
    )
    return replace(head, **changes)  # type: ignore[arg-type]


def letter(
    body_paragraphs: int = 2,
    carried: bool = True,
    copies_to: tuple[str, ...] = ("国家金融监督管理总局消费者权益保护局",),
    **head_changes: object,
) -> Document:
    """A submission letter: ``body_paragraphs`` of text, the disclosure carried as 附件 (or
    only named), a 附注 with the contact, and a 版记."""
    body = [Paragraph(SENTENCE) for _ in range(body_paragraphs)]
    base = document(
        body, title=break_title(LETTER_TITLE, 20.1), signature=Signature(SIGNER, SIGN_DATE)
    )
    parts = Letter(
        head=letter_head(**head_changes),
        addressee=ADDRESSEE,
        attachments=(Attachment(ANNEX_TITLE, annex() if carried else None),),
        note="联系人：王五，电话：010-12345678",
        distribution=Distribution(
            printer="小康人寿保险有限责任公司办公室",
            printed_on="2024年1月12日",
            copies_to=copies_to,
        ),
    )
    return replace(base, letter=parts)
