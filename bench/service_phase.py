"""The service over HTTP: cold start, warm latency, throughput, and worker memory over renders.

Memory is read at three marks of renders per worker (``Plan.memory_marks``): after the first,
after the latency and throughput runs have been padded to the second, and after every worker
has been kept busy up to the third (bounded by ``Plan.memory_cap_s``).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from typing import Any

import aiohttp

from bench import procs
from bench.plan import Plan, Results, Variants, log
from bench.service import Client, Service, session
from bench.stats import mib, ms, p50, p95, secs

FORMATS = (("pdf", "PDF"), ("docx", "DOCX"), ("zip", "PDF+DOCX (zip)"))


def cold_starts(plan: Plan, workers: int, res: Results) -> Service:
    """``plan.cold_starts`` starts; the last service stays up and is returned."""
    samples: list[float] = []
    for i in range(plan.cold_starts):
        svc = Service(workers=workers)
        try:
            samples.append(svc.start())
        except BaseException:
            svc.stop()
            raise
        log(f"cold start {i + 1}: {samples[-1]:.2f} s")
        if i < plan.cold_starts - 1:
            svc.stop()
    res.data["cold_start_s"] = samples
    spread = f"min {min(samples):.2f} s, max {max(samples):.2f} s" if len(samples) > 1 else ""
    res.table.add(
        "service",
        "cold start: process start → /readyz 200",
        secs(p50(samples)),
        "",
        str(len(samples)),
        "",
        f"{workers} workers spawned and warmed; {spread}".rstrip("; "),
    )
    return svc


async def service_phases(svc: Service, plan: Plan, variants: Variants, res: Results) -> None:
    first, middle, last = plan.memory_marks
    async with session(limit=32) as http:
        client = Client(svc, http)
        # sequential requests alternate between idle workers: one task each
        await sequential(client, variants, "pdf", svc.workers * first - svc.tasks)
        rss_first = memory_snapshot(svc, f"{first}", res)
        await latency_phase(svc, client, variants, plan, res)
        await sequential(client, variants, "pdf", max(0, svc.workers * middle - svc.tasks))
        rss_middle = memory_snapshot(svc, f"{middle}", res)
        await throughput_phase(svc, http, variants, plan, res)
        capped = await keep_busy(svc, client, variants, svc.workers * last, plan.memory_cap_s)
        rss_last = memory_snapshot(svc, f"{last}", res)
    res.data["memory_capped"] = capped
    res.data["rss_marks"] = {"first": rss_first, "middle": rss_middle, "last": rss_last}
    memory_rows(res, svc.workers, plan, capped)


async def sequential(client: Client, variants: Variants, fmt: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        elapsed, _body = await client.render(variants.next(), fmt)
        times.append(elapsed)
    return times


def memory_snapshot(svc: Service, label: str, res: Results) -> list[int]:
    pids = svc.worker_pids()
    rss = [procs.rss_bytes(p) for p in pids]
    res.data.setdefault("memory", []).append(
        {
            "label": label,
            "tasks": svc.tasks,
            "pids": pids,
            "rss": rss,
            "cpu_s": [procs.cpu_seconds(p) for p in pids],
            "server_rss": procs.rss_bytes(svc.running.process.pid),
        }
    )
    log(f"memory {label}: tasks {svc.tasks}, RSS {[round(r / 2**20) for r in rss]} MiB")
    return rss


async def latency_phase(
    svc: Service, client: Client, variants: Variants, plan: Plan, res: Results
) -> None:
    """One client, one request at a time, per format; and the workers' CPU per request."""
    latency: dict[str, list[float]] = {}
    cpu_per_request: dict[str, float] = {}
    for fmt, _label in FORMATS:
        await sequential(client, variants, fmt, plan.latency_warm)
        cpu_before = _workers_cpu(svc)
        latency[fmt] = await sequential(client, variants, fmt, plan.latency_n)
        cpu_per_request[fmt] = (_workers_cpu(svc) - cpu_before) / plan.latency_n
        log(f"latency {fmt}: p50 {ms(p50(latency[fmt]))}, p95 {ms(p95(latency[fmt]))}")
    res.data["latency_s"] = latency
    res.data["worker_cpu_per_request_s"] = cpu_per_request
    for fmt, label in FORMATS:
        values = latency[fmt]
        res.table.add(
            "service",
            f"warm latency over HTTP, {label}",
            ms(p50(values)),
            ms(p95(values)),
            str(len(values)),
            "",
            "1 client, keep-alive, new payload per request; "
            f"worker CPU {ms(cpu_per_request[fmt])}/request",
        )


