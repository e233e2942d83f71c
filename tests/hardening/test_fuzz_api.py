"""Schemathesis against ``/openapi.json`` of a real server: requests drawn from the published
API description (valid and invalid), each answer checked against it.

Checks: no 5xx; the status, content type, headers and JSON body each as documented. Render,
validate, the public operations, and the stored documents and batches: for an operation on one
document or batch, half the drawn requests name a real one (made once for the module: a rendered
document and a batch whose items fail validation), the rest a drawn id. Bounded in count per
operation; ``test_every_operation_is_fuzzed`` fails when /openapi.json gains an operation that
is not in ``OPERATIONS``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hardening.conftest import fuzz_settings
from tests.hardening.support import KEY_ALL, Server, auth, dumps, http, small_example

pytestmark = pytest.mark.slow

OPERATIONS = {
    ("POST", "/v1/render"): 25,
    ("POST", "/v1/validate"): 25,
    ("GET", "/v1/schema"): 3,
    ("GET", "/healthz"): 3,
    ("GET", "/readyz"): 3,
    ("GET", "/metrics"): 3,
    ("GET", "/openapi.json"): 3,
    ("GET", "/docs"): 3,
    ("POST", "/v1/documents"): 10,
    ("GET", "/v1/documents"): 12,
    ("GET", "/v1/documents/{id}"): 8,
    ("GET", "/v1/documents/{id}/versions"): 5,
    ("POST", "/v1/documents/{id}/versions"): 8,
    ("GET", "/v1/documents/{id}/pdf"): 5,
    ("GET", "/v1/documents/{id}/docx"): 5,
    ("GET", "/v1/documents/{id}/parity"): 5,
    ("GET", "/v1/documents/{id}/payload"): 5,
    ("GET", "/v1/documents/{id}/diff"): 5,
    ("GET", "/v1/documents/{id}/uploaded-docx"): 5,
    ("POST", "/v1/batches"): 12,
    ("GET", "/v1/batches"): 5,
    ("GET", "/v1/batches/{id}"): 8,
    ("GET", "/v1/batches/{id}/archive"): 5,
}
"""Operation -> examples per generation mode (few for those without inputs)."""
REAL_ID_SAFE = {
    ("GET", "/v1/documents/{id}"),
    ("GET", "/v1/documents/{id}/versions"),
    ("GET", "/v1/documents/{id}/pdf"),
    ("GET", "/v1/documents/{id}/docx"),
    ("GET", "/v1/documents/{id}/parity"),
    ("GET", "/v1/documents/{id}/payload"),
    ("GET", "/v1/documents/{id}/diff"),
    ("GET", "/v1/documents/{id}/uploaded-docx"),
    ("GET", "/v1/batches/{id}"),
    ("GET", "/v1/batches/{id}/archive"),
}
"""Operations drawn with a real id too. ``POST …/versions`` is not: with a real id and no body
it renders the document again (seconds each)."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
STATUSES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api_schema(real_server: Server) -> Any:
    document = requests.get(f"{real_server.url}/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(document)


def operation(api_schema: Any, method: str, path: str) -> Any:
    for result in api_schema.get_all_operations():
        found = result.ok()
        if (found.method.upper(), found.path) == (method, path):
            return found
    raise AssertionError(f"{method} {path} is not in /openapi.json")


@pytest.fixture(scope="module")
def real_ids(real_server: Server) -> dict[str, str]:
    """A stored document (the small example, rendered) and a finished batch of one item that
    fails validation (no render)."""
    status, _, body = http(
        "POST", f"{real_server.url}/v1/documents", dumps(small_example()), auth()
    )
    assert status == 201, body[:300]
    document = json.loads(body)["id"]
    status, _, body = http(
        "POST",
        f"{real_server.url}/v1/batches",
        b'{"company": {"id": "xiaokang-life"}}\n',
        {**auth(), "Content-Type": "application/x-ndjson"},
    )
    assert status == 202, body[:300]
    return {"document": document, "batch": json.loads(body)["id"]}


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    described = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert described == set(OPERATIONS), described ^ set(OPERATIONS)


def _with_inputs(path: str) -> bool:
    return path.startswith("/v1/") and path != "/v1/schema"


CASES = [
    (method, path, mode)
    for (method, path) in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if _with_inputs(path) or mode is GenerationMode.POSITIVE  # nothing to spoil in the others
]


def strategy(op: Any, mode: GenerationMode, real_id: str | None) -> Any:
    # X-Request-ID is fixed: the service replaces a malformed one instead of refusing it (as
    # docs/api.md says), which negative_data_rejection would count as accepting invalid data.
    headers = {"X-Request-ID": "fuzz-1"}
    drawn = op.as_strategy(generation_mode=mode, headers=headers)
    if real_id is None:
        return drawn
    return st.one_of(drawn, op.as_strategy(generation_mode=mode, headers=headers,
                                           path_parameters={"id": real_id}))  # fmt: skip


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_api_answers_as_documented(
    real_server: Server,
    api_schema: Any,
    real_ids: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    op = operation(api_schema, method, path)
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    session = requests.Session()
    real_id = None
    if (method, path) in REAL_ID_SAFE:
        real_id = real_ids["document" if path.startswith("/v1/documents") else "batch"]

    @fuzz_settings(OPERATIONS[(method, path)])
    @given(case=strategy(op, mode, real_id))
    def exchange(case: Any) -> None:
        headers = {"Authorization": f"Bearer {KEY_ALL}"}
        response = case.call(base_url=real_server.url, session=session, headers=headers, timeout=60)
        STATUSES[f"{method} {path} {mode.value} {response.status_code}"] += 1
        if response.status_code == 503:
            assert response.headers.get("Retry-After"), response.text
        case.validate_response(response, checks=checks)

    exchange()


@pytest.mark.parametrize("path", ["/v1/render", "/v1/validate"])
def test_a_valid_payload_is_answered_as_documented(
    real_server: Server, api_schema: Any, path: str
) -> None:
    """The drawn payloads above are (almost) never valid; here the body is the small example
    and the rest (format, Accept…) is drawn: 200s, checked against the description too."""
    op = operation(api_schema, "POST", path)
    session = requests.Session()

    @fuzz_settings(4)
    @given(case=op.as_strategy(headers={"X-Request-ID": "fuzz-2"}, body=small_example()))
    def exchange(case: Any) -> None:
        headers = {"Authorization": f"Bearer {KEY_ALL}"}
        response = case.call(base_url=real_server.url, session=session, headers=headers, timeout=60)
        STATUSES[f"POST {path} example {response.status_code}"] += 1
        assert response.status_code in (200, 406), response.text[:300]
        case.validate_response(response, checks=CHECKS)

    exchange()


def test_zz_print_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check: what the API fuzzing above got back."""
    with capsys.disabled():
        print(f"\napi fuzz: {sum(STATUSES.values())} requests: {dict(sorted(STATUSES.items()))}")
