"""Named figures of a payload, formatted once as the document prints them.

Narrative quotes them as ``{training.participants}`` (the names of the kind's figures registry,
:attr:`service.kinds.Kind.figures`); the report template uses the same values,
and ``/v1/validate`` shows them for a last check. A literal brace is written ``{{`` or ``}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from service import kinds
from service.errors import FieldError

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_.0-9]*)\}|[{}]")


def compute_figures(payload: Any) -> dict[str, str]:
    """Every figure of ``payload``'s kind that it discloses (the kind's figures registry)."""
    return kinds.compute_figures(kinds.kind_named(payload.kind), payload)


def fill(text: str, figures: Mapping[str, str]) -> str:
    """Replace ``{name}`` by its figure; ``{{`` and ``}}`` stand for literal braces.

    Assumes :func:`unknown_placeholders` found nothing; an unknown name raises ``KeyError``.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token in ("{{", "}}"):
            return token[0]
        if match.group(1) is None:
            return token
        return figures[match.group(1)]

    return PLACEHOLDER.sub(replace, text)


def placeholder_errors(path: str, text: str, figures: dict[str, str]) -> Iterator[FieldError]:
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        if match.group() in ("{{", "}}"):
            continue
        if name is None:
            yield FieldError(
                path,
                "unmatched_brace",
                f"第{match.start() + 1}个字符处的花括号不成对；字面花括号请写作 {{{{ 或 }}}}",
            )
        elif name not in figures:
            known = "、".join(sorted(figures)) or "（无）"
            yield FieldError(
                path, "unknown_figure", f"引用了不存在的数据“{{{name}}}”；可用的有：{known}"
            )
