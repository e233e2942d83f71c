"""JSON paths of a payload in the words of a compliance officer, and errors placed at fields.

``$.figures.complaints.regulator.closed`` → “监管转办投诉 · 已办结件数”. With the payload at
hand, list elements are named by what they hold: ``…breakdowns[0].rows[1].count`` → “公司自收投诉
· 业务渠道分布表 · 第2行「互联网」 · 件数”.

:func:`field_rows` lays a payload out as labelled rows (narrative left out unless it has an
error) and puts each error on the row of its path, adding a row where the path is missing from
the payload (a missing field) — so a page can show every error beside the field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.errors import FieldError
from service.report.tables import DIMENSION_NAMES, METRIC_NAMES, SOURCE_NAMES

SEPARATOR = " · "
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")

_TOP = {
    "schema_version": "数据格式版本",
    "kind": "报告类型",
    "company": "公司",
    "report_year": "报告年度",
    "publish_date": "发布日期",
    "title": "标题",
    "signatory": "落款单位",
    "house_style": "版式方案",
    "ladder_start": "标题起始层级",
    "intro": "导语",
    "sections": "正文",
    "figures": "数据",
}
_COMPANY = {"id": "公司标识", "full_name": "公司全称", "short_name": "公司简称"}
_FIGURE_GROUPS = {"review": "消保审查", "training": "消保培训", "outreach": "消保教育宣传"}
_FIGURE_FIELDS = {
    "review": {"product": "涉及产品审查次数", "service": "涉及服务审查次数", "total": "合计次数"},
    "training": {
        "participants": "参训人次",
        "coverage": "培训覆盖率（%）",
        "yoy": "参训人次同比增长（%）",
    },
    "outreach": {"reach": "触达人次", "yoy": "触达人次同比增长（%）"},
}
_SOURCE_FIELDS = {
    "total": "投诉件数",
    "closed": "已办结件数",
    "period": "统计期间",
    "breakdowns": "分布表",
}
_BREAKDOWN_FIELDS = {"dimension": "统计维度", "title": "表题", "rows": "各行"}
_ROW_FIELDS = {"label": "名称", "count": "件数", "subrows": "其中各项"}
_METRIC_FIELDS = {"name": "指标", "value": "数值", "industry_median": "行业中位数"}
_GROUP_FIELDS = {
    "group_incidents": "群诉群访事件数",
    "major_cases": "社会影响较大的投诉案件数",
    "description": "说明",
}
_SECTION_FIELDS = {"title": "标题", "content": "内容", "sections": "下级章节"}

FIGURE_LABELS = {
    "report_year": "报告年度",
    "complaints.total": "投诉合计件数",
    "complaints.regulator.closed_rate": "监管转办投诉 · 办结率",
    "complaints.direct.closed_rate": "公司自收投诉 · 办结率",
}

GROUPS = (
    ("basic", "基本信息"),
    ("review", "消保审查"),
    ("training", "消保培训"),
    ("outreach", "消保教育宣传"),
    ("regulator", "监管转办投诉"),
    ("direct", "公司自收投诉"),
    ("relative_metrics", "相对指标"),
    ("group", "群诉群访"),
    ("figures", "其他数据"),
    ("narrative", "正文"),
    ("whole", "整体"),
)
GROUP_NAMES = dict(GROUPS)


def parse_path(path: str) -> list[str | int]:
    """``$.a.b[2].c`` → ``["a", "b", 2, "c"]``; anything unreadable is kept as one key."""
    rest = path.removeprefix("$")
    parts: list[str | int] = []
    pos = 0
    while pos < len(rest):
        match = _TOKEN.match(rest, pos)
        if match is None:
            parts.append(rest[pos:])
            break
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return parts


def _child(node: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return node[part] if isinstance(node, list) and 0 <= part < len(node) else None
    return node.get(part) if isinstance(node, dict) else None


def _quoted(text: Any, limit: int = 20) -> str:
    if not isinstance(text, str) or not text.strip():
        return ""
    text = text.strip()
    return f"「{text[:limit]}…」" if len(text) > limit else f"「{text}」"


def _unknown(part: str | int) -> str:
    return f"第{part + 1}项" if isinstance(part, int) else f"字段“{part}”"


def label(path: str, payload: Any = None) -> str:
    """A readable name for ``path`` (a JSON path as in :class:`FieldError`)."""
    parts = parse_path(path)
    if not parts:
        return "报送数据（整体）"
    head, rest = parts[0], parts[1:]
    if head == "sections":
        words: list[str] = []
        _label_sections(parts, payload, words)
        return SEPARATOR.join(words)
    if head == "figures":
        words = []
        _label_figures(rest, _child(payload, "figures"), words)
        return SEPARATOR.join(words)
    if head == "company":
        words = [_COMPANY[str(rest.pop(0))]] if rest and rest[0] in _COMPANY else ["公司"]
    elif head == "intro":
        words = ["导语"]
        if rest and isinstance(rest[0], int):
            words.append(f"第{int(rest.pop(0)) + 1}段")
    elif isinstance(head, str) and head in _TOP:
        words = [_TOP[head]]
    else:
        words = [_unknown(head)]
    words.extend(_unknown(p) for p in rest)
    return SEPARATOR.join(words)


def _label_sections(parts: Sequence[str | int], payload: Any, words: list[str]) -> None:
    node = payload
    numbers: list[int] = []
    title: Any = None
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "sections" and i + 1 < len(parts) and isinstance(parts[i + 1], int):
            node = _child(_child(node, "sections"), parts[i + 1])
            numbers.append(int(parts[i + 1]) + 1)
            title = _child(node, "title")
            i += 2
            continue
        break
    words.append("正文")
    if numbers:
        words.append("章节" + ".".join(map(str, numbers)) + _quoted(title))
    rest = list(parts[i:])
    if not numbers and rest and rest[0] == "sections":
        rest.pop(0)
    if not rest:
        return
    head = rest.pop(0)
    if head == "content" and rest and isinstance(rest[0], int):
        index = int(rest[0])
        rest = rest[1:]
        block = _child(_child(node, "content"), index)
        if isinstance(block, dict) and "table" in block and rest[:1] == ["table"]:
            words.append(f"第{index + 1}项（统计表{_quoted(_child(block['table'], 'title'))}）")
            words.extend(_table_words(rest[1:], block["table"]))
            return
        words.append(
            f"第{index + 1}项（生成内容）" if isinstance(block, dict) else f"第{index + 1}段"
        )
        if rest[:1] == ["insert"]:
            rest = rest[1:]
            words.append("生成内容名称")
    elif isinstance(head, str) and head in _SECTION_FIELDS and numbers:
        words.append(_SECTION_FIELDS[head])
    else:
        words.append(_unknown(head))
    words.extend(_unknown(p) for p in rest)


_TABLE_FIELDS = {
    "title": "表题",
    "label_title": "首列标题",
    "columns": "列",
    "rows": "行",
    "subrows": "其中",
    "values": "数值",
    "total": "合计行",
    "other_label": "“其他”行名称",
    "notes": "表注",
}


def _table_words(parts: Sequence[str | int], table: Any) -> list[str]:
    """``rows[1].values.n`` of a table block -> 行 · 第2项「公司自收」 · 数值 · 列“n”."""
    words: list[str] = []
    node = table
    for i, part in enumerate(parts):
        if isinstance(part, int):
            node = _child(node, part)
            words.append(
                f"第{part + 1}项" + _quoted(_child(node, "label") or _child(node, "title"))
            )
        elif i > 0 and parts[i - 1] == "values":
            words.append(f"列“{part}”")
        else:
            node = _child(node, part)
            words.append(_TABLE_FIELDS.get(part, _unknown(part)))
    return words


def _label_figures(parts: Sequence[str | int], figures: Any, words: list[str]) -> None:
    if not parts:
        words.append("数据")
        return
    head, rest = parts[0], list(parts[1:])
    node = _child(figures, head)
    if isinstance(head, str) and head in _FIGURE_GROUPS:
        words.append(_FIGURE_GROUPS[head])
        if rest:
            part = rest.pop(0)
            words.append(_FIGURE_FIELDS[head].get(str(part), _unknown(part)))
    elif head == "complaints":
        _label_complaints(rest, node, words)
        return
    else:
        words.extend(["数据", _unknown(head)])
    words.extend(_unknown(p) for p in rest)


def _label_complaints(parts: list[str | int], complaints: Any, words: list[str]) -> None:
    if not parts:
        words.append("投诉数据")
        return
    head = parts.pop(0)
    node = _child(complaints, head)
    if head in SOURCE_NAMES:
        words.append(f"{SOURCE_NAMES[str(head)]}投诉")
        if parts:
            _label_source(parts, node, words)
        return
    if head == "relative_metrics":
        words.append("相对指标")
        if parts and isinstance(parts[0], int):
            index = int(parts.pop(0))
            metric = _child(node, index)
            name = _child(metric, "name")
            words.append(
                METRIC_NAMES.get(name, f"第{index + 1}项")
                if isinstance(name, str)
                else f"第{index + 1}项"
            )
            if parts:
                part = parts.pop(0)
                words.append(_METRIC_FIELDS.get(str(part), _unknown(part)))
    elif head == "group":
        words.append("群诉群访")
        if parts:
            part = parts.pop(0)
            words.append(_GROUP_FIELDS.get(str(part), _unknown(part)))
    else:
        words.extend(["投诉数据", _unknown(head)])
    words.extend(_unknown(p) for p in parts)


def _label_source(parts: list[str | int], source: Any, words: list[str]) -> None:
    head = parts.pop(0)
    if head != "breakdowns":
        words.append(_SOURCE_FIELDS.get(str(head), _unknown(head)))
        words.extend(_unknown(p) for p in parts)
        return
    if not parts or not isinstance(parts[0], int):
        words.append("分布表")
        words.extend(_unknown(p) for p in parts)
        return
    index = int(parts.pop(0))
    breakdown = _child(_child(source, "breakdowns"), index)
    dimension = _child(breakdown, "dimension")
    if isinstance(dimension, str) and dimension in DIMENSION_NAMES:
        words.append(f"{DIMENSION_NAMES[dimension]}分布表")
    else:
        words.append(f"第{index + 1}个分布表")
    if not parts:
        return
    head = parts.pop(0)
    if head == "rows" and parts and isinstance(parts[0], int):
        row_index = int(parts.pop(0))
        row = _child(_child(breakdown, "rows"), row_index)
        words.append(f"第{row_index + 1}行{_quoted(_child(row, 'label'))}")
        if parts[:1] == ["subrows"] and len(parts) > 1 and isinstance(parts[1], int):
            sub_index = int(parts[1])
            del parts[:2]
            sub = _child(_child(row, "subrows"), sub_index)
            words.append(f"其中第{sub_index + 1}项{_quoted(_child(sub, 'label'))}")
        if parts:
            part = parts.pop(0)
            words.append(_ROW_FIELDS.get(str(part), _unknown(part)))
    else:
        words.append(_BREAKDOWN_FIELDS.get(str(head), _unknown(head)))
    words.extend(_unknown(p) for p in parts)


def figure_label(name: str) -> str:
    """A computed figure's name (``complaints.regulator.closed_rate``) in words."""
    if name in FIGURE_LABELS:
        return FIGURE_LABELS[name]
    prefix = "complaints.relative_metrics."
    if name.startswith(prefix):
        metric = name[len(prefix) :]
        return f"相对指标 · {METRIC_NAMES.get(metric, metric)}"
    return label("$.figures." + name).replace("（%）", "")


