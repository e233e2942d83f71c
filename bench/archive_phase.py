"""The archive at scale on PostgreSQL: a batch through ``pilu serve``, the database it leaves,
and the server's memory while many DOCX are downloaded at once.

A fresh database (``pilu_bench_<random>`` on the local cluster, dropped afterwards) backs a
``pilu serve`` of its own. The batch of ``plan.batch_n`` historical-year payloads is posted to
``/v1/batches`` and polled until finished; then ``pg_database_size`` is read, and every DOCX of
the batch is downloaded at once (one connection each) while the server process's RSS is sampled
every 20 ms. The RSS is the server's own process (the render workers are other processes).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import subprocess
import time
from dataclasses import dataclass

import aiohttp

from bench import payloads, procs
from bench.plan import Plan, Results, log
from bench.server import Server, start_server
from bench.stats import mib, secs

PG = os.environ.get("PILU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
BATCH_TIMEOUT_S = 900


@dataclass(frozen=True)
class ArchiveRun:
    batch_s: float
    batch_cpu_s: float
    """CPU time of the server and its workers during the batch (less disturbed by other load)."""
    done: int
    database_bytes: int
    empty_database_bytes: int
    """After the migrations, before the batch."""
    downloads: int
    download_s: float
    rss_before: int
    rss_peak: int
    intact: bool
    """Every download had the SHA-256 its manifest names."""


def archive(plan: Plan, workers: int, res: Results) -> None:
    name = f"pilu_bench_{secrets.token_hex(4)}"
    _psql("postgres", f'CREATE DATABASE "{name}"')
    server: Server | None = None
    try:
        server = start_server(
            {
                "PILU_WORKERS": str(workers),
                "PILU_DATABASE_URL": f"{PG}/{name}",
                "PILU_RENDER_TIMEOUT_S": "120",
                "PILU_LOG_LEVEL": "WARNING",
            },
            timeout_s=180,
        )
        log(f"archive: batch of {plan.batch_n} on PostgreSQL, then {plan.batch_n} DOCX at once")
        run = asyncio.run(_measure(server, plan.batch_n, name))
    finally:
        if server is not None:
            procs.stop_group(server.process, grace=15)
            server.remove()
        _psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(plan, run, res)


async def _measure(server: Server, n: int, database: str) -> ArchiveRun:
    headers = {"Authorization": f"Bearer {server.key}"}
    body = b"\n".join(payloads.historical_batch(n, seed=11)) + b"\n"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=600)
    ) as http:
        empty = int(_psql(database, f"SELECT pg_database_size('{database}')"))
        cpu_before = procs.tree_cpu_seconds(server.process.pid)
        started = time.perf_counter()
        async with http.post(
            f"{server.url}/v1/batches",
            data=body,
            headers={**headers, "Content-Type": "application/x-ndjson"},
        ) as response:
            batch = await response.json()
            if response.status != 202:
                raise RuntimeError(f"batch refused: {response.status} {batch}")
        status = await _wait_finished(http, server, headers, batch["id"])
        batch_s = time.perf_counter() - started
        batch_cpu_s = procs.tree_cpu_seconds(server.process.pid) - cpu_before
        size = int(_psql(database, f"SELECT pg_database_size('{database}')"))
        items = await _items(http, server, headers, batch["id"])
        rss_before = procs.rss_bytes(server.process.pid)
        sampler = _RssSampler(server.process.pid)
        sampling = asyncio.create_task(sampler.run())
        started = time.perf_counter()
        digests = await asyncio.gather(*(_download(http, server, headers, i) for i in items))
        download_s = time.perf_counter() - started
        sampler.stop = True
        await sampling
    expected = [i["docx_sha256"] for i in items]
    return ArchiveRun(
        batch_s=batch_s,
        batch_cpu_s=batch_cpu_s,
        done=int(str(status["done"])),
        database_bytes=size,
        empty_database_bytes=empty,
        downloads=len(items),
        download_s=download_s,
        rss_before=rss_before,
        rss_peak=max(sampler.peak, rss_before),
        intact=digests == expected,
    )


async def _wait_finished(
    http: aiohttp.ClientSession, server: Server, headers: dict[str, str], batch_id: str
) -> dict[str, object]:
    deadline = time.perf_counter() + BATCH_TIMEOUT_S
    while time.perf_counter() < deadline:
        async with http.get(f"{server.url}/v1/batches/{batch_id}?limit=1", headers=headers) as r:
            status: dict[str, object] = await r.json()
        if status["state"] == "finished":
            return status
        await asyncio.sleep(0.2)
    raise RuntimeError(f"batch not finished within {BATCH_TIMEOUT_S} s")


async def _items(
    http: aiohttp.ClientSession, server: Server, headers: dict[str, str], batch_id: str
) -> list[dict[str, str]]:
    """Each done item's DOCX link and the SHA-256 its document's manifest names."""
    url = f"{server.url}/v1/batches/{batch_id}?state=done&limit=1000"
    async with http.get(url, headers=headers) as r:
        items = (await r.json())["items"]
    found = []
    for item in items:
        async with http.get(
            f"{server.url}/v1/documents/{item['document_id']}", headers=headers
        ) as r:
            doc = await r.json()
        found.append(
            {
                "url": f"{server.url}/v1/documents/{item['document_id']}/docx",
                "docx_sha256": doc["manifest"]["outputs"]["docx"]["sha256"],
            }
        )
    return found


async def _download(
    http: aiohttp.ClientSession, server: Server, headers: dict[str, str], item: dict[str, str]
) -> str:
    digest = hashlib.sha256()
    async with http.get(item["url"], headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"download: HTTP {response.status}")
        async for chunk in response.content.iter_chunked(64 * 1024):
            digest.update(chunk)
            await asyncio.sleep(0.001)  # a reader slower than the loopback, as clients are
    return digest.hexdigest()


class _RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, 0, False

    async def run(self) -> None:
        while not self.stop:
            self.peak = max(self.peak, procs.rss_bytes(self.pid))
            await asyncio.sleep(0.02)


def _psql(database: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", f"{PG}/{database}", "-XAtqc", sql], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def report(plan: Plan, run: ArchiveRun, res: Results) -> None:
    res.data["archive"] = run.__dict__
    ok = run.done == plan.batch_n and run.intact
    if not ok:
        res.notes.append(
            f"archive: {run.done} of {plan.batch_n} done, downloads intact: {run.intact}"
        )
    res.table.add(
        "archive",
        f"{plan.batch_n}-document batch on PostgreSQL (POST /v1/batches)",
        secs(run.batch_s),
        "",
        str(plan.batch_n),
        "",
        f"submit to finished, through pilu serve; server and workers used {run.batch_cpu_s:.0f} "
        "CPU s",
    )
    res.table.add(
        "archive",
        "PostgreSQL database size after the batch",
        mib(run.database_bytes),
        "",
        "",
        "",
        f"pg_database_size; {mib(run.empty_database_bytes)} before the batch, "
        f"{(run.database_bytes - run.empty_database_bytes) / max(run.done, 1) / 1000:.0f} KB "
        "per document (the shared fonts, ~2 MB once, included)",
    )
    res.table.add(
        "archive",
        f"server RSS during {run.downloads} concurrent DOCX downloads",
        mib(run.rss_peak),
        "",
        str(run.downloads),
        "",
        f"peak of the server process (before: {mib(run.rss_before)}); "
        f"{secs(run.download_s)} for all; SHA-256 "
        + ("all as in the manifests" if run.intact else "MISMATCH"),
    )
