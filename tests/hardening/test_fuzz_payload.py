"""Property-based fuzzing of validation and both writers, from the published schema and from
mutations of the reference example.

The property, for any JSON a caller can send: validation answers either a valid payload or
``PayloadInvalid`` whose every error names a JSON path (``$…``) inside the payload; a valid
payload renders to a PDF and a DOCX. Nothing else may come out (no other exception, no
``RenderFailed`` for a payload validation accepted).

Counts are bounded for ``make test`` (``PILU_FUZZ_SCALE`` multiplies them); every run draws new
examples, and a failure prints the blob that replays it (``@reproduce_failure``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from service import pipeline
from service.errors import MalformedJSON, PayloadInvalid
from tests.hardening.conftest import fuzz_settings
from tests.hardening.support import ROOT, example

pytestmark = pytest.mark.slow

PUBLISHED_SCHEMA = json.loads((ROOT / "docs" / "payload.schema.json").read_text(encoding="utf-8"))
COVERED = (
    "消费者权益保护工作重大信息披露公司年度投诉件数合计小康人寿保险有限责任一二三四五六七八九十"
    "，。、：；（）“”《》！？—…·%ABCxyz0123456789 -_.,;:!?()[]<>&\"'/=+*#@$^|~`"
)
"""Characters every shipped face draws (checked by test_covered_alphabet_is_covered)."""

PUBLISHED_VALIDATOR = jsonschema.Draft202012Validator(
    PUBLISHED_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)

TALLY: Counter[str] = Counter()
"""Outcomes of every fuzz example of this module, printed by the last test (for the docs)."""


# --- strategies from the published schema -----------------------------------------------------

_METADATA = frozenset({"description", "title", "default", "examples", "$schema", "$id"})


def _without_metadata(node: Any, *, names: bool = False) -> Any:
    """``node`` without annotation keywords (they do not constrain, and hypothesis-jsonschema
    re-canonicalises every sub-schema it draws from: less to hash is faster). ``names`` marks a
    mapping of property or definition names, where ``title`` is a name, not a keyword."""
    if isinstance(node, list):
        return [_without_metadata(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _without_metadata(v) for k, v in node.items()}
    return {
        k: _without_metadata(v, names=k in ("properties", "$defs"))
        for k, v in node.items()
        if k not in _METADATA
    }


def _inlined(node: Any, defs: dict[str, Any], text_pattern: str | None) -> Any:
    """``node`` with every ``$ref`` replaced by its definition (the caller keeps recursion out);
    ``text_pattern`` is added to every free-text string (those with a ``maxLength``)."""
    if isinstance(node, list):
        return [_inlined(item, defs, text_pattern) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inlined(defs[node["$ref"].rsplit("/", 1)[-1]], defs, text_pattern)
    out = {k: _inlined(v, defs, text_pattern) for k, v in node.items() if k != "$defs"}
    if text_pattern and out.get("type") == "string" and "maxLength" in out:
        out["pattern"] = text_pattern
    return out


def published_payloads(text_pattern: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Payloads drawn from ``docs/payload.schema.json``, each of a disclosure kind (a branch of
    its union). hypothesis-jsonschema cannot follow the
    recursive ``Section``, so a section is drawn from its definition without ``sections`` and
    its sub-sections are added by ``st.recursive`` (any depth, a few sections in all); every
    other part comes from the schema as published. ``text_pattern`` narrows free text (see
    :func:`_inlined`) so that more payloads pass the glyph and brace rules and reach the writers.
    """
    schema = _without_metadata(PUBLISHED_SCHEMA)
    defs = schema["$defs"]
    leaf = copy.deepcopy(defs["Section"])
    del leaf["properties"]["sections"]
    section_leaf = from_schema(_inlined(leaf, defs, text_pattern))

    def with_sections(draws: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, Any]:
        node, children = draws
        return {**node, "sections": children} if children else node

    sections = st.recursive(
        section_leaf,
        lambda children: st.tuples(section_leaf, st.lists(children, max_size=3)).map(with_sections),
        max_leaves=8,
    )
    kinds = []
    for name in DISCLOSURE_DEFINITIONS:
        top = copy.deepcopy(defs[name])
        top["properties"]["sections"] = {"type": "array", "maxItems": 0}
        top_level = from_schema(_inlined(top, defs, text_pattern))
        kinds.append(st.tuples(top_level, st.lists(sections, max_size=4)).map(with_sections))
    return st.one_of(kinds)