def group_of(path: str) -> str:
    parts = parse_path(path)
    if not parts:
        return "whole"
    head = parts[0]
    if head in ("intro", "sections"):
        return "narrative"
    if head != "figures":
        return "basic"
    if len(parts) < 2:
        return "figures"
    if parts[1] in ("review", "training", "outreach"):
        return str(parts[1])
    if parts[1] == "complaints" and len(parts) > 2 and parts[2] in (
        "regulator", "direct", "relative_metrics", "group",
    ):  # fmt: skip
        return str(parts[2])
    return "figures"


# --- payload → rows with their errors ------------------------------------------------------------

MAX_ROWS = 3000
_VALUE_CHARS = 120


@dataclass(slots=True)
class FieldRow:
    path: str
    label: str
    value: str
    present: bool
    errors: list[FieldError] = field(default_factory=list)

    @property
    def context(self) -> str:
        """The label up to its last part (``监管转办投诉``), shown quieter than :attr:`name`."""
        return self.label.rpartition(SEPARATOR)[0]

    @property
    def name(self) -> str:
        return self.label.rpartition(SEPARATOR)[2]

    @property
    def anchor(self) -> str:
        """An HTML id for the row (paths hold ``$ . [ ]``; ids should not)."""
        return "field-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.path.strip("$."))


