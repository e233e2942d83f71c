"""A submission letter's payload -> the document model of a 公文 (GB/T 9704-2012).

The letter's 标题, 正文 and 署名/成文日期 are the document's title, blocks and signature; the
版头, 主送机关, 附件说明, 附注 and 版记 are its :class:`service.model.Letter`; a disclosure given as
``attachment`` is built as any disclosure and carried as the first 附件 (§8). Dates print as
the house style says (2024年1月12日 by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.kinds.letter.model import LetterPayload
from service.model import (
    Attachment,
    Distribution,
    Document,
    DocumentMeta,
    Letter,
    LetterHead,
    Paragraph,
    Signature,
    reference_number,
)
from service.model.figures import printed_date
from service.model.title import break_title
from service.style import load_house_style

TITLE_CHARS = 19
"""Characters of 二号 小标宋 in one line of the 156 mm text block, less one for the margins a
centred title keeps."""
TEMPLATE_VERSION = "submission-letter/gbt9704-2012"


def build_letter(
    letter: LetterPayload,
    house_style: str | None,
    build_attachment: Callable[[Any, str], Document],
) -> Document:
    """The letter's document; ``build_attachment(payload, house_style)`` builds the disclosure
    it carries (the report builder, passed in so that this module does not import it)."""
    style_name = house_style or letter.house_style
    dates = load_house_style(style_name).dates
    company = letter.company
    classification = letter.classification
    secrecy = None
    if classification is not None:
        term = f"★{classification.term}" if classification.term else ""
        secrecy = f"{classification.level}{term}"
    number = letter.document_number
    head = LetterHead(
        organ_mark=letter.issuer_mark or company.full_name,
        reference=reference_number(number.agency_code, number.year, number.number),
        copy_number=letter.copy_number,
        secrecy=secrecy,
        urgency=letter.urgency,
        signers=tuple(letter.signers),
    )
    carried = (
        build_attachment(letter.attachment, style_name) if letter.attachment is not None else None
    )
    attachments = tuple(
        Attachment(name, carried if i == 0 else None) for i, name in enumerate(letter.attachments)
    )
    distribution = None
    if letter.printed_by and letter.printed_date:
        distribution = Distribution(
            printer=letter.printed_by,
            printed_on=printed_date(letter.printed_date, dates),
            copies_to=tuple(letter.copy_to),
        )
    parts = Letter(
        head=head,
        addressee=letter.recipient,
        attachments=attachments,
        note=f"联系人：{letter.note.contact}，电话：{letter.note.phone}",
        distribution=distribution,
    )
    meta = DocumentMeta(
        title=letter.title,
        author=company.full_name,
        subject=f"{letter.genre}：{letter.title}",
        keywords=(company.short_name, f"{letter.date.year}年", letter.genre, "报送函"),
        language="zh-CN",
        created=letter.date,
        report_kind=letter.kind,
        report_year=letter.date.year,
        company_short_name=company.short_name,
        template_version=TEMPLATE_VERSION,
        house_style=style_name,
    )
    return Document(
        meta=meta,
        title=break_title(letter.title, TITLE_CHARS),
        blocks=tuple(Paragraph(text) for text in letter.body),
        signature=Signature(
            letter.signatory or company.full_name, printed_date(letter.date, dates)
        ),
        letter=parts,
    )
