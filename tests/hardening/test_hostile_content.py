"""Hostile content in every text field: each is refused with a clear 4xx, or rendered as inert
text, and no render reads a file outside the service's assets or opens a connection.

What is watched while a hostile payload renders (in this process, both writers):

* a Python audit hook (``sys.addaudithook``) records every ``open`` and every socket, URL,
  subprocess and exec event: opened paths must lie under ``templates/``, ``fonts/``, the
  service's code or the Python installation; no network or process event may happen;
* the PDF writer's URL fetcher is wrapped: only ``file:`` URLs under ``templates/``/``fonts/``;
* a sentinel file, named by ``file://`` URL in every field, keeps its access time at 0 (the
  file system is mounted ``relatime``, so any read by any code, C libraries included, moves it);
* a loopback listener, named by ``http://127.0.0.1:PORT/`` in every field, receives nothing.

The same payloads go through the API of the session server (other processes: the sentinel and
the listener watch them too), which must answer 200 or a 4xx with the error shape.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from service import FONTS_DIR, TEMPLATES_DIR, pipeline
from service.errors import MalformedJSON, PayloadInvalid, PiluError
from service.payload.schema import MAX_ROWS
from service.render.pdf import fetcher
from tests.hardening.support import ROOT, Server, auth, dumps, example, http
from tests.render.pdf_reading import text as pdf_text

pytestmark = pytest.mark.slow

# --- every free-text field --------------------------------------------------------------------

NARRATIVE = ("intro", "content")
"""Fields where ``{name}`` quotes a figure: braces in hostile text are doubled there."""


def text_fields(document: dict[str, Any]) -> list[tuple[str, Callable[[str], None]]]:
    """(JSON path, setter) of every free-text field of the reference example, one of each kind
    (the test below proves no kind of text field is missing)."""
    figures = document["figures"]["complaints"]
    direct = figures["direct"]
    breakdown = direct["breakdowns"][0]
    row = next(r for r in breakdown["rows"] if r.get("subrows"))
    section = document["sections"][0]["sections"][0]
    row_path = f"$.figures.complaints.direct.breakdowns[0].rows[{breakdown['rows'].index(row)}]"
    block = next(
        i for i, b in enumerate(section["content"]) if isinstance(b, dict) and "table" in b
    )
    table = section["content"][block]["table"]
    table_path = f"$.sections[0].sections[0].content[{block}].table"
    columns = {column["type"]: (i, column) for i, column in enumerate(table["columns"])}
    table_row = next(r for r in table["rows"] if r.get("subrows"))
    table_row_path = f"{table_path}.rows[{table['rows'].index(table_row)}]"
    fields: list[tuple[str, Any, Any]] = [
        ("$.company.full_name", document["company"], "full_name"),
        ("$.company.short_name", document["company"], "short_name"),
        ("$.title", document, "title"),
        ("$.signatory", document, "signatory"),
        ("$.intro[0]", document["intro"], 0),
        ("$.sections[0].title", document["sections"][0], "title"),
        ("$.sections[0].sections[0].content[0]", section["content"], 0),
        ("$.figures.complaints.direct.period", direct, "period"),
        ("$.figures.complaints.direct.breakdowns[0].title", breakdown, "title"),
        (f"{row_path}.label", row, "label"),
        (f"{row_path}.subrows[0].label", row["subrows"][0], "label"),
        ("$.figures.complaints.group.description", figures["group"], "description"),
        (f"{table_path}.title", table, "title"),
        (f"{table_path}.label_title", table, "label_title"),
        (f"{table_path}.other_label", table, "other_label"),
        (f"{table_path}.notes[0]", table["notes"], 0),
        (f"{table_row_path}.label", table_row, "label"),
        (f"{table_row_path}.subrows[0].label", table_row["subrows"][0], "label"),
    ]
    for kind in ("text", "count", "amount", "decimal", "percent", "share", "change"):
        index, column = columns[kind]
        fields.append((f"{table_path}.columns[{index}].title", column, "title"))
        if "unit" in column:
            fields.append((f"{table_path}.columns[{index}].unit", column, "unit"))

    def setter(container: Any, key: Any) -> Callable[[str], None]:
        def put(value: str) -> None:
            container[key] = value

        return put

    return [(path, setter(container, key)) for path, container, key in fields]


SHORT_FIELDS = (
    "full_name", "short_name", "$.title", "signatory", "].title", "period", "label",
    "table.title", "label_title", "unit",
)  # fmt: skip
"""Paths of fields of at most 200 characters (the others take 5,000)."""


def hostile_table_block() -> dict[str, Any]:
    """A table block with every column type and every free-text field of a table (a ranking:
    rows, one with 其中 subrows, an 其他 row against a given total, and a note)."""
    return {
        "table": {
            "title": "表题",
            "label_title": "行名",
            "columns": [
                {"key": "t", "title": "文字", "type": "text"},
                {"key": "n", "title": "件数", "type": "count"},
                {"key": "amount", "title": "金额", "type": "amount", "unit": "万元"},
                {"key": "ratio", "title": "比率", "type": "decimal", "places": 2, "unit": "件/亿元"},
                {"key": "rate", "title": "成功率", "type": "percent"},
                {"key": "share", "title": "占比", "type": "share", "of": "n"},
                {"key": "last", "title": "上年件数", "type": "count"},
                {"key": "change", "title": "同比增减", "type": "change", "of": "n", "base": "last"},
            ],
            "rows": [
                {
                    "label": "甲",
                    "values": {
                        "t": "说明", "n": 5, "amount": 1.5, "ratio": 0.5, "rate": 50, "last": 4,
                    },
                    "subrows": [
                        {
                            "label": "甲一",
                            "values": {
                                "t": "说明", "n": 2, "amount": 1, "ratio": 0.25, "rate": 50,
                                "last": 1,
                            },
                        }
                    ],
                    "subrows_partial": True,
                },
                {
                    "label": "乙",
                    "values": {"t": "说明", "n": 3, "amount": 2, "ratio": 1.25, "rate": 100, "last": 3},
                },
            ],
            "other_label": "其他",
            "total": {"label": "合计", "values": {"n": 10, "amount": 5, "last": 9}},
            "notes": ["注1：说明。"],
        }
    }  # fmt: skip


def hostile_everywhere(value: str, short: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The reference example with ``value`` in every text field (``short``, if given, in the
    fields of at most 200 characters); the paths written."""
    document = example()
    document["sections"][0]["sections"][0]["content"].append(hostile_table_block())
    document["figures"]["complaints"]["group"] = {
        "group_incidents": 1,
        "major_cases": 0,
        "description": "说明",
    }
    paths = []
    for path, put in text_fields(document):
        narrative = ".table." not in path and any(part in path for part in NARRATIVE)
        text = short if short is not None and path.endswith(SHORT_FIELDS) else value
        put(text.replace("{", "{{").replace("}", "}}") if narrative else text)
        paths.append(path)
    return document, paths


