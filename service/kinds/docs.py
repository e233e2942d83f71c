"""The figures tables of ``docs/payload.md``, written from the kinds' figures registries.

``docs/payload.md`` holds, for each kind, the table :func:`figures_table` writes between the
lines ``<!-- figures: KIND -->`` and ``<!-- /figures -->``; :func:`updated_payload_doc` rewrites
them (``pilu figures --write``) and a test fails when they are stale.
"""

from __future__ import annotations

import re

from service.kinds.kind import Kind
from service.kinds.registry import KINDS

_BLOCK = re.compile(r"(<!-- figures: ([a-z0-9-]+) -->\n).*?(<!-- /figures -->)", re.S)


def figures_table(kind: Kind) -> str:
    """The kind's figures as a Markdown table: name, Chinese name, unit, printed as, read from."""
    lines = ["| name | 名称 | unit | printed as | from |", "|---|---|---|---|---|"]
    for f in kind.figures:
        lines.append(f"| `{f.name}` | {f.label} | {f.unit or '—'} | {f.example} | `{f.source}` |")
    return "\n".join(lines) + "\n"


def updated_payload_doc(text: str) -> str:
    """``text`` (``docs/payload.md``) with every figures block written anew from the registry."""

    def block(match: re.Match[str]) -> str:
        return match.group(1) + figures_table(KINDS[match.group(2)]) + match.group(3)

    return _BLOCK.sub(block, text)
