"""The parts of a 公文 (GB/T 9704-2012) a submission letter adds to a :class:`Document`.

A letter is a :class:`~service.model.document.Document` whose ``letter`` is a :class:`Letter`:
the document's ``title``, ``blocks`` and ``signature`` are the letter's 标题, 正文 and 署名 with
成文日期 (§7.3), and :class:`Letter` holds what stands around them: the 版头 (§7.2), the 主送机关,
the 附件说明, the 附注, the 版记 (§7.4) and the attachments carried in the same file (§8).

Every string here is printed as given (the report side formats dates and numbers); an absent
element is ``None`` or empty and is left out of the page. The writers compute nothing from these
but positions. The seal image (印章) is not part of the model: it belongs to the house style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.model.document import Document

FULL_COLON = "："


def reference_number(organ_code: str, year: int, number: int) -> str:
    """The 发文字号 (§7.2.4): 机关代字, year in 六角括号, serial number without leading zeros.

    ``reference_number("小康人寿发", 2024, 12)`` is ``小康人寿发〔2024〕12号``.
    """
    if number < 1:
        raise ValueError(f"发文顺序号 must be positive, got {number}")
    return f"{organ_code}〔{year}〕{number}号"


@dataclass(frozen=True, slots=True)
class LetterHead:
    """The 版头 (§7.2), every element printed as given.

    ``signers`` (签发人) makes the letter a 上行文 (an 请示 or 报告 to the regulator): the
    发文字号 then stands one character in from the left, level with the last signer's line, and
    the 签发人 one character in from the right. With no signers the 发文字号 is centred.
    """

    organ_mark: str
    """发文机关标志: the company name followed by 文件, or the name alone (red 小标宋, centred)."""
    reference: str
    """发文字号, as :func:`reference_number` writes it: ``小康人寿发〔2024〕12号``."""
    copy_number: str | None = None
    """份号: six Arabic digits, ``000001`` (§7.2.1); top left, first line."""
    secrecy: str | None = None
    """密级和保密期限: ``秘密★1年`` (§7.2.2); top left, second line (first without a 份号)."""
    urgency: str | None = None
    """紧急程度: ``特急`` or ``加急`` (§7.2.3); top left, under the 密级."""
    signers: tuple[str, ...] = ()
    """签发人 names (§7.2.5), one per line after the first; empty for a letter that is not a 上行文."""

    @property
    def upward(self) -> bool:
        """A 上行文: laid out with its 签发人 (§7.2.4, §7.2.5)."""
        return bool(self.signers)

    @property
    def corner_lines(self) -> tuple[str, ...]:
        """份号, 密级和保密期限 and 紧急程度 as printed top left, in this order, absent ones out."""
        return tuple(
            line for line in (self.copy_number, self.secrecy, self.urgency) if line is not None
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment: named in the 附件说明 (§7.3.3), and, when ``document`` is given, carried
    from a new page after the letter (§8), headed 附件 (with its number when there are several)
    in 3号黑体 top left and its ``title`` centred on the third line."""

    title: str
    """附件名称, no closing punctuation, as the 附件说明 prints it."""
    document: Document | None = None
    """The attachment's own text (the disclosure), or ``None`` for one only named. Its page
    shows ``document.title`` (with the model's line breaks) under the 附件 mark: §8 wants it to
    read as ``title`` does, which the report side ensures."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """The 版记 (§7.4): 抄送机关, then 印发机关 and 印发日期, between full-width lines.

    The first and last lines are 0.35 mm, the one between 抄送 and 印发 0.25 mm, and the last
    line stands on the bottom edge of the text block of the document's last page.
    """

    printer: str
    """印发机关: the office that prints the letter (``小康人寿保险有限责任公司办公室``)."""
    printed_on: str
    """印发日期 as printed, without 印发: ``2024年1月12日``."""
    copies_to: tuple[str, ...] = ()
    """抄送机关, in order; none for no 抄送 line."""

    @property
    def copies_to_text(self) -> str | None:
        """The 抄送 line: ``抄送：甲，乙。`` (names separated by full-width commas, a full stop
        after the last), or ``None`` without 抄送机关."""
        if not self.copies_to:
            return None
        return f"抄送{FULL_COLON}{'，'.join(self.copies_to)}。"

    @property
    def printed_on_text(self) -> str:
        """The 印发日期 as printed at the right: ``2024年1月12日印发``."""
        return f"{self.printed_on}印发"


@dataclass(frozen=True, slots=True)
class Letter:
    """What a 公文 has around its title, body and signature (see the module docstring)."""

    head: LetterHead
    addressee: str
    """主送机关 without its colon (``国家金融监督管理总局北京监管局``); printed flush left one line
    under the title, ending with a full-width colon (:attr:`addressee_text`)."""
    attachments: tuple[Attachment, ...] = ()
    note: str | None = None
    """附注 without its parentheses (``联系人：张三，电话：010-12345678``); printed in
    parentheses two characters in, one line under the 成文日期 (:attr:`note_text`)."""
    distribution: Distribution | None = None

    @property
    def addressee_text(self) -> str:
        return f"{self.addressee}{FULL_COLON}"

    @property
    def note_text(self) -> str | None:
        return None if self.note is None else f"（{self.note}）"

    @property
    def attachment_lines(self) -> tuple[str, ...]:
        """The 附件说明, one string per attachment: ``附件：名称`` for one attachment;
        ``附件：1. 甲`` then ``2. 乙`` for several (the writers hang the later lines under the
        first name, §7.3.3)."""
        if len(self.attachments) == 1:
            return (f"附件{FULL_COLON}{self.attachments[0].title}",)
        lines = []
        for number, attachment in enumerate(self.attachments, start=1):
            lead = f"附件{FULL_COLON}" if number == 1 else ""
            lines.append(f"{lead}{number}. {attachment.title}")
        return tuple(lines)

    def attachment_label(self, index: int) -> str:
        """The 附件 mark on the first line of carried attachment ``index`` (0-based): ``附件``
        alone for a single attachment, else ``附件1``, ``附件2`` (§8)."""
        return "附件" if len(self.attachments) == 1 else f"附件{index + 1}"

    @property
    def carried(self) -> tuple[tuple[str, Attachment, Document], ...]:
        """The attachments carried in the file, with their 附件 mark, in order."""
        return tuple(
            (self.attachment_label(i), a, a.document)
            for i, a in enumerate(self.attachments)
            if a.document is not None
        )

    def head_lines(self) -> tuple[str, ...]:
        """The 版头's text in reading order (for plain text and glyph coverage)."""
        head = self.head
        signers = (f"签发人{FULL_COLON}{'　'.join(head.signers)}",) if head.signers else ()
        return (*head.corner_lines, head.organ_mark, head.reference, *signers)

    def tail_lines(self) -> tuple[str, ...]:
        """Text after the signature in reading order: 附注, attachments, 版记."""
        lines: list[str] = []
        if self.note_text is not None:
            lines.append(self.note_text)
        for label, attachment, document in self.carried:
            lines += [label, attachment.title, document.plain_text()]
        if self.distribution is not None:
            if self.distribution.copies_to_text is not None:
                lines.append(self.distribution.copies_to_text)
            lines += [self.distribution.printer, self.distribution.printed_on_text]
        return tuple(lines)
