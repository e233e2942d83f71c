"""Rules of a submission letter beyond types: the title, the 发文字号's year, 份号 for a
classified letter, the 附件 and the dates."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from service.errors import FieldError
from service.kinds import annual, complaints
from service.kinds.letter.model import LetterPayload
from service.payload.rules import forbidden_characters, iter_texts

TITLE_PUNCTUATION = frozenset("《》、")
"""The only punctuation a 公文 title may hold (GB/T 9704 §7.3.1: 书名号 and 顿号 where needed)."""


def title_errors(title: str, senders: tuple[str, ...], genre: str) -> Iterator[FieldError]:
    """The title is 发文机关 + 事由 + 文种, with no punctuation but 书名号 and 顿号."""
    marks = [c for c in title if unicodedata.category(c).startswith("P")]
    wrong = [c for c in dict.fromkeys(marks) if c not in TITLE_PUNCTUATION]
    if wrong:
        shown = "".join(f"“{c}”" for c in wrong)
        yield FieldError(
            "$.title", "title_punctuation", f"标题不得使用标点{shown}：公文标题只可用书名号、顿号"
        )
    if not any(title.startswith(s) for s in senders):
        yield FieldError(
            "$.title",
            "title_without_sender",
            f"标题须以发文机关名称开头（{'或'.join(senders)}），如 {senders[0]}关于……的{genre}",
        )
    if not title.endswith(genre):
        yield FieldError(
            "$.title", "title_genre_mismatch", f"标题须以文种“{genre}”结尾，与 genre 一致"
        )


def rules(letter: LetterPayload) -> list[FieldError]:
    return list(_rules(letter))


def _rules(letter: LetterPayload) -> Iterator[FieldError]:
    company = letter.company
    senders = tuple(dict.fromkeys((company.full_name, company.short_name)))
    yield from title_errors(letter.title, senders, letter.genre)
    number = letter.document_number
    if number.year != letter.date.year:
        yield FieldError(
            "$.document_number.year",
            "document_number_year",
            f"发文字号年份{number.year}与成文日期{letter.date.isoformat()}不在同一年",
        )
    if letter.classification is not None and letter.copy_number is None:
        yield FieldError(
            "$.copy_number", "copy_number_missing", "涉密公文须标注份号（6位阿拉伯数字）"
        )
    if letter.printed_date is not None and letter.printed_date < letter.date:
        yield FieldError(
            "$.printed_date",
            "printed_before_written",
            f"印发日期{letter.printed_date.isoformat()}早于成文日期{letter.date.isoformat()}",
        )
    if letter.attachment is not None and not letter.attachments:
        yield FieldError(
            "$.attachments",
            "attachment_not_listed",
            "随文附有披露文档时，附件说明须列出其名称",
        )
    if letter.attachment is not None and letter.attachment.company.id != company.id:
        yield FieldError(
            "$.attachment.company.id",
            "attachment_company_mismatch",
            f"附件的公司标识“{letter.attachment.company.id}”与本函“{company.id}”不同",
        )
    yield from forbidden_characters(texts(letter, attachment=False))
    if letter.attachment is not None:
        for error in _attachment_rules(letter.attachment):
            yield FieldError("$.attachment" + error.path[1:], error.code, error.message)


def _attachment_rules(attachment: Any) -> list[FieldError]:
    kind = {k.name: k for k in (annual.KIND, complaints.KIND)}[attachment.kind]
    return kind.rules(attachment)


def texts(letter: Any, attachment: bool = False) -> Iterator[tuple[str, str]]:
    """Every free text of a letter with its JSON path; with ``attachment``, its 附件's texts
    too (under ``$.attachment``; the 附件's own checks read them otherwise)."""
    yield "$.company.full_name", letter.company.full_name
    yield "$.company.short_name", letter.company.short_name
    yield "$.title", letter.title
    yield "$.recipient", letter.recipient
    for name in ("issuer_mark", "signatory", "printed_by"):
        value = getattr(letter, name)
        if value:
            yield f"$.{name}", value
    yield "$.document_number.agency_code", letter.document_number.agency_code
    for field in ("signers", "body", "attachments", "copy_to"):
        for i, text in enumerate(getattr(letter, field)):
            yield f"$.{field}[{i}]", text
    yield "$.note.contact", letter.note.contact
    if attachment and letter.attachment is not None:
        for path, text in iter_texts(letter.attachment):
            yield "$.attachment" + path.removeprefix("$"), text


def part_rules(obj: dict[str, Any]) -> list[FieldError]:
    """The title check on an invalid letter, where the title, genre and company parse."""
    company = obj.get("company")
    if not isinstance(company, dict):
        return []
    names = tuple(
        n.strip()
        for n in (company.get("full_name"), company.get("short_name"))
        if isinstance(n, str) and n.strip()
    )
    genre, text = obj.get("genre"), obj.get("title")
    if genre in ("请示", "报告") and isinstance(text, str) and names:
        return list(title_errors(text.strip(), names, str(genre)))
    return []
