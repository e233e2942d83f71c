#!/usr/bin/env python3
"""Overload a Pilu server from another process and report what it did.

    .venv/bin/python scripts/loadtest.py                       # starts its own server
    .venv/bin/python scripts/loadtest.py --clients 50 --duration 60 --workers 2 --queue-limit 4
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8080 --key "$PILU_KEY" \
        --server-pid "$(pgrep -of 'pilu serve')"             # an existing server

``--clients`` loops each send a request, wait for its answer and send the next (a short pause
after a 503), mixing renders (PDF, DOCX, ZIP of the small example), validations of the
reference example, and requests that must fail (an invalid payload: 422, malformed JSON: 400,
an unknown key: 401). A prober in a third process reads ``/healthz`` every 50 ms; a sampler reads the resident
memory of the server and its workers from ``/proc`` every 250 ms (when the server's pid is known).

A failure is any answer other than the one expected for its kind, except ``503`` with a
``Retry-After`` header for renders and validations (refusing work when full is the design), and
any connection error. The exit code is 0 only with no failure, a ``/healthz`` p99 under
``--healthz-p99-ms`` and memory under ``--max-rss-mib``. The figures are printed, and written as
JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.procs import MIB, descendants, rss_bytes, stop_group
from bench.server import Server, ServerFailed, start_server

EXAMPLES = ROOT / "examples"

KINDS: dict[str, tuple[float, set[int]]] = {
    "render_pdf": (0.35, {200}),
    "render_docx": (0.15, {200}),
    "render_zip": (0.05, {200}),
    "validate": (0.25, {200}),
    "invalid": (0.10, {422}),
    "malformed": (0.05, {400}),
    "bad_key": (0.05, {401}),
}
"""Request kind -> (share of requests, expected statuses). 503 + Retry-After is always allowed
for the kinds that reach the pool (all but bad_key, which is refused before)."""


@dataclass
class Figures:
    started: float = field(default_factory=time.monotonic)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    healthz_ms: list[float] = field(default_factory=list)
    healthz_failures: int = 0
    rss_samples: list[dict[int, float]] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- the load ---------------------------------------------------------------------------------


def bodies() -> dict[str, bytes]:
    small = (EXAMPLES / "kangning-property-2022.json").read_bytes()
    reference = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()
    invalid = json.loads(reference)
    invalid["figures"]["review"]["total"] += 1
    return {
        "render_pdf": small,
        "render_docx": small,
        "render_zip": small,
        "validate": reference,
        "invalid": json.dumps(invalid, ensure_ascii=False).encode(),
        "malformed": b'{"company": {"id": "kangning-property",}',
        "bad_key": small,
    }


def request_for(kind: str, url: str) -> tuple[str, str]:
    if kind.startswith("render_"):
        return "POST", f"{url}/v1/render?format={kind.removeprefix('render_')}"
    return "POST", f"{url}/v1/validate"


async def client(
    session: aiohttp.ClientSession, url: str, key: str, stop_at: float, figures: Figures,
    rng: random.Random,
) -> None:  # fmt: skip
    payloads = bodies()
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    while time.monotonic() < stop_at:
        kind = rng.choices(names, weights)[0]
        method, target = request_for(kind, url)
        headers = {"Authorization": f"Bearer {'not-a-key' if kind == 'bad_key' else key}"}
        started = time.monotonic()
        try:
            async with session.request(method, target, data=payloads[kind], headers=headers) as r:
                body = await r.read()
                status, retry_after = r.status, r.headers.get("Retry-After")
                content_type = r.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            figures.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            figures.statuses[f"{kind} error"] += 1
            await asyncio.sleep(0.1)
            continue
        elapsed = time.monotonic() - started
        figures.statuses[f"{kind} {status}"] += 1
        expected = KINDS[kind][1]
        if status in expected:
            figures.latencies[kind].append(elapsed)
        elif status == 503 and kind != "bad_key":
            if not retry_after or not retry_after.isdigit():
                figures.failures.append(f"{kind}: 503 without a usable Retry-After")
            await asyncio.sleep(rng.uniform(0.05, 0.2))
        else:
            figures.failures.append(f"{kind}: status {status}: {body[:200]!r}")
        if status >= 400 and not content_type.startswith("application/json"):
            figures.failures.append(f"{kind}: {status} with Content-Type {content_type!r}")


def probe(url: str, duration_s: float) -> dict[str, Any]:
    """``/healthz`` every 50 ms for ``duration_s`` over one keep-alive connection, blocking:
    run in a process of its own, so the load's event loop never delays a probe's timing."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    assert parts.hostname is not None, f"no host in {url}"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    latencies, failures = [], 0
    stop_at = time.monotonic() + duration_s
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not ok
        time.sleep(0.05)
    return {"latencies_ms": latencies, "failures": failures}