def _reachable(schema: dict[str, Any], name: str) -> list[str]:
    """The definitions ``name`` refers to, itself included, each once."""
    found: list[str] = []

    def refs(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target = ref.removeprefix("#/$defs/")
                if target not in found:
                    found.append(target)
                    refs(schema["$defs"][target])
            for value in node.values():
                refs(value)
        elif isinstance(node, list):
            for item in node:
                refs(item)

    refs({"$ref": f"#/$defs/{name}"})
    return found


def test_text_fields_cover_every_kind_of_free_text() -> None:
    """Every string of the annual disclosure's schema that is free text (has a maxLength) is in
    text_fields (the complaint disclosure's free texts are fields of the same definitions)."""
    schema = pipeline.payload_json_schema()
    kinds: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "maxLength" in node:
                kinds.add(where)
            for key, value in node.items():
                walk(value, where if key in ("anyOf", "oneOf", "items") else key)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for name in _reachable(schema, "AnnualPayload"):
        for prop, sub in schema["$defs"][name].get("properties", {}).items():
            walk(sub, f"{'Payload' if name == 'AnnualPayload' else name}.{prop}")
    expected = {
        "Company.full_name", "Company.short_name", "Payload.title", "Payload.signatory",
        "Payload.intro", "Section.title", "Section.content", "ComplaintSource.period",
        "Breakdown.title", "BreakdownRow.label", "BreakdownSubRow.label",
        "GroupComplaints.description", "TableSpec.title", "TableSpec.label_title",
        "TableSpec.other_label", "TableSpec.notes", "TableRowSpec.label", "TableSubRow.label",
        "TextColumn.title", "CountColumn.title", "AmountColumn.title", "AmountColumn.unit",
        "DecimalColumn.title", "DecimalColumn.unit", "PercentColumn.title", "ShareColumn.title",
        "ChangeColumn.title",
    }  # fmt: skip
    assert kinds == expected
    _, paths = hostile_everywhere("x")
    assert len(paths) == len(expected)


# --- watching a render ------------------------------------------------------------------------

_recording: list[tuple[str, Any]] | None = None
_hook_installed = False
WATCHED_EVENTS = frozenset(
    {
        "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
        "socket.sendto", "urllib.Request", "http.client.connect", "ftplib.connect",
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
        "ctypes.dlopen", "webbrowser.open",
    }
)  # fmt: skip


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recording = _recording
    if recording is None or threading.current_thread() is not threading.main_thread():
        return
    if event == "open":
        recording.append(("open", args[0]))
    elif event in WATCHED_EVENTS:
        recording.append((event, args))


def allowed_roots() -> tuple[Path, ...]:
    """Where a render may open files: our assets and code, Python, the folder where
    WeasyPrint's font configuration writes the @font-face files it loads (from fonts/), the
    project's own caches (jieba's dictionary, read on the first title that needs breaking) and
    its installed metadata (the library versions of the manifest)."""
    from service.model.title import DICTIONARY_CACHE_DIR
    from service.render.pdf.engine import font_config

    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    weasyprint_folder = getattr(font_config(), "_folder", None)
    return (
        TEMPLATES_DIR.resolve(),
        FONTS_DIR.resolve(),
        (ROOT / "service").resolve(),
        DICTIONARY_CACHE_DIR.resolve(),
        *(p.resolve() for p in ROOT.glob("*.egg-info")),
        *(Path(p).resolve() for p in prefixes),
        *([Path(weasyprint_folder).resolve()] if weasyprint_folder else []),
    )


class Watch:
    """What one render touched: files opened, other audited events, URLs fetched."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.urls: list[str] = []

    def opened(self) -> list[Path]:
        paths = []
        for event, arg in self.events:
            if event == "open" and isinstance(arg, (str, bytes, os.PathLike)):
                paths.append(Path(os.fsdecode(arg)).resolve())
        return paths

    def assert_confined(self) -> None:
        roots = allowed_roots()
        outside = [p for p in self.opened() if not any(p.is_relative_to(r) for r in roots)]
        assert not outside, f"files opened outside the service's assets: {outside}"
        others = [(event, arg) for event, arg in self.events if event != "open"]
        assert not others, f"network, process or library events during a render: {others}"
        asset_roots = (TEMPLATES_DIR.resolve(), FONTS_DIR.resolve())
        for url in self.urls:
            assert url.startswith("file://"), url
            path = fetcher.ClosedURLFetcher().resolve(url)
            assert any(path.is_relative_to(r) for r in asset_roots), url


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Any]]:
    """``with watch() as seen:`` records what the code inside does (main thread only)."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)  # cannot be removed: it records only inside a watch()
        _hook_installed = True
    original = fetcher.ClosedURLFetcher.fetch
    seen_urls: list[str] = []

    def fetch(self: Any, url: str, headers: Any = None) -> Any:
        seen_urls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(fetcher.ClosedURLFetcher, "fetch", fetch)

    class _Context:
        def __enter__(self) -> Watch:
            global _recording
            self.watch = Watch()
            seen_urls.clear()
            _recording = self.watch.events
            return self.watch

        def __exit__(self, *exc: object) -> None:
            global _recording
            _recording = None
            self.watch.urls = list(seen_urls)

    yield _Context


@pytest.fixture
def sentinel() -> Iterator[Path]:
    """A file whose access time is 0: any read of it (by any code) sets it to now. Its path is
    short, so that hostile values naming it fit fields of 200 characters."""
    with tempfile.TemporaryDirectory(prefix="s") as folder:
        path = Path(folder) / "secret"
        path.write_text("SENTINEL-SECRET-CONTENT\n")
        os.utime(path, (0, path.stat().st_mtime))
        yield path
        assert path.stat().st_atime == 0, "the sentinel file was read"


@pytest.fixture
def listener() -> Iterator[int]:
    """A loopback port that must never receive a connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        yield sock.getsockname()[1]
        try:
            connection, peer = sock.accept()
        except BlockingIOError:
            return
        connection.close()
        raise AssertionError(f"a connection was attempted to the listener from {peer}")


def test_the_sentinel_would_notice_a_read(tmp_path: Path) -> None:
    """The access-time check works on this file system (relatime updates an old atime)."""
    path = tmp_path / "probe"
    path.write_text("x")
    os.utime(path, (0, path.stat().st_mtime))
    path.read_text()
    assert path.stat().st_atime > 0


def test_the_watch_would_notice_a_file_and_a_connection(watch: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    with socket.socket() as server, watch() as seen:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        outside.read_text()
        with socket.socket() as client:
            client.connect(server.getsockname())
    with pytest.raises(AssertionError, match="outside the service's assets"):
        seen.assert_confined()
    assert {"socket.bind", "socket.connect"} <= {event for event, _ in seen.events}


# --- what a document may not contain ----------------------------------------------------------

ACTIVE_PDF_KEYS = frozenset(
    {"/URI", "/JS", "/JavaScript", "/Launch", "/OpenAction", "/AA", "/SubmitForm", "/ImportData",
     "/GoToR", "/GoToE", "/RichMedia", "/XFA", "/Annots"}
)  # fmt: skip
OWN_ATTACHMENTS = frozenset({"payload.json", "manifest.json"})
"""The files a PDF/A-3 document carries: the payload it was made from and its render manifest.
No other file may be embedded (a hostile payload must not smuggle one in)."""


def pdf_keys(pdf: bytes) -> set[str]:
    """Every dictionary key of every object reachable from the PDF's trailer."""
    reader = PdfReader(io.BytesIO(pdf))
    keys: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            keys.update(str(k) for k in node)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return keys


def assert_inert_pdf(pdf: bytes) -> None:
    active = pdf_keys(pdf) & ACTIVE_PDF_KEYS
    assert not active, f"the PDF has active content: {active}"
    attached = set(PdfReader(io.BytesIO(pdf)).attachments)
    assert attached <= OWN_ATTACHMENTS, f"the PDF embeds files of its own: {attached}"


def assert_inert_docx(docx: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        names = package.namelist()
        assert not [n for n in names if "vba" in n.lower() or n.endswith(".bin")], names
        for name in names:
            data = (
                package.read(name).decode("utf-8", "replace") if not name.endswith(".odttf") else ""
            )
            if name.endswith(".rels"):
                assert 'TargetMode="External"' not in data, name
            if name.endswith(".xml"):
                assert "<!ENTITY" not in data and "<!DOCTYPE" not in data, name
                for instruction in re.findall(r"<w:instrText[^>]*>([^<]*)<", data):
                    assert instruction.strip().split()[0] in ("PAGE", "NUMPAGES"), instruction
                assert "w:fldSimple" not in data or 'w:instr="PAGE' in data, name


# --- accepted hostile text: rendered as text, confined -----------------------------------------

ACCEPTED = {
    "html-js": (
        '<script>alert(1)</script><img src="file://{sentinel}" onerror="alert(2)">'
        '<a href="javascript:alert(3)">点此</a><iframe src="http://127.0.0.1:{port}/frame"></iframe>'
    ),
    "css": (
        "<style>@import url(http://127.0.0.1:{port}/a.css); body {{ background: "
        'url(file://{sentinel}) }}</style><p style="background:url(http://127.0.0.1:{port}/b)">'
    ),
    "urls": (
        "file://{sentinel} http://127.0.0.1:{port}/x url(file://{sentinel}) "
        'url("http://127.0.0.1:{port}/y") //127.0.0.1:{port}/z'
    ),
    "xml": ']]><!DOCTYPE x [<!ENTITY e SYSTEM "file://{sentinel}">]>&e;&amp;&#0;&#x1F600;',
    "word-fields": '{{ INCLUDETEXT "file://{sentinel}" }} {{ HYPERLINK "http://127.0.0.1:{port}/" }}',
    "whitespace": "制表\t换行\n回车\r\n全角\u3000空格",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_hostile_text_renders_as_inert_text_without_reaching_out(
    name: str, watch: Any, sentinel: Path, listener: int
) -> None:
    value = ACCEPTED[name].format(sentinel=sentinel, port=listener)
    document, _ = hostile_everywhere(value)
    raw = dumps(document)
    with watch() as seen:
        outputs = pipeline.render_payload(raw)
    seen.assert_confined()
    assert_inert_pdf(outputs["pdf"])
    assert_inert_docx(outputs["docx"])
    if name == "html-js":
        printed = re.sub(r"\s+", "", pdf_text(outputs["pdf"]))
        assert "<script>alert(1)</script>" in printed  # text on the page, not markup
        with zipfile.ZipFile(io.BytesIO(outputs["docx"])) as package:
            body = package.read("word/document.xml").decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_closed_fetcher_refuses_what_a_payload_could_name(sentinel: Path, listener: int) -> None:
    """The last line of defence, should markup ever reach WeasyPrint."""
    closed = fetcher.ClosedURLFetcher()
    for url in (
        f"file://{sentinel}",
        f"http://127.0.0.1:{listener}/x",
        f"https://127.0.0.1:{listener}/x",
        f"{TEMPLATES_DIR.as_uri()}/pdf/../../../{sentinel.relative_to('/')}",
        "data:text/css,body{}",
        f"file://localhost{sentinel}",
        f"file://127.0.0.1{sentinel}",
        "ftp://127.0.0.1/x",
    ):
        with pytest.raises(fetcher.URLRefused):
            closed.resolve(url)


# --- refused hostile text: a 422 naming every field -------------------------------------------

REFUSED = {
    "control": ("控制\x01字符\x1f", "forbidden_character"),
    "vertical-tab": ("a\x0bb", "forbidden_character"),
    "delete": ("a\x7fb", "forbidden_character"),
    "lone-surrogate": ("孤立\ud800代理", "forbidden_character"),
    "bidi-override": ("正文\u202e反向", "forbidden_character"),
    "bidi-isolate": ("正文\u2066隔离\u2069", "forbidden_character"),
    "thai": ("泰文\u0e01字", "glyph_not_covered"),
    "cjk-extension-b": ("生僻𠀀字", "glyph_not_covered"),
    "emoji": ("表情😀", "glyph_not_covered"),
    "megabyte": ("文" * 1_000_000, "limit_exceeded"),
}


def refused_payload(name: str) -> tuple[bytes, list[str], str]:
    value, code = REFUSED[name]
    document, paths = hostile_everywhere(value)
    # ensure_ascii writes a lone surrogate as the JSON escape "\ud800", as a caller would
    return json.dumps(document, ensure_ascii=True).encode(), paths, code


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_text_names_every_field(name: str) -> None:
    raw, paths, code = refused_payload(name)
    with pytest.raises(PayloadInvalid) as caught:
        pipeline.parse_payload(raw)
    found = {e.path for e in caught.value.errors if e.code == code}
    assert found == set(paths), sorted(set(paths) - found)
    assert all(e.path.startswith("$") for e in caught.value.errors)


def deep_json(depth: int) -> bytes:
    document = example()
    document["intro"] = ["@@"]
    nested = "[" * depth + '"x"' + "]" * depth
    return dumps(document).replace(b'"@@"', nested.encode())


def deep_sections(depth: int) -> bytes:
    document = example()
    document["sections"] = ["@@"]
    nested = '{"title": "t", "sections": [' * depth + '{"title": "x"}' + "]}" * depth
    return dumps(document).replace(b'"@@"', nested.encode())


def many_rows(rows: int, subrows: int = 0) -> bytes:
    document = example()
    per = max(subrows, 1)
    document["figures"]["complaints"]["direct"] = {
        "total": rows * per,
        "closed": 0,
        "breakdowns": [
            {
                "dimension": "region",
                "rows": [
                    {
                        "label": f"地区{i}",
                        "count": per,
                        **(
                            {"subrows": [{"label": f"其{j}", "count": 1} for j in range(subrows)]}
                            if subrows
                            else {}
                        ),
                    }
                    for i in range(rows)
                ],
            }
        ],
    }
    return dumps(document)


@pytest.mark.parametrize(
    ("make", "error", "code"),
    [
        (lambda: deep_json(1_000), MalformedJSON, "malformed_json"),
        (lambda: deep_json(100_000), MalformedJSON, "malformed_json"),
        (lambda: deep_sections(1_000), MalformedJSON, "malformed_json"),
        (lambda: deep_sections(300), PayloadInvalid, "recursion_depth_exceeded"),
        (lambda: deep_sections(6), PayloadInvalid, "ladder_too_deep"),
        (lambda: many_rows(100_000), PayloadInvalid, "limit_exceeded"),
        (lambda: many_rows(MAX_ROWS // 10, 10), PayloadInvalid, "limit_exceeded"),
        (lambda: b'{"report_year": 1' + b"0" * 5000 + b"}", MalformedJSON, "malformed_json"),
        (lambda: b"\xff\xfe{}", MalformedJSON, "malformed_json"),
    ],
    ids=["json-1000-deep", "json-100000-deep", "sections-1000-deep", "sections-300-deep",
         "sections-6-deep", "rows-100000", "rows-with-subrows-over-500", "huge-integer", "utf16"],
)  # fmt: skip
def test_oversized_structures_are_refused_quickly(
    make: Callable[[], bytes], error: type[PiluError], code: str
) -> None:
    raw = make()
    with pytest.raises(error) as caught:
        pipeline.parse_payload(raw)
    if isinstance(caught.value, PayloadInvalid):
        assert code in {e.code for e in caught.value.errors}
        assert all(e.path.startswith("$") for e in caught.value.errors)
    else:
        assert caught.value.code == code


def megabyte_in_one_field() -> bytes:
    document = example()
    document["intro"][0] = "x" * 1_000_000
    return dumps(document)


# --- the same through the API of a real server ------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_api_refuses_hostile_text_with_a_clear_4xx(real_server: Server, name: str) -> None:
    raw, paths, code = refused_payload(name)
    status, headers, body = http("POST", f"{real_server.url}/v1/validate", raw, auth())
    if len(raw) > 2 * 1024 * 1024:
        assert (status, json.loads(body)["error"]["code"]) == (413, "payload_too_large")
        return
    assert status == 422, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "payload_invalid"
    assert {d["path"] for d in error["details"] if d["code"] == code} == set(paths)


@pytest.mark.parametrize(
    ("make", "statuses"),
    [
        (lambda: deep_json(1_000), {400}),
        (lambda: deep_sections(1_000), {400}),
        (lambda: deep_sections(300), {422}),
        (lambda: many_rows(100_000), {413}),
        (lambda: many_rows(20_000), {422}),
        (lambda: many_rows(MAX_ROWS // 10, 10), {422}),
        (lambda: b"\x00" * 100, {400}),
        (lambda: megabyte_in_one_field(), {422}),
    ],
    ids=["json-1000-deep", "sections-1000-deep", "sections-300-deep", "rows-100000-over-body-limit",
         "rows-20000", "rows-with-subrows-over-500", "nul-bytes", "megabyte-in-one-field"],
)  # fmt: skip
def test_api_refuses_oversized_structures(
    real_server: Server, make: Callable[[], bytes], statuses: set[int]
) -> None:
    for path in ("/v1/validate", "/v1/render?format=pdf"):
        status, _, body = http("POST", f"{real_server.url}{path}", make(), auth())
        assert status in statuses, (path, status, body[:300])
        assert set(json.loads(body)["error"]) == {"code", "message", "details"}


def test_api_renders_hostile_text_without_reaching_out(
    real_server: Server, sentinel: Path, listener: int
) -> None:
    """Markup, CSS and URLs naming a file and a port, in every field, rendered by the server's
    workers (other processes): a ZIP of inert documents; nothing read, nothing connected."""
    value = " ".join(ACCEPTED[n] for n in ("html-js", "css", "urls")).format(
        sentinel=sentinel, port=listener
    )
    short = ACCEPTED["html-js"].format(sentinel=sentinel, port=listener)
    document, _ = hostile_everywhere(value, short)
    status, _, body = http(
        "POST", f"{real_server.url}/v1/render?format=zip", dumps(document), auth()
    )
    assert status == 200, body[:500]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    (pdf,) = [data for name, data in members.items() if name.endswith(".pdf")]
    (docx,) = [data for name, data in members.items() if name.endswith(".docx")]
    assert_inert_pdf(pdf)
    assert_inert_docx(docx)
    for name in members:
        assert "/" not in name and "\\" not in name and not name.startswith("."), name
