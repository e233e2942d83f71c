"""JSON paths of a payload in the words of a compliance officer, and errors placed at fields.

``$.figures.complaints.regulator.closed`` → “监管转办投诉 · 已办结件数”: each field by its title
in the published schema (:func:`service.kinds.payload_json_schema`), of the payload's kind. With the payload at
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
from functools import cache
from typing import Any

from service.errors import FieldError
from service.kinds import KINDS, payload_json_schema
from service.kinds.complaint_figures import METRIC_NAMES, SOURCES
from service.kinds.registry import DEFAULT_KIND
from service.report.tables import DIMENSION_NAMES

SEPARATOR = " · "
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


@cache
def _schema() -> dict[str, Any]:
    return payload_json_schema()


def _resolve(node: Any) -> dict[str, Any]:
    """``node`` with ``$ref`` followed and an optional (``anyOf`` with null) or list field's
    element taken, so that its ``properties`` can be read."""
    defs = _schema()["$defs"]
    while isinstance(node, dict):
        if "$ref" in node:
            node = defs[node["$ref"].removeprefix("#/$defs/")]
        elif "anyOf" in node:
            node = next((b for b in node["anyOf"] if b.get("type") != "null"), {})
        elif node.get("type") == "array" and "items" in node:
            node = node["items"]
        else:
            return node
    return {}


def _kind_root(payload: Any) -> dict[str, Any]:
    name = payload.get("kind") if isinstance(payload, dict) else None
    kind = KINDS.get(name) if isinstance(name, str) else None
    model = (kind or KINDS[DEFAULT_KIND]).model.__name__
    return dict(_schema()["$defs"][model])


def title_of(keys: Sequence[str], payload: Any = None, root: Any = None) -> str | None:
    """The schema's title of the field at ``keys`` (JSON keys, list indices left out) in the
    payload's kind, or below ``root`` (a schema node); ``None`` for no such field."""
    node: Any = _kind_root(payload) if root is None else root
    for key in keys:
        node = _property(_resolve(node), key)
        if node is None:
            return None
    title = node.get("title")
    return title if isinstance(title, str) else None


def _property(node: dict[str, Any], key: str) -> Any:
    """Property ``key`` of an object schema, or of the first branch of a union (``oneOf``, a
    table column's types) that has it."""
    if key in node.get("properties", {}):
        return node["properties"][key]
    for branch in node.get("oneOf", ()):
        found = _property(_resolve(branch), key)
        if found is not None:
            return found
    return None


def _figure_labels() -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in KINDS.values():
        for figure in kind.figures:
            out.setdefault(figure.name, figure.label)
    return out


FIGURE_LABELS = _figure_labels()
"""Every figure's Chinese name, from the kinds' figures registries."""

GROUPS = (
    ("basic", "基本信息"),
    *(
        (key, title_of(["figures", *path]) or key)
        for key, path in (
            ("review", ["review"]),
            ("training", ["training"]),
            ("outreach", ["outreach"]),
            ("regulator", ["complaints", "regulator"]),
            ("direct", ["complaints", "direct"]),
            ("relative_metrics", ["complaints", "relative_metrics"]),
            ("group", ["complaints", "group"]),
        )
    ),
    ("figures", "其他数据"),
    ("narrative", "正文"),
    ("whole", "整体"),
)
"""The console's groups of fields; a figure group is named by its field's title."""
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
        _label_figures(rest, _child(payload, "figures"), words, payload)
        return SEPARATOR.join(words)
    top = title_of([head], payload) if isinstance(head, str) else None
    if head == "company":
        name = (
            title_of(["company", rest[0]], payload) if rest and isinstance(rest[0], str) else None
        )
        if name:
            rest.pop(0)
        words = [name or top or "公司"]
    elif head == "intro":
        words = [top or "导语"]
        if rest and isinstance(rest[0], int):
            words.append(f"第{int(rest.pop(0)) + 1}段")
    elif top is not None:
        words = [top]
        _label_fields([str(head)], rest, payload, words)
        return SEPARATOR.join(words)
    else:
        words = [_unknown(head)]
    words.extend(_unknown(p) for p in rest)
    return SEPARATOR.join(words)