async def prober(url: str, stop_at: float, figures: Figures) -> None:
    """Runs :func:`probe` in a child process (this script with ``--probe``) until ``stop_at``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--probe",
        url,
        "--duration",
        str(stop_at - time.monotonic()),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    result = json.loads(out)
    figures.healthz_ms.extend(result["latencies_ms"])
    figures.healthz_failures += result["failures"]


async def sampler(server_pid: int | None, stop_at: float, figures: Figures) -> None:
    while server_pid is not None and time.monotonic() < stop_at:
        pids = [server_pid, *descendants(server_pid)]
        figures.rss_samples.append({pid: rss_bytes(pid) / MIB for pid in pids})
        await asyncio.sleep(0.25)


async def run_load(
    url: str, key: str, clients: int, duration_s: float, server_pid: int | None, seed: int
) -> Figures:
    figures = Figures()
    stop_at = time.monotonic() + duration_s
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=clients)  # one connection per client
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [
            client(session, url, key, stop_at, figures, random.Random(seed + i))
            for i in range(clients)
        ]
        await asyncio.gather(
            *tasks, prober(url, stop_at, figures), sampler(server_pid, stop_at, figures)
        )
    figures.started = time.monotonic() - figures.started
    return figures


# --- a server of our own ----------------------------------------------------------------------


def own_server(workers: int, queue_limit: int) -> Server:
    """A server for this run (bench/server.py); clients wait 1 s after a 503."""
    settings = {
        "PILU_WORKERS": str(workers),
        "PILU_QUEUE_LIMIT": str(queue_limit),
        "PILU_RETRY_AFTER_S": "1",
        "PILU_LOG_LEVEL": "WARNING",
    }
    try:
        return start_server(settings)
    except ServerFailed as exc:
        sys.exit(f"the server did not start: {exc}")


def stop_server(process: subprocess.Popen[bytes]) -> tuple[int | None, list[int]]:
    """SIGTERM the server alone, as a supervisor would: its exit status and the pids of its
    descendants still alive after it exited (a clean stop leaves none)."""
    alive = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait(10)
    left = [pid for pid in alive if Path(f"/proc/{pid}").exists()]
    return code, left


# --- the report -------------------------------------------------------------------------------


def summary(figures: Figures, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    ok = {kind: len(values) for kind, values in figures.latencies.items()}
    renders_ok = sum(v for k, v in ok.items() if k.startswith("render_"))
    refused = sum(v for k, v in figures.statuses.items() if k.endswith(" 503"))
    total = sum(figures.statuses.values())
    server_pid = args.server_pid
    peaks: dict[str, float] = {}
    if figures.rss_samples:
        totals = [sum(sample.values()) for sample in figures.rss_samples]
        server = [sample.get(server_pid, 0.0) for sample in figures.rss_samples]
        workers = [
            v for sample in figures.rss_samples for p, v in sample.items() if p != server_pid
        ]
        peaks = {
            "server_start_mib": round(server[0], 1),
            "server_peak_mib": round(max(server), 1),
            "server_end_mib": round(server[-1], 1),
            "worker_peak_mib": round(max(workers, default=0.0), 1),
            "total_start_mib": round(totals[0], 1),
            "total_peak_mib": round(max(totals), 1),
            "total_end_mib": round(totals[-1], 1),
            "processes_peak": max(len(sample) for sample in figures.rss_samples),
        }
    return {
        "clients": clients,
        "duration_s": round(figures.started, 1),
        "requests": total,
        "requests_per_s": round(total / figures.started, 1) if figures.started else 0,
        "answered_as_expected": sum(ok.values()),
        "refused_503_with_retry_after": refused,
        "renders_ok": renders_ok,
        "renders_per_s": round(renders_ok / figures.started, 2) if figures.started else 0,
        "failures": len(figures.failures),
        "failure_examples": figures.failures[:10],
        "statuses": dict(sorted(figures.statuses.items())),
        "render_pdf_ms": {
            "p50": round(statistics.median(figures.latencies["render_pdf"]) * 1000, 1)
            if figures.latencies["render_pdf"]
            else None,
            "p99": round(percentile(figures.latencies["render_pdf"], 99) * 1000, 1),
        },
        "healthz": {
            "probes": len(figures.healthz_ms),
            "failed": figures.healthz_failures,
            "p50_ms": round(percentile(figures.healthz_ms, 50), 2),
            "p99_ms": round(percentile(figures.healthz_ms, 99), 2),
            "max_ms": round(max(figures.healthz_ms, default=0.0), 2),
        },
        "memory": peaks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server; without it one is started")
    parser.add_argument("--key", default=os.environ.get("PILU_KEY"), help="API key (all companies)")
    parser.add_argument("--server-pid", type=int, help="the running server's pid, for memory")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="for a server started here")
    parser.add_argument("--queue-limit", type=int, default=4, help="for a server started here")
    parser.add_argument("--healthz-p99-ms", type=float, default=100.0)
    parser.add_argument("--max-rss-mib", type=float, default=4096.0, help="server and workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)  # the prober process
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.duration)))
        return 0

    server = None
    if args.url is None:
        server = own_server(args.workers, args.queue_limit)
        url, key = server.url, server.key
        args.server_pid = server.process.pid
    else:
        url, key = args.url.rstrip("/"), args.key
        if not key:
            parser.error("--key (or PILU_KEY) is needed with --url")
    try:
        figures = asyncio.run(
            run_load(url, key, args.clients, args.duration, args.server_pid, args.seed)
        )
    finally:
        stopped = None
        if server is not None:
            stopped = stop_server(server.process)
            stop_group(server.process)  # whatever a failed stop left behind
            server.remove()
    result = summary(figures, args.clients, args)
    if stopped is not None:
        result["server_exit_code"], left = stopped
        result["children_left_after_stop"] = left
    problems = []
    if result["failures"]:
        problems.append(f"{result['failures']} failures")
    if result["healthz"]["failed"]:
        problems.append(f"{result['healthz']['failed']} /healthz probes failed")
    if result["healthz"]["p99_ms"] >= args.healthz_p99_ms:
        problems.append(f"/healthz p99 {result['healthz']['p99_ms']} ms")
    if result["memory"] and result["memory"]["total_peak_mib"] > args.max_rss_mib:
        problems.append(f"memory peaked at {result['memory']['total_peak_mib']} MiB")
    if stopped is not None and (stopped[0] != 0 or stopped[1]):
        problems.append(f"server stop: exit {stopped[0]}, children left {stopped[1]}")
    result["problems"] = problems
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
