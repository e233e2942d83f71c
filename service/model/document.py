"""Document model: title, meta, a flat run of blocks (headings, paragraphs, tables), signature.

The model is flat on purpose: a heading carries its ladder ``level`` and its computed ``label``,
so a writer walks one list and never recomputes numbers. Text is plain Unicode (no markup); a
writer escapes it for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

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
class Paragraph:
    """A body paragraph: first line indented two characters, continuation lines at the margin.

    ``role`` is ``body`` for ordinary text, ``lead`` for the line under the title (for example
    the publication date, centred, no indent) and ``note`` for a note under a table.
    """

    text: str
    role: Literal["body", "lead", "note"] = "body"


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


Block = Heading | Paragraph | Table


@dataclass(frozen=True, slots=True)
class Signature:
    """Unsealed signature: the signer two characters from the right, the date on the next line."""

    signer: str
    date_text: str


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

    @property
    def headings(self) -> tuple[Heading, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Heading))

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Table))

    def plain_text(self) -> str:
        """The document's text in reading order, one block per line (for parity and search)."""
        lines = [self.title]
        for block in self.blocks:
            if isinstance(block, Heading):
                lines.append(block.full_text)
            elif isinstance(block, Paragraph):
                lines.append(block.text)
            else:
                lines.append(block.caption)
                lines.append("\t".join(c.title for c in block.columns))
                lines.extend("\t".join(r.cells) for r in block.rows)
        if self.signature:
            lines += [self.signature.signer, self.signature.date_text]
        return "\n".join(lines)
