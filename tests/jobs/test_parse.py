"""Batch input parsing: formats, per-line errors, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import BatchInvalid
from service.jobs.parse import parse_batch, parse_folder

OK = b'{"company": {"id": "xiaokang-life"}, "report_year": 2023}'


@pytest.mark.parametrize(
    ("data", "companies", "problems"),
    [
        (OK + b"\n" + OK, ["xiaokang-life"] * 2, []),
        (b"\xef\xbb\xbf" + OK + b"\r\n\r\n" + OK + b"\r\n", ["xiaokang-life"] * 2, []),
        (OK + b"\n{broken\n", ["xiaokang-life", None], [(2, "malformed_json")]),
        (b"3\n" + OK, [None, "xiaokang-life"], [(1, "model_type")]),
        (b'{"company": {}}\n' + OK, [None, "xiaokang-life"], [(1, "missing")]),
        (b"[" + OK + b",\n  " + OK + b"]", ["xiaokang-life"] * 2, []),
        (
            b'[\n{"company": {"id": " "}},\n' + OK + b"\n]",
            [None, "xiaokang-life"],
            [(2, "missing")],
        ),
    ],
    ids=[
        "ndjson",
        "bom-crlf-blank",
        "bad-line",
        "not-object",
        "no-company",
        "array",
        "array-blank-id",
    ],
)
def test_items_and_problems(
    data: bytes, companies: list[str | None], problems: list[tuple[int, str]]
) -> None:
    parsed = parse_batch(data)
    assert [i.company_id for i in parsed.items] == companies
    assert [(p["line"], p["errors"][0]["code"]) for p in parsed.problems] == problems
    if problems:
        with pytest.raises(BatchInvalid) as caught:
            parsed.raise_for_problems()
        assert caught.value.details == parsed.problems
    else:
        parsed.raise_for_problems()


def test_items_keep_their_bytes() -> None:
    parsed = parse_batch(b"[ " + OK + b" ,\n" + OK.replace(b" ", b"") + b"]")
    assert [i.raw for i in parsed.items] == [OK, OK.replace(b" ", b"")]
    assert [i.source for i in parsed.items] == ["[0]", "[1]"]
    assert parse_batch(OK + b"  \n").items[0].raw == OK


def test_bad_line_message_names_line_and_column() -> None:
    problem = parse_batch(OK + b"\n\n{x}\n").problems[0]
    assert problem["source"] == "line 3"
    assert problem["errors"][0]["message"].startswith("第3行第2列")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"[]",
        b"[" + OK,
        b"[" + OK + b" " + OK + b"]",
        b"[" + OK + b"] trailing",
        b"[NaN]",
    ],
    ids=["empty", "blank", "empty-array", "unclosed", "no-comma", "trailing", "nan"],
)
def test_unusable_input(data: bytes) -> None:
    with pytest.raises(BatchInvalid):
        parse_batch(data)


def test_too_many_items() -> None:
    with pytest.raises(BatchInvalid) as caught:
        parse_batch(b"\n".join([OK] * 4), max_items=3)
    assert caught.value.details == {"max_items": 3}


def test_folder_items_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_bytes(OK)
    (tmp_path / "a.json").write_bytes(b"\xef\xbb\xbf" + OK)
    (tmp_path / "notes.txt").write_bytes(b"ignored")
    parsed = parse_folder(tmp_path)
    assert [i.source for i in parsed.items] == ["a.json", "b.json"]
    assert parsed.items[0].raw == OK
