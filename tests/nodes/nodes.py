"""``pilu serve`` as real processes for the node tests: start on a free loopback port, wait
until ready, talk HTTP, kill with SIGKILL (the whole process group: server and its worker, as a
machine that dies), stop with SIGTERM.

Each server runs in its own session so that ``killpg`` takes its worker process with it, and
writes its log to ``<log_dir>/<name>.log`` (shown when a test fails).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

KEY = "nodes-test-key-7f3a9c1e5b2d4f6a8c0e"
AUTH = {"Authorization": f"Bearer {KEY}"}
PILU = Path(sys.executable).parent / "pilu"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Node:
    """One ``pilu serve`` (or ``pilu worker``); :meth:`start` it (again after a kill: same data dir, new port)."""

    name: str
    data_dir: Path
    log_dir: Path
    database_url: str = ""
    lease_s: float = 3.0
    command: str = "serve"
    """``serve``, or ``worker`` (no HTTP: only :meth:`start`, :meth:`stop`, :meth:`kill`)."""
    argv: list[str] | None = None
    """Run this instead of ``pilu <command>`` (a test's own server module)."""
    env: dict[str, str] = field(default_factory=dict)
    """More environment (after the ``PILU_*`` settings, so it may override them)."""
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    starts: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Node:
        self.port = free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("PILU_")}
        env.update(
            PILU_HOST="127.0.0.1",
            PILU_PORT=str(self.port),
            PILU_DATA_DIR=str(self.data_dir),
            PILU_API_KEYS=f"{KEY}:*",
            PILU_WORKERS="1",
            PILU_BATCH_LEASE_S=str(self.lease_s),
            PILU_RENDER_TIMEOUT_S="120",
            PILU_SHUTDOWN_GRACE_S="10",
            PILU_DATABASE_URL=self.database_url,
        )
        env.update(self.env)
        log = open(self.log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 - owned by the process
        log.write(f"--- start {self.starts} on port {self.port}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.argv or [str(PILU), self.command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(OSError):
                if self.request("GET", "/readyz", timeout=2).status == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout_s} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL to the server and its worker at once, as when the machine dies."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM and wait; the exit status (SIGKILL after ``timeout_s``)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def log(self) -> str:
        path = self.log_dir / f"{self.name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Response:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={**AUTH, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read())

    def get_json(self, path: str) -> Any:
        response = self.request("GET", path)
        assert response.status == 200, (path, response.status, response.body[:500])
        return response.json()

    def batch(self, batch_id: str) -> dict[str, Any]:
        status: dict[str, Any] = self.get_json(f"/v1/batches/{batch_id}?limit=1000")
        return status

    def wait_finished(self, batch_id: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.batch(batch_id)
            if status["state"] == "finished":
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"batch not finished after {timeout_s} s: {status}")
            time.sleep(0.2)


@contextlib.contextmanager
def running(nodes: list[Node]) -> Iterator[list[Node]]:
    """Start every node, wait until all are ready; stop them all afterwards, whatever happened.
    On a failure the logs of every node are printed."""
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        yield nodes
    except BaseException:
        for node in nodes:
            print(f"===== {node.name} =====\n{node.log()}", file=sys.stderr)
        raise
    finally:
        for node in nodes:
            node.stop()


def check_archive(data: bytes) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    """The archive's manifests agree with each other and with the bytes of every file."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert len(rows) == len(manifest["items"])
    for row, item in zip(rows, manifest["items"], strict=True):
        for fmt, file in item["files"].items():
            assert sha(archive.read(file["name"])) == file["sha256"] == row[f"{fmt}_sha256"]
    return archive, manifest
