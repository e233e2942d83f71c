"""Run ``pilu serve`` for the benchmark: loopback only, a temporary key, bounded, always stopped.

The service is started as a user would (``.venv/bin/pilu serve --host 127.0.0.1 --port P``) with
its settings in environment variables (docs/configuration.md); inherited ``PILU_*`` variables
are dropped so a developer's own settings do not change what is measured.
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
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import procs

ROOT = Path(__file__).resolve().parent.parent
PILU = Path(sys.executable).with_name("pilu")


class RenderError(RuntimeError):
    pass


@dataclass
class Service:
    workers: int
    max_tasks_per_child: int = 1_000_000
    queue_limit: int = 32
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    cold_start_s: float = 0.0
    tasks: int = 0
    """Render requests answered 200 so far (each is one task in one worker)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PILU_")}
        env.update(
            PILU_API_KEYS=f"{self.key}:*",
            PILU_LOCAL_DEV_KEY="false",
            PILU_DATA_DIR=str(data_dir),
            PILU_WORKERS=str(self.workers),
            PILU_MAX_TASKS_PER_CHILD=str(self.max_tasks_per_child),
            PILU_QUEUE_LIMIT=str(self.queue_limit),
            PILU_RENDER_TIMEOUT_S="120",
            PILU_SHUTDOWN_GRACE_S="5",
            PILU_LOG_LEVEL="WARNING",
        )
        return env

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait for ``/readyz`` to answer 200; the seconds from process start."""
        self.dir = Path(tempfile.mkdtemp(prefix="pilu-bench-serve-"))
        self.port = procs.free_port()
        self.log = open(self.dir / "serve.log", "wb")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(PILU), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env(self.dir / "data"),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"pilu serve exited with {self.proc.returncode}: {self.log_tail()}"
                )
            if self._ready():
                self.cold_start_s = time.perf_counter() - started
                return self.cold_start_s
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"pilu serve not ready within {timeout:g} s: {self.log_tail()}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(
                (self.dir / "serve.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The render worker processes: the server's multiprocessing descendants that have no
        multiprocessing children themselves (so neither the resource tracker nor, with the
        forkserver start method, the fork server)."""
        assert self.proc is not None

        def ours(pid: int) -> bool:
            line = procs.cmdline(pid)
            return "multiprocessing" in line and "resource_tracker" not in line

        candidates = [pid for pid in procs.descendants(self.proc.pid) if ours(pid)]
        return [pid for pid in candidates if not any(ours(c) for c in procs.children(pid))]

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop_group(self.proc, grace=15)
            self.proc = None
        if getattr(self, "log", None):
            self.log.close()
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """Render requests to one service over one keep-alive session per client."""

    def __init__(self, service: Service, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.session = session
        self.headers = {
            "Authorization": f"Bearer {service.key}",
            "Content-Type": "application/json",
        }

    async def render(self, raw: bytes, fmt: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        async with self.session.post(
            f"{self.service.base}/v1/render", params={"format": fmt}, data=raw, headers=self.headers
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise RenderError(f"{fmt}: HTTP {response.status}: {body[:300]!r}")
        elapsed = time.perf_counter() - started
        magic = b"%PDF" if fmt == "pdf" else b"PK"
        if not body.startswith(magic):
            raise RenderError(f"{fmt}: unexpected body {body[:20]!r}")
        self.service.tasks += TASKS_PER_FORMAT.get(fmt, 1)
        return elapsed, body


TASKS_PER_FORMAT = {"zip": 2}
"""Worker tasks one request makes: a ZIP's PDF and DOCX are rendered by two workers."""


def session(limit: int = 16, timeout: float = 180.0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )
