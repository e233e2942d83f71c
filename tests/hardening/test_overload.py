"""Overload: ``scripts/loadtest.py`` in its own process, 20 clients for 15 s, against the
session's server (2 workers, a queue of 4). The longer run in docs/reliability.md is the same
script with ``--clients 50 --duration 60``.

Nothing may fail except ``503`` with ``Retry-After``; ``/healthz`` stays fast (p99 < 100 ms)
and answers every probe; the memory of the server and its workers stays bounded; the pool is
whole afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.workers.child import WORKER_NICENESS
from tests.hardening.support import KEY_ALL, ROOT, Server, http, worker_pids

pytestmark = pytest.mark.slow


def test_overload_is_refused_cleanly_and_healthz_stays_fast(
    real_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "load.json"
    run = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "loadtest.py"),
            "--url", real_server.url, "--key", KEY_ALL, "--server-pid", str(real_server.pid),
            "--clients", "20", "--duration", "15", "--json", str(out),
            "--healthz-p99-ms", "100", "--max-rss-mib", "2048",
        ],
        check=False, capture_output=True, text=True, timeout=180, cwd=ROOT,
    )  # fmt: skip
    assert out.exists(), run.stderr[-3000:]
    figures = json.loads(out.read_text())
    with capsys.disabled():
        memory = figures["memory"]
        print(
            f"\nload: {figures['clients']} clients {figures['duration_s']} s, "
            f"{figures['requests']} requests ({figures['requests_per_s']}/s), "
            f"{figures['answered_as_expected']} as expected, "
            f"{figures['refused_503_with_retry_after']} refused 503, "
            f"{figures['renders_ok']} renders, {figures['failures']} failures; "
            f"/healthz p50 {figures['healthz']['p50_ms']} ms p99 {figures['healthz']['p99_ms']} ms "
            f"max {figures['healthz']['max_ms']} ms; RSS server {memory['server_start_mib']}→"
            f"{memory['server_peak_mib']} MiB, worker peak {memory['worker_peak_mib']} MiB, "
            f"total peak {memory['total_peak_mib']} MiB"
        )
    assert figures["failures"] == 0, figures["failure_examples"]
    assert figures["healthz"]["failed"] == 0
    assert figures["healthz"]["p99_ms"] < 100, figures["healthz"]
    assert figures["renders_ok"] > 0 and figures["refused_503_with_retry_after"] > 0
    memory = figures["memory"]
    assert memory["server_peak_mib"] - memory["server_start_mib"] < 150, memory
    assert memory["worker_peak_mib"] < 1024, memory
    # the server, its fork server, 2 workers and multiprocessing's resource tracker
    assert memory["processes_peak"] <= 5, memory
    assert run.returncode == 0, figures["problems"]
    real_server.wait_warm(2)
    status, _, _ = http("GET", f"{real_server.url}/readyz")
    assert status == 200


def test_workers_run_at_a_lower_cpu_priority_than_the_server(real_server: Server) -> None:
    """Why /healthz stays fast while every core renders: workers are niced (child.py)."""

    def nice(pid: int) -> int:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])

    workers = worker_pids(real_server.pid)
    assert len(workers) == 2
    assert {nice(pid) - nice(real_server.pid) for pid in workers} == {WORKER_NICENESS}