def _workers_cpu(svc: Service) -> float:
    return sum(procs.cpu_seconds(p) for p in svc.worker_pids())


async def throughput_phase(
    svc: Service, http: aiohttp.ClientSession, variants: Variants, plan: Plan, res: Results
) -> None:
    throughput: dict[int, dict[str, float]] = {}
    for clients in plan.throughput_clients:
        throughput[clients] = await load(svc, http, variants, clients, plan.throughput_s)
        log(f"throughput {clients} clients: {throughput[clients]['pairs_per_s']:.2f} pairs/s")
    res.data["throughput"] = throughput
    for clients, t in throughput.items():
        res.table.add(
            "service",
            f"throughput, {clients} client{'s' if clients > 1 else ''}",
            f"{t['pairs_per_s']:.2f} pairs/s",
            "",
            str(int(t["pairs"])),
            "",
            f"zip requests; latency p50 {ms(t['p50'])}, p95 {ms(t['p95'])}",
        )


async def load(
    svc: Service, http: aiohttp.ClientSession, variants: Variants, clients: int, duration: float
) -> dict[str, float]:
    """``clients`` clients sending zip requests back to back for ``duration`` seconds."""
    client = Client(svc, http)
    times: list[float] = []
    deadline = math.inf

    async def one() -> None:
        while time.perf_counter() < deadline:
            elapsed, _ = await client.render(variants.next(), "zip")
            times.append(elapsed)

    # one untimed request per client first, so every connection is open
    await asyncio.gather(*(client.render(variants.next(), "zip") for _ in range(clients)))
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(one() for _ in range(clients)))
    wall = time.perf_counter() - started
    return {
        "pairs": len(times),
        "wall_s": wall,
        "pairs_per_s": len(times) / wall,
        "p50": p50(times),
        "p95": p95(times),
    }


async def keep_busy(
    svc: Service, client: Client, variants: Variants, target: int, cap_s: float
) -> bool:
    """One client per worker, formats in turn, until ``target`` tasks in all; whether it stopped
    at the ``cap_s`` time limit first."""
    started = time.perf_counter()
    capped = False

    async def busy() -> None:
        nonlocal capped
        formats = itertools.cycle(("pdf", "docx", "zip"))
        while svc.tasks < target:
            if time.perf_counter() - started > cap_s:
                capped = True
                return
            await client.render(variants.next(), next(formats))

    if svc.tasks < target:
        await asyncio.gather(*(busy() for _ in range(svc.workers)))
    return capped


def memory_rows(res: Results, workers: int, plan: Plan, capped: bool) -> None:
    mem: list[dict[str, Any]] = res.data["memory"]
    for snap in mem:
        per_worker = snap["tasks"] / max(1, len(snap["rss"]))
        label = snap["label"]
        if snap is mem[-1] and capped:
            label = f"≈{per_worker:.0f} (capped; target {label})"
        res.table.add(
            "memory",
            f"worker RSS after {label} renders each",
            " / ".join(mib(r) for r in snap["rss"]),
            "",
            f"{snap['tasks']}",
            "",
            f"≈{per_worker:.0f} renders per worker; worker CPU "
            + " / ".join(f"{c:.0f} s" for c in snap["cpu_s"])
            + f"; server process {mib(snap['server_rss'])}",
        )
    if capped:
        res.notes.append(
            f"memory: stopped at the {plan.memory_cap_s:.0f} s cap after {mem[-1]['tasks']} "
            f"renders (≈{mem[-1]['tasks'] / workers:.0f} per worker), short of "
            f"{plan.memory_marks[2]} per worker"
        )
