"""What the render workers' fork server loads (service.jobs.preload): the data, and none of
the libraries' state a forked child must not inherit."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys, threading
import service.jobs.preload
from service.model import title
from service.render.pdf import engine, templating
print(json.dumps({
    "threads": threading.active_count(),
    "font_config": engine._font_config is not None,
    "compiled_styles": len(engine._compiled),
    "tokenizer": title._tokenizer.cache_info().currsize,
    "templates": templating.template.cache_info().currsize,
    "user_agent_css": engine._user_agent_css is not None,
}))
"""


def test_the_preload_loads_data_and_no_font_configuration() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert loaded["threads"] == 1, "a thread would not survive the fork"
    assert not loaded["font_config"], "fontconfig is set up by each worker, never before a fork"
    assert loaded["compiled_styles"] == 0, "a compiled style holds the faces' fontconfig state"
    assert loaded["tokenizer"] == 1
    assert loaded["templates"] >= 2
    assert loaded["user_agent_css"]
