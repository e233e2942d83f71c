"""Every example renders to the same bytes in this process and in a fresh one.

A fresh process with another hash seed has none of this one's caches (skeletons, compiled
stylesheets, font subsets) and iterates sets in another order, so anything a document's bytes
depend on besides its payload and house style shows up here as a difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from service.pipeline import render_payload
from tests.conftest import EXAMPLE_FILES, EXAMPLES, ROOT

BATCH = EXAMPLES / "batch" / "xiaokang-life-2019-2024.ndjson"

_DIGESTS = """
import hashlib, json, sys
from service.pipeline import render_payload
payloads = json.loads(sys.stdin.read())
print(json.dumps([
    {fmt: hashlib.sha256(data).hexdigest() for fmt, data in render_payload(p.encode()).items()}
    for p in payloads
]))
"""


def _payloads() -> list[str]:
    """Each example and the batch example's first and last year, as text."""
    lines = BATCH.read_text(encoding="utf-8").splitlines()
    return [path.read_text(encoding="utf-8") for path in EXAMPLE_FILES] + [lines[0], lines[-1]]


@pytest.mark.slow
def test_examples_render_to_the_same_bytes_twice_and_in_a_fresh_process() -> None:
    payloads = _payloads()
    here = [
        {fmt: hashlib.sha256(data).hexdigest() for fmt, data in render_payload(p.encode()).items()}
        for p in payloads
    ]
    again = [
        {fmt: hashlib.sha256(data).hexdigest() for fmt, data in render_payload(p.encode()).items()}
        for p in payloads
    ]
    assert again == here
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    fresh = subprocess.run(
        [sys.executable, "-c", _DIGESTS],
        input=json.dumps(payloads),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert json.loads(fresh.stdout) == here
    assert all(set(digests) == {"pdf", "docx"} for digests in here)
