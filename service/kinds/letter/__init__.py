"""The submission letter, ``submission-letter`` (报送函: a 请示 or 报告 in GB/T 9704-2012 form).

Its model is :mod:`.model` and its rules :mod:`.rules`; :mod:`service.report.letter` builds its
document (the 版头, 主体 and 版记 of :mod:`service.model.letter`), which both writers lay out in
GB/T 9704-2012 form, the disclosure it carries as 附件 included.
"""

from __future__ import annotations

from typing import Any

from service.kinds.kind import Kind, Naming
from service.kinds.letter.model import KIND_LABEL, KIND_NAME, LetterPayload
from service.kinds.letter.rules import part_rules, rules, texts
from service.kinds.letter.sample import SAMPLE


def naming(letter: Any) -> Naming:
    """Named by year and subject: ``小康人寿-2024-关于报送……的报告`` (the title without its sender)."""
    subject = letter.title
    for sender in (letter.company.full_name, letter.company.short_name):
        subject = subject.removeprefix(sender)
    return Naming(f"{letter.date.year}年", str(letter.date.year), "", subject or letter.genre)


KIND = Kind(
    name=KIND_NAME,
    label=KIND_LABEL,
    model=LetterPayload,
    figures=(),
    rules=rules,
    part_rules=part_rules,
    sample=SAMPLE,
    naming=naming,
    keywords=("报送函",),
    texts=texts,
    narrative=False,
)
