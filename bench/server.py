"""Start ``pilu serve`` on a free loopback port with a temporary key and wait until it is ready.

Used by the benchmark (``bench/service.py``) and by ``scripts/loadtest.py``. The server runs this
checkout's ``service`` package (``PYTHONPATH`` is the repository), in a session of its own so
that its whole process group can be stopped, with its settings in environment variables
(docs/configuration.md): inherited ``PILU_*`` variables are dropped so a developer's own
settings do not change what is measured. Its data directory and log are in a temporary
directory that :meth:`Server.remove` deletes.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import procs

ROOT = Path(__file__).resolve().parent.parent
PILU = Path(sys.executable).with_name("pilu")


class ServerFailed(RuntimeError):
    """``pilu serve`` exited or did not answer ``/readyz`` in time; the message ends with its log."""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    key: str
    dir: Path
    """Holds ``data/`` (``PILU_DATA_DIR``) and ``serve.log`` (the server's output)."""
    cold_start_s: float
    """From process start to the first ``/readyz`` 200."""

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.dir / "serve.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def remove(self) -> None:
        """Delete the data directory and the log (after the server has stopped)."""
        shutil.rmtree(self.dir, ignore_errors=True)


def start_server(settings: Mapping[str, str], *, timeout_s: float = 120.0) -> Server:
    """``pilu serve --host 127.0.0.1 --port <free>`` with ``settings`` (``PILU_*`` variables
    besides the key and the data directory), once ``/readyz`` answers 200; raises
    :class:`ServerFailed` (the process stopped) otherwise."""
    work = Path(tempfile.mkdtemp(prefix="pilu-serve-"))
    port = procs.free_port()
    key = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILU_")}
    env.update(
        settings,
        PILU_API_KEYS=f"{key}:*",
        PILU_LOCAL_DEV_KEY="false",
        PILU_DATA_DIR=str(work / "data"),
        PYTHONPATH=str(ROOT),
    )
    with open(work / "serve.log", "wb") as log:  # the child keeps its own descriptor
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(PILU), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", key, work, 0.0)
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            why = f"pilu serve exited with {process.returncode}"
            break
        if _ready(server.url):
            server.cold_start_s = time.perf_counter() - started
            return server
        time.sleep(0.01)
    else:
        why = f"pilu serve not ready within {timeout_s:g} s"
        procs.stop_group(process, grace=15)
    failure = ServerFailed(f"{why}:\n{server.log_tail()}")
    server.remove()
    raise failure


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
