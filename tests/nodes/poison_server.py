"""``python -m tests.nodes.poison_server``: ``pilu serve`` with the real pipeline, except that a
batch item whose payload hashes to ``PILU_TEST_POISON_SHA256`` kills the worker process that
renders it (``os._exit``), as a payload that crashes a native library would."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

from service.api.backend import default_backend
from service.jobs.render import render_item as real_render_item
from service.server import serve

POISON_ENV = "PILU_TEST_POISON_SHA256"


def render_item(raw: bytes) -> Any:
    """Runs in a worker: the real render, or death for the poison payload."""
    if hashlib.sha256(raw).hexdigest() == os.environ.get(POISON_ENV):
        os._exit(9)
    return real_render_item(raw)


if __name__ == "__main__":
    serve(backend=dataclasses.replace(default_backend(), render_item=render_item))