def _label_fields(
    keys: list[str], rest: Sequence[str | int], payload: Any, words: list[str]
) -> None:
    """The rest of a path below the field at ``keys``: each key by its schema title, each list
    element by its number."""
    keys = list(keys)
    for i, part in enumerate(rest):
        if isinstance(part, int):
            words.append(f"第{part + 1}项")
            continue
        name = title_of([*keys, part], payload)
        if name is None:
            words.extend(_unknown(p) for p in rest[i:])
            return
        keys.append(part)
        words.append(name)


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
    elif isinstance(head, str) and numbers and _section_title(head):
        words.append(_section_title(head))
    else:
        words.append(_unknown(head))
    words.extend(_unknown(p) for p in rest)


def _section_title(key: str) -> str:
    return title_of([key], root={"$ref": "#/$defs/Section"}) or ""


def _table_title(keys: Sequence[str]) -> str | None:
    """A table block's field by its schema title (``rows``, ``values`` … of TableSpec)."""
    return title_of(keys, root={"$ref": "#/$defs/TableSpec"})


def _table_words(parts: Sequence[str | int], table: Any) -> list[str]:
    """``rows[1].values.n`` of a table block -> 行 · 第2项「公司自收」 · 数值 · 列“n”."""
    words: list[str] = []
    node = table
    keys: list[str] = []
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
            keys.append(part)
            words.append(_table_title(keys) or _unknown(part))
    return words


def _label_figures(
    parts: Sequence[str | int], figures: Any, words: list[str], payload: Any = None
) -> None:
    if not parts:
        words.append("数据")
        return
    head, rest = parts[0], list(parts[1:])
    node = _child(figures, head)
    group = title_of(["figures", head], payload) if isinstance(head, str) else None
    if head != "complaints" and group is not None:
        words.append(group)
        if rest:
            part = rest.pop(0)
            name = (
                title_of(["figures", str(head), part], payload) if isinstance(part, str) else None
            )
            words.append(name or _unknown(part))
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
    title = title_of(["figures", "complaints", head]) if isinstance(head, str) else None
    if head in SOURCES:
        words.append(title or str(head))
        if parts:
            _label_source(parts, node, words)
        return
    if head == "relative_metrics":
        words.append(title or str(head))
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
                words.append(_complaints_title(["relative_metrics", part]) or _unknown(part))
    elif head == "group":
        words.append(title or str(head))
        if parts:
            part = parts.pop(0)
            words.append(_complaints_title(["group", part]) or _unknown(part))
    else:
        words.extend(["投诉数据", _unknown(head)])
    words.extend(_unknown(p) for p in parts)


def _complaints_title(keys: Sequence[str | int]) -> str | None:
    """A field below ``figures.complaints`` by its schema title (the same in every kind)."""
    if not all(isinstance(k, str) for k in keys):
        return None
    return title_of([str(k) for k in keys], root={"$ref": "#/$defs/Complaints"})


def _source_title(keys: Sequence[str | int]) -> str | None:
    return _complaints_title(["regulator", *keys])


def _label_source(parts: list[str | int], source: Any, words: list[str]) -> None:
    head = parts.pop(0)
    if head != "breakdowns":
        words.append(_source_title([head]) or _unknown(head))
        words.extend(_unknown(p) for p in parts)
        return
    if not parts or not isinstance(parts[0], int):
        words.append(_source_title(["breakdowns"]) or "breakdowns")
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
        sub_row = False
        if parts[:1] == ["subrows"] and len(parts) > 1 and isinstance(parts[1], int):
            sub_index = int(parts[1])
            del parts[:2]
            sub = _child(_child(row, "subrows"), sub_index)
            words.append(f"其中第{sub_index + 1}项{_quoted(_child(sub, 'label'))}")
            sub_row = True
        if parts:
            part = parts.pop(0)
            in_sub = "subrows" if sub_row else None
            keys = ["breakdowns", "rows", *([in_sub] if in_sub else []), part]
            words.append(_source_title(keys) or _unknown(part))
    else:
        words.append(_source_title(["breakdowns", head]) or _unknown(head))
    words.extend(_unknown(p) for p in parts)


def figure_label(name: str) -> str:
    """A figure's name (``complaints.regulator.closed_rate``) in words, from the kinds' figures
    registries."""
    return FIGURE_LABELS.get(name, name)


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