@dataclass(slots=True)
class FieldGroup:
    key: str
    name: str
    rows: list[FieldRow]
    hidden: int = 0
    """Rows of the group left out by :func:`near_errors`."""

    @property
    def error_count(self) -> int:
        return sum(len(r.errors) for r in self.rows)


def show_value(value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return f"[{len(value)}项]"
    text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "…"


def _walk(node: Any, path: str, out: list[tuple[str, Any]]) -> None:
    if len(out) >= MAX_ROWS:
        return
    if isinstance(node, dict):
        if not node and path != "$":
            out.append((path, node))
        for key, value in node.items():
            if path == "$" and key in ("intro", "sections"):
                continue  # narrative is long: shown only where it has an error
            _walk(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        if not node:
            out.append((path, node))
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", out)
    else:
        out.append((path, node))


def _lookup(payload: Any, path: str) -> tuple[bool, Any]:
    node = payload
    for part in parse_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return False, None
        elif not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _common(a: list[str | int], b: list[str | int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def field_rows(payload: Any, errors: Iterable[FieldError]) -> list[FieldGroup]:
    """The payload's fields as labelled rows, grouped, each error on the row of its path.

    Narrative paragraphs only get a row when an error concerns them; an error for a path the
    payload does not have (a missing field) gets a row of its own next to its siblings.
    """
    pairs: list[tuple[str, Any]] = []
    if isinstance(payload, dict):
        _walk(payload, "$", pairs)
    rows = [FieldRow(p, label(p, payload), show_value(v), True) for p, v in pairs]
    by_path = {row.path: row for row in rows}
    for error in errors:
        row = by_path.get(error.path)
        if row is None:
            present, value = _lookup(payload, error.path)
            row = FieldRow(
                error.path,
                label(error.path, payload),
                show_value(value) if present else "（缺少）",
                present,
            )
            rows.insert(_position(rows, error.path), row)
            by_path[error.path] = row
        row.errors.append(error)
    groups: dict[str, list[FieldRow]] = {key: [] for key, _ in GROUPS}
    for row in rows:
        groups[group_of(row.path)].append(row)
    return [FieldGroup(key, GROUP_NAMES[key], rows) for key, rows in groups.items() if rows]


def parent_of(path: str) -> str:
    """``$.a.b[2].c`` → ``$.a.b[2]``; ``$.a`` → ``$``."""
    parts = parse_path(path)
    out = "$"
    for part in parts[:-1]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def near_errors(groups: list[FieldGroup]) -> list[FieldGroup]:
    """Only the groups with errors, and in them only the rows with errors, their siblings (same
    parent) and what lies inside a container that has an error; the rest is counted."""
    kept = []
    for group in groups:
        wrong = [r for r in group.rows if r.errors]
        if not wrong:
            continue
        parents = {parent_of(r.path) for r in wrong}
        inside = tuple(p for r in wrong for p in (r.path + ".", r.path + "["))
        rows = [
            r
            for r in group.rows
            if r.errors or parent_of(r.path) in parents or r.path.startswith(inside)
        ]
        kept.append(FieldGroup(group.key, group.name, rows, len(group.rows) - len(rows)))
    return kept


def _position(rows: list[FieldRow], path: str) -> int:
    """Before the first row inside ``path`` (a container), else after the last row that shares
    the longest prefix with it, else at the end."""
    for index, row in enumerate(rows):
        if row.path.startswith(path + ".") or row.path.startswith(path + "["):
            return index
    target = parse_path(path)
    best, where = 0, len(rows)
    for index, row in enumerate(rows):
        shared = _common(parse_path(row.path), target)
        if shared and shared >= best:
            best, where = shared, index + 1
    return where
