"""``pilu serve`` as the benchmark runs it, and its HTTP clients.

Loopback only, a temporary key (``bench/server.py``), bounded queue, always stopped; worker
recycling is off (``PILU_MAX_TASKS_PER_CHILD``) so that memory growth shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from bench import procs
from bench.server import Server, start_server


class RenderError(RuntimeError):
    pass


@dataclass
class Service:
    workers: int
    max_tasks_per_child: int = 1_000_000
    queue_limit: int = 32
    server: Server | None = None
    tasks: int = 0
    """Render requests answered 200 so far (each is one task in one worker)."""

    def settings(self) -> dict[str, str]:
        return {
            "PILU_WORKERS": str(self.workers),
            "PILU_MAX_TASKS_PER_CHILD": str(self.max_tasks_per_child),
            "PILU_QUEUE_LIMIT": str(self.queue_limit),
            "PILU_RENDER_TIMEOUT_S": "120",
            "PILU_SHUTDOWN_GRACE_S": "5",
            "PILU_LOG_LEVEL": "WARNING",
        }

    def start(self) -> float:
        """Start and wait for ``/readyz`` to answer 200; the seconds from process start."""
        self.server = start_server(self.settings())
        return self.server.cold_start_s

    @property
    def running(self) -> Server:
        assert self.server is not None, "the service is not running"
        return self.server

    @property
    def base(self) -> str:
        return self.running.url

    @property
    def key(self) -> str:
        return self.running.key

    def worker_pids(self) -> list[int]:
        """The render worker processes: the server's multiprocessing descendants that have no
        multiprocessing children themselves (so neither the resource tracker nor, with the
        forkserver start method, the fork server)."""

        def ours(pid: int) -> bool:
            line = procs.cmdline(pid)
            return "multiprocessing" in line and "resource_tracker" not in line

        candidates = [pid for pid in procs.descendants(self.running.process.pid) if ours(pid)]
        return [pid for pid in candidates if not any(ours(c) for c in procs.children(pid))]

    def stop(self) -> None:
        if self.server is not None:
            procs.stop_group(self.server.process, grace=15)
            self.server.remove()
            self.server = None


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
