"""Document model: title, meta, a flat run of blocks (headings, paragraphs, tables), signature.

The model is flat on purpose: a heading carries its ladder ``level`` and its computed ``label``,
so a writer walks one list and never recomputes numbers. Text is plain Unicode (no markup); a
writer escapes it for its own format.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from service.model.letter import Letter

HeadingLevel = Literal[1, 2, 3, 4]
"""The rung of the official ladder: 1 = 一、, 2 = （一）, 3 = 1., 4 = （1）.

A heading is styled by its rung, not by its depth: a document whose ladder starts at （一）
has no level-1 headings, and its top headings keep the 楷体 of level 2.
"""

Align = Literal["left", "center", "right"]


@dataclass(frozen=True, slots=True)
class Heading:
    """A numbered heading. ``number`` is the 1-based count within its parent (restarts per parent)."""

    level: HeadingLevel
    number: int
    label: str
    """The printed marker with its punctuation: ``一、``, ``（一）``, ``1.``, ``（1）``."""
    text: str

    @property
    def full_text(self) -> str:
        """The heading as a reader sees it: marker then text, with no space between."""
        return f"{self.label}{self.text}"


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a paragraph prints a named figure: ``text[start:end]`` is its value.

    Marks say nothing of how the text looks; the DOCX writer keeps them as bookmarks so that an
    edited document can be read back (:mod:`service.readback`).
    """

    start: int
    end: int
    name: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A body paragraph: first line indented two characters, continuation lines at the margin.

    ``role`` is ``body`` for ordinary text, ``lead`` for the line under the title (for example
    the publication date, centred, no indent) and ``note`` for a note under a table.
    """

    text: str
    role: Literal["body", "lead", "note"] = "body"
    marks: tuple[Mark, ...] = field(default=(), compare=False)
    """The figures the text quotes, in order, not overlapping (see :class:`Mark`)."""
    origin: str = field(default="", compare=False)
    """Which part of the payload wrote the paragraph: ``""`` for the payload's own text, else
    the generated content's name (``insert:complaints.regulator.summary``)."""


@dataclass(frozen=True, slots=True)
class TableColumn:
    title: str
    align: Align


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of cells, already formatted (thousands separators, two-decimal shares).

    ``kind`` is ``data`` for a breakdown row, ``sub`` for a "其中" row (indented one character)
    and ``total`` for the 合计 row.
    """

    cells: tuple[str, ...]
    kind: Literal["data", "sub", "total"] = "data"


@dataclass(frozen=True, slots=True)
class Table:
    """A statistics table; ``caption`` is the full caption printed above it (``表1 …``)."""

    number: int
    caption: str
    columns: tuple[TableColumn, ...]
    rows: tuple[TableRow, ...]
    origin: str = field(default="", compare=False)
    """As :attr:`Paragraph.origin`: ``""`` for a table block of the payload."""


Block = Heading | Paragraph | Table


def width_in_chars(text: str) -> float:
    """The width of ``text`` in full-width characters: a Latin letter, digit or ASCII sign
    counts half (the body's Latin digits are half-width), anything else one."""
    return sum(0.5 if unicodedata.east_asian_width(c) in ("Na", "H") else 1.0 for c in text)


@dataclass(frozen=True, slots=True)
class SignaturePlacement:
    """Where the 署名 and 成文日期 stand: their right indents in characters of the body size.

    Both lines are set flush right with these indents, so a writer needs no text measure.
    """

    signer_right_chars: float
    date_right_chars: float
    blank_lines_before: int
    """Empty body lines between the text (or 附件说明) and the 署名."""


@dataclass(frozen=True, slots=True)
class Signature:
    """署名 and 成文日期, placed by :meth:`placement` as GB/T 9704 §7.3.5 says."""

    signer: str
    date_text: str

    def placement(self, sealed: bool = False, inset_chars: float = 2) -> SignaturePlacement:
        """GB/T 9704 §7.3.5.2 (no seal): one line under the text, the 署名 ``inset_chars`` (two)
        characters from the right; the 成文日期 on the next line, its first character two to the
        right of the 署名's first; a date that would then come nearer than ``inset_chars`` to
        the margin stands ``inset_chars`` from it, and the 署名 moves left with it.

        §7.3.5.1 (``sealed``): the 成文日期 four characters from the right, the 署名 centred
        over it; two empty lines above the 署名 leave room for the seal's top half, whose top
        stays within one line of the text.
        """
        signer, date_chars = width_in_chars(self.signer), width_in_chars(self.date_text)
        if sealed:
            date_right = 4.0
            return SignaturePlacement(max(0.0, date_right + (date_chars - signer) / 2), 4.0, 2)
        signer_right = max(inset_chars, date_chars + inset_chars + 2 - signer)
        return SignaturePlacement(signer_right, signer_right + signer - 2 - date_chars, 1)


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """Properties written into the PDF info dictionary and the DOCX core properties."""

    title: str
    author: str
    subject: str
    keywords: tuple[str, ...]
    language: str
    created: date
    report_kind: str
    report_year: int
    company_short_name: str
    template_version: str
    house_style: str


@dataclass(frozen=True, slots=True)
class Document:
    """One report, ready for the writers."""

    meta: DocumentMeta
    title: str
    """The printed title; ``\n`` marks a chosen line break (writers break the line there)."""
    blocks: tuple[Block, ...]
    signature: Signature | None = None
    figures: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Every computed figure by its dotted name, formatted as printed (for previews)."""
    letter: Letter | None = None
    """For a 公文 (a submission letter): its 版头, 主送机关, 附件说明, 附注, 版记 and carried
    attachments (:mod:`service.model.letter`); ``None`` for a disclosure."""

    @property
    def headings(self) -> tuple[Heading, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Heading))

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Table))

    def plain_text(self) -> str:
        """The document's text in reading order, one block per line (for parity and search)."""
        letter = self.letter
        lines = [*(letter.head_lines() if letter else ()), self.title]
        if letter:
            lines.append(letter.addressee_text)
        for block in self.blocks:
            if isinstance(block, Heading):
                lines.append(block.full_text)
            elif isinstance(block, Paragraph):
                lines.append(block.text)
            else:
                lines.append(block.caption)
                lines.append("\t".join(c.title for c in block.columns))
                lines.extend("\t".join(r.cells) for r in block.rows)
        if letter:
            lines += letter.attachment_lines
        if self.signature:
            lines += [self.signature.signer, self.signature.date_text]
        if letter:
            lines += letter.tail_lines()
        return "\n".join(lines)
