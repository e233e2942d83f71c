"""What changed between two versions' documents: sections, sentences, figures, table cells.

Computed from the two document models (each version's payload built with today's templates),
so it can be shown for any pair of stored versions without storing it. Sections are compared by
their heading text in order (a heading found in both with other neighbours is ``moved``);
sentences (split after 。！？；) per document in reading order; figures by name; table cells by
table title (without its number), row label and column title.

What it cannot say: that a sentence was reworded rather than replaced (it is one removed, one
added), or which of two same-named rows moved.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from service.kinds import kind_named
from service.model import Document, Heading, Paragraph, Table
from service.readback.reading import figure_label

_SENTENCE = re.compile(r"(?<=[。！？；])")


def document_diff(before: Document, after: Document) -> dict[str, Any]:
    """The changes from ``before`` to ``after`` as JSON-ready lists."""
    return {
        "sections": list(_sections(before, after)),
        "sentences": list(_sentences(before, after)),
        "figures": [
            {
                "name": name,
                "label": figure_label(kind_named(after.meta.report_kind), name),
                "before": before.figures.get(name),
                "after": after.figures.get(name),
            }
            for name in sorted(set(before.figures) | set(after.figures))
            if before.figures.get(name) != after.figures.get(name)
        ],
        "cells": list(_cells(before, after)),
    }


def is_empty(diff: dict[str, Any]) -> bool:
    return not any(diff.values())


def _headings(document: Document) -> list[str]:
    return [b.full_text for b in document.blocks if isinstance(b, Heading)]


def _sections(before: Document, after: Document) -> Iterator[dict[str, Any]]:
    old = [b.text for b in before.blocks if isinstance(b, Heading)]
    new = [b.text for b in after.blocks if isinstance(b, Heading)]
    labels = dict(zip(new, _headings(after), strict=False))
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            removed += old[i1:i2]
        if tag in ("insert", "replace"):
            added += new[j1:j2]
    for title in removed:
        if title in added:
            yield {"change": "moved", "title": title, "heading": labels.get(title, title)}
        else:
            yield {"change": "removed", "title": title}
    for title in added:
        if title not in removed:
            yield {"change": "added", "title": title, "heading": labels.get(title, title)}


def _sentence_list(document: Document) -> list[tuple[str, str]]:
    """``(section heading, sentence)`` in reading order."""
    out: list[tuple[str, str]] = []
    section = ""
    for block in document.blocks:
        if isinstance(block, Heading):
            section = block.full_text
        elif isinstance(block, Paragraph) and block.role != "lead":
            out += [(section, s) for s in _SENTENCE.split(block.text) if s.strip()]
    return out


def _sentences(before: Document, after: Document) -> Iterator[dict[str, Any]]:
    old, new = _sentence_list(before), _sentence_list(after)
    matcher = difflib.SequenceMatcher(a=[s for _, s in old], b=[s for _, s in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            for section, text in old[i1:i2]:
                yield {"change": "removed", "section": section, "text": text}
        if tag in ("insert", "replace"):
            for section, text in new[j1:j2]:
                yield {"change": "added", "section": section, "text": text}


def _title(table: Table) -> str:
    return re.sub(r"^表\d+\s*", "", table.caption)


def _grid(table: Table) -> dict[tuple[str, str], str]:
    heads = [c.title for c in table.columns]
    return {
        (row.cells[0], head): cell
        for row in table.rows
        for head, cell in zip(heads[1:], row.cells[1:], strict=False)
    }


def _cells(before: Document, after: Document) -> Iterator[dict[str, Any]]:
    old = {_title(t): t for t in before.tables}
    new = {_title(t): t for t in after.tables}
    for title in list(old) + [t for t in new if t not in old]:
        a, b = old.get(title), new.get(title)
        if a is None or b is None:
            yield {"table": title, "change": "added" if a is None else "removed"}
            continue
        ga, gb = _grid(a), _grid(b)
        for key in list(ga) + [k for k in gb if k not in ga]:
            if ga.get(key) != gb.get(key):
                yield {
                    "table": title,
                    "row": key[0],
                    "column": key[1],
                    "before": ga.get(key),
                    "after": gb.get(key),
                }
