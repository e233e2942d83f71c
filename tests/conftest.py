"""Shared fixtures: the example payloads as bytes and as dicts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.store.backends"]
"""The store's fixtures (``store`` on each backend, PostgreSQL databases) for every test folder."""

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REFERENCE = ROOT / "tests" / "data" / "xiaokang-life-2023-disclosure.txt"
"""The published reference disclosure as copied from the insurer's site. The copy turned full-width
punctuation into ASCII; the tests restore it before comparing. The example reproduces every sentence."""
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
QUICK_EXAMPLES = [
    EXAMPLES / "anhe-life-complaints-2024.json",
    EXAMPLES / "kangning-property-2022.json",
]
"""Two examples that render fast (about 0.3 s), for tests that render many times."""


@pytest.fixture(scope="session")
def reference_example_bytes() -> bytes:
    return (EXAMPLES / "xiaokang-life-2023.json").read_bytes()


@pytest.fixture
def reference_example() -> dict[str, Any]:
    """A fresh, mutable copy of the reference example payload."""
    return copy.deepcopy(_load("xiaokang-life-2023.json"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
