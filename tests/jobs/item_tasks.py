"""Module-level item tasks a worker process can import by name (``pilu batch``'s ``task``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from service.jobs.render import RenderOutcome
from tests.store.fakes import rendered_for


def render_or_hang(raw: bytes) -> RenderOutcome:
    """A fake document at once; for a payload with ``"hang": "<file>"``, write this worker's
    pid into that file and sleep for an hour."""
    hang = json.loads(raw).get("hang")
    if hang:
        Path(hang).write_text(str(os.getpid()), encoding="ascii")
        time.sleep(3600)
    return RenderOutcome(rendered_for(raw))


def warm_up() -> None:
    """Nothing to warm: a worker that unpickles this imports the module (and the service) at
    start, so that the first item's time limit is not spent importing."""