DISCLOSURE_DEFINITIONS = ("AnnualPayload", "ComplaintPayload")
"""The branches of the published union with a narrative (the letter, whose 附件 is such a
payload, is drawn through them)."""


# --- the property -----------------------------------------------------------------------------

_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def path_parent_exists(document: Any, path: str) -> bool:
    """Whether every step of ``path`` but the last leads somewhere in ``document``."""
    assert path.startswith("$"), path
    steps = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _SEGMENT.finditer(path)
    ]
    assert "".join(f".{s}" if isinstance(s, str) else f"[{s}]" for s in steps) == path[1:], path
    node = document
    for step in steps[:-1]:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False
        elif not isinstance(node, dict) or step not in node:
            return False
        node = node[step]
    return True


def check_outcome(document: Any, raw: bytes, *, render: bool = True) -> str:
    """Validate ``raw`` (the JSON of ``document``) and, when valid, render it with both
    writers; returns the outcome for the tally. Any other outcome fails the test."""
    try:
        payload, model = pipeline.build(raw)
    except PayloadInvalid as exc:
        assert exc.errors, "PayloadInvalid without errors"
        for error in exc.errors:
            assert error.path.startswith("$"), error
            assert error.code and error.message, error
            if isinstance(document, dict):
                assert path_parent_exists(document, error.path), (error.path, exc.details)
        TALLY.update(f"code:{e.code}" for e in exc.errors)
        return "rejected"
    except MalformedJSON as exc:
        assert exc.details is not None
        return "malformed"
    if not render:
        return "valid"
    documents = pipeline.render_document(model)
    assert documents["pdf"].startswith(b"%PDF-"), payload.company
    assert documents["docx"].startswith(b"PK\x03\x04"), payload.company
    return "rendered"


def _record(kind: str, outcome: str) -> None:
    TALLY[f"{kind}:{outcome}"] += 1
    note(f"outcome: {outcome}")


@fuzz_settings(60)
@given(published_payloads())
def test_schema_payloads_are_validated_cleanly(document: dict[str, Any]) -> None:
    PUBLISHED_VALIDATOR.validate(document)  # the generator's side of the bargain
    raw = json.dumps(document, ensure_ascii=False).encode()
    _record("schema", check_outcome(document, raw, render=False))


