"""Pydantic's validation errors in the words of a compliance officer, with JSON paths.

Codes are pydantic's error types (stable across its versions) except that every length or count
limit becomes ``limit_exceeded``, so a caller can tell "too big" from "wrong". Messages are in
Chinese only (pydantic's English text never reaches a user) and name what is allowed: the values
of a choice, the pattern of a code.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

from service.errors import FieldError
from service.payload.schema import COLUMN_TYPES

UNION_TAGS = frozenset(
    {"paragraph", "generated", "statistics-table"} | {f"column-{t}" for t in COLUMN_TYPES}
)
"""Branch names pydantic puts into an error location inside a content block (not JSON keys)."""

_LIMIT_TYPES = {"string_too_long", "too_long"}

_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段（请检查拼写）",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数，不能有小数",
    "decimal_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_max_digits": "数字位数过多（最多{max_digits}位）",
    "decimal_whole_digits": "数字整数部分位数过多",
    "greater_than": "须大于{gt}",
    "less_than": "须小于{lt}",
    "decimal_max_places": "小数位数过多（最多{decimal_places}位）",
    "greater_than_equal": "不得小于{ge}",
    "less_than_equal": "不得大于{le}",
    "string_type": "须为文字",
    "string_too_short": "不得为空",
    "string_too_long": "超过长度上限：最多{max_length}个字符",
    "string_pattern_mismatch": "格式不符合要求：须符合正则表达式 {pattern}",
    "too_short": "至少需要{min_length}项",
    "too_long": "超过数量上限：最多{max_length}项",
    "list_type": "须为数组",
    "model_type": "须为对象",
    "dict_type": "须为对象",
    "literal_error": "取值须为以下之一：{expected}",
    "date_type": "须为日期，格式为YYYY-MM-DD",
    "date_parsing": "须为日期，格式为YYYY-MM-DD",
    "date_from_datetime_parsing": "须为日期，格式为YYYY-MM-DD",
    "date_from_datetime_inexact": "须为日期，不能带时间",
    "bool_type": "须为true或false",
    "cell_type": "须为数字或文字",
    "column_type": "列类型 type 须为以下之一：" + "、".join(COLUMN_TYPES),
    "union_tag_invalid": '须为一段文字、形如 {"insert": "…"} 的生成内容或 {"table": {…}} 统计表',
    "union_tag_not_found": '须为一段文字、形如 {"insert": "…"} 的生成内容或 {"table": {…}} 统计表',
}


def json_path(loc: tuple[int | str, ...]) -> str:
    """``("sections", 0, "title")`` -> ``$.sections[0].title``; union branch names are dropped.

    A mapping's key that no path step could hold (empty, or with ``.``, ``[`` or ``]``), and a
    bad key itself (pydantic's ``(…, "values", key, "[key]")``), are reported at the mapping:
    ``….values``."""
    steps: list[str] = []
    for part in loc:
        if isinstance(part, int):
            steps.append(f"[{part}]")
        elif part in UNION_TAGS or part == "[key]" or part == "" or any(c in part for c in ".[]"):
            continue
        else:
            steps.append(f".{part}")
    if loc and loc[-1] == "[key]" and len(loc) >= 2 and f".{loc[-2]}" == (steps or [""])[-1]:
        steps.pop()
    return "$" + "".join(steps)


def _allowed_values(expected: str) -> str:
    """Pydantic's ``'a', 'b' or 'c'`` as a Chinese list: ``a、b、c``."""
    return "、".join(v.strip().strip("'") for v in expected.replace(" or ", ", ").split(", "))


def field_error_from_pydantic(error: ErrorDetails) -> FieldError:
    kind = error["type"]
    template = _MESSAGES.get(kind)
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "literal_error":
        ctx["expected"] = _allowed_values(str(ctx.get("expected", "")))
    if template is None:
        message = "取值无效"
    else:
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = template
    code = "limit_exceeded" if kind in _LIMIT_TYPES else kind
    if kind == "string_unicode":
        # A lone surrogate ("\ud800" in the JSON): pydantic refuses it before our rules see it;
        # report it as the rules report every other character a document cannot hold.
        code, message = (
            "forbidden_character",
            "含有不可用于公文的字符：孤立的代理项（U+D800–U+DFFF）",
        )
    return FieldError(json_path(tuple(error["loc"])), code, message)
