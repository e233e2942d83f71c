"""What the hardening tests share: a real ``pilu serve`` process, /proc readings, payloads.

The server runs as its own process on a free loopback port, so the tests see it as a client
would (real sockets, real worker processes, real signals); its stderr (JSON logs) goes to a file
the tests read afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "xiaokang-life-2023.json"
SMALL_EXAMPLE = ROOT / "examples" / "kangning-property-2022.json"

KEY_ALL = "hardening-all-8Qm2xZ7vLp3RkT9w"
KEY_XIAOKANG = "hardening-xk-Hn4sWc8YbE1uJq6d"
KEY_OTHER = "hardening-other-Vt5gNa2MfK7rPz0c"
API_KEYS = f"{KEY_ALL}:*;{KEY_XIAOKANG}:xiaokang-life;{KEY_OTHER}:other-insurer"
KEYS = (KEY_ALL, KEY_XIAOKANG, KEY_OTHER)


def example() -> dict[str, Any]:
    """A fresh copy of the reference example (小康人寿 2023, valid)."""
    return copy.deepcopy(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def small_example() -> dict[str, Any]:
    """A fresh copy of the smallest example (康宁财险 2022, one page, one table)."""
    return copy.deepcopy(json.loads(SMALL_EXAMPLE.read_text(encoding="utf-8")))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- /proc ------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(server_pid: int) -> list[int]:
    """The render workers: the server's children that ``spawn`` started, or the children of
    its fork server (not multiprocessing's resource tracker, nor the fork server itself)."""
    found = []
    for pid in children_of(server_pid):
        line = command_line(pid)
        if "spawn_main" in line:
            found.append(pid)
        elif "multiprocessing.forkserver" in line:
            found.extend(children_of(pid))
    return sorted(found)


def is_running(pid: int) -> bool:
    """Alive and not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def exists(pid: int) -> bool:
    """Has a /proc entry: running, or a zombie nobody has reaped yet."""
    return (Path("/proc") / str(pid)).exists()


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- a real server ----------------------------------------------------------------------------


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    """One blocking request with the standard library: (status, headers, body); no raising."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


@dataclass
class Server:
    """``pilu serve`` (or a serve() call with a test backend) in a child process."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    backend: str | None = None
    """``module:NAME`` of a Backend to pass to serve(); ``None`` runs the real pipeline."""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, ready_timeout_s: float = 90) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PILU_")}
        env.update(
            PILU_API_KEYS=API_KEYS,
            PILU_DATA_DIR=str(self.data_dir),
            PILU_LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
        )
        env.update(self.env)
        if self.backend is None:
            command = [sys.executable, "-m", "service.cli", "serve"]
            command += ["--host", "127.0.0.1", "--port", str(self.port)]
        else:
            module, name = self.backend.split(":")
            code = (
                "from service.server import serve\n"
                f"from {module} import {name}\n"
                f"serve('127.0.0.1', {self.port}, backend={name})\n"
            )
            command = [sys.executable, "-c", code]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        log.close()
        self.wait_ready(ready_timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited at start:\n{self.logs()[-3000:]}")
            try:
                status, _, _ = http("GET", f"{self.url}/readyz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready in {timeout_s} s:\n{self.logs()[-3000:]}")
            time.sleep(0.1)

    def wait_warm(self, warm: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            status, _, body = http("GET", f"{self.url}/readyz", timeout=5)
            if status == 200 and json.loads(body)["workers"]["warm"] >= warm:
                return
            assert time.monotonic() < deadline, f"workers not back to {warm}: {body!r}"
            time.sleep(0.1)

    def logs(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return entries

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def auth(key: str = KEY_ALL) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
