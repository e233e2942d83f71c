"""Module-level functions the fault tests hand to worker processes (importable by name).

``SLOW_BACKEND`` serves the real payload checks but renders by sleeping ``"sleep_s"`` seconds
(read from the payload), so a test can hold workers busy for a known time.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from service import pipeline
from service.api.backend import Backend


def render(raw: bytes, fmt: str) -> tuple[bytes, str]:
    data = json.loads(raw)
    time.sleep(float(data.get("sleep_s", 0)))
    return f"{fmt}|{data.get('tag', '')}|{os.getpid()}".encode(), f"slow.{fmt}"


def preview(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    time.sleep(float(data.get("sleep_s", 0)))
    return {"tag": data.get("tag", "")}


def payload_schema() -> dict[str, Any]:
    return pipeline.payload_json_schema()


def sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def slow_warm_up() -> None:
    time.sleep(1.0)


SLOW_BACKEND = Backend(
    render=render,
    preview=preview,
    company_id=pipeline.company_id,
    payload_schema=payload_schema,
    warm_up=None,
    formats=("pdf", "docx", "zip"),
)