def plausible(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` nudged past the cross-field rules a schema cannot state (sums, dates, a house
    style that exists, inserts whose figures are given), so that more of them reach the writers.
    Everything else stays as drawn."""
    document = copy.deepcopy(document)
    document["house_style"] = "gbt9704"
    document["publish_date"] = f"{document['report_year'] + 1}-01-15"
    figures = document.get("figures", {})
    if isinstance(figures.get("review"), dict):
        figures["review"]["total"] = None
    complaints = figures.get("complaints", {})
    for name in ("regulator", "direct"):
        source = complaints.get(name)
        if not isinstance(source, dict):
            continue
        seen: set[str] = set()
        breakdowns = []
        for breakdown in source.get("breakdowns", []):
            if breakdown["dimension"] in seen:
                continue
            seen.add(breakdown["dimension"])
            rows, labels = [], set()
            for row in breakdown["rows"]:
                if row["label"] in labels:
                    continue
                labels.add(row["label"])
                if row.get("subrows"):
                    row["count"] = sum(sub["count"] for sub in row["subrows"])
                rows.append(row)
            breakdown["rows"] = rows
            breakdowns.append(breakdown)
        if breakdowns:
            totals = {sum(r["count"] for r in b["rows"]) for b in breakdowns}
            breakdowns = [
                b for b in breakdowns if sum(r["count"] for r in b["rows"]) == min(totals)
            ]
            source["total"] = min(totals)
        source["breakdowns"] = breakdowns
        if source.get("closed") is not None:  # 已办结 may be left undisclosed (absent or null)
            source["closed"] = min(source["closed"], source["total"])
    return document


@fuzz_settings(20)
@given(published_payloads(text_pattern=f"^[{re.escape(COVERED)}]{{1,40}}$").map(plausible))
def test_schema_payloads_in_covered_text_render_with_both_writers(document: dict[str, Any]) -> None:
    raw = json.dumps(document, ensure_ascii=False).encode()
    _record("schema-covered", check_outcome(document, raw))


# --- mutations of the reference example -------------------------------------------------------


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of ``node``, containers included, the root excluded."""
    if path:
        yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))


HOSTILE_STRINGS = [
    "<script>alert(1)</script>",
    "</p><img src=file:///etc/passwd>",
    "url(http://127.0.0.1:9/x)",
    "{training.participants}",
    "{{字面}}",
    "{",
    "\u202e反向",
    "\x00",
    "\ud800",
    "连字\u2011符",
    "𠀀",
    "😀",
    "",
    " ",
    "文" * 5001,
]

numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=200),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**7),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["12.5", "1e3", "NaN", "-0", True, None]),
)
texts = st.one_of(
    st.text(alphabet=COVERED, min_size=1, max_size=60),
    st.text(max_size=30),
    st.sampled_from(HOSTILE_STRINGS),
)
"""What a mutation puts in place of a number or a string."""


@st.composite
def mutated_example(draw: st.DrawFn) -> dict[str, Any]:
    document = example()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        spots = list(leaves(document))
        path, value = draw(st.sampled_from(spots))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "delete", "retype"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "retype":
            parent[path[-1]] = draw(st.one_of(numbers, texts, st.just([]), st.just({})))
        elif isinstance(value, bool) or value is None or isinstance(value, (int, float, Decimal)):
            parent[path[-1]] = draw(numbers)
        elif isinstance(value, str):
            parent[path[-1]] = draw(texts)
        elif isinstance(value, list) and value:
            index = draw(st.integers(min_value=0, max_value=len(value) - 1))
            if draw(st.booleans()):
                del value[index]
            else:
                value.append(copy.deepcopy(value[index]))
        else:
            parent[path[-1]] = draw(st.one_of(numbers, texts))
    return document


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


@fuzz_settings(20)
@given(mutated_example())
def test_mutated_example_is_rejected_cleanly_or_renders(document: dict[str, Any]) -> None:
    _record("mutation", check_outcome(document, _json(document)))


@fuzz_settings(60)
@given(
    st.binary(max_size=300)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_arbitrary_bytes_are_malformed_or_invalid(raw: bytes) -> None:
    _record("bytes", check_outcome(None, raw))
    with contextlib.suppress(MalformedJSON, PayloadInvalid):
        pipeline.company_id(raw)


def test_covered_alphabet_is_covered() -> None:
    from service.style import load_house_style
    from service.style.coverage import uncovered_characters

    assert uncovered_characters(COVERED, load_house_style("gbt9704")) == []


def test_zz_print_fuzz_tally(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check: prints what the fuzz tests above tried (``pytest -s`` shows it)."""
    with capsys.disabled():
        outcomes = {k: v for k, v in sorted(TALLY.items()) if not k.startswith("code:")}
        codes = Counter({k[5:]: v for k, v in TALLY.items() if k.startswith("code:")})
        print(f"\nfuzz outcomes: {outcomes}\nrejection codes: {dict(codes.most_common(12))}")
