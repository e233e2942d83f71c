"""The benchmark of the Performance issue: Pilu as a service, and its peers on the same content.

    .venv/bin/python bench/run.py            # full run, about 12 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # smaller counts, about 3-5 minutes
    .venv/bin/python bench/run.py --markdown out.md --json out.json

Prints ONE table. What it measures, in order:

1. cold start: ``pilu serve`` from process start to ``/readyz`` answering 200;
2. memory: RSS (``/proc/<pid>/status``) of each render worker after 1 and 100 renders each;
3. warm latency over HTTP, one client, p50 and p95, for PDF, DOCX and both (zip);
4. throughput in document pairs (zip) per second at 1, 2, 4 and 8 concurrent clients;
5. memory after 1,000 renders each (both workers kept busy), then the service is stopped;
6. a batch of 100 historical-year payloads, both formats (``pilu batch`` if the CLI has it,
   else ``service.jobs.batch_cli.run_batch``, else a process pool over
   ``pipeline.render_payload``; the table says which);
7. peers on the same documents: Pilu's own writers in this process (no HTTP), headless
   Chromium printing the PDF writer's HTML over CDP (warm, and one browser per document),
   LibreOffice converting Pilu's DOCX (one ``soffice --convert-to`` per document, and a
   resident soffice over UNO), the LibreOffice pipeline (docxtpl fill + UNO conversion) for
   latency and throughput, and Typst compiling an equivalent document;
8. the targets of the issue as PASS/MISS lines with their ratios (never asserted).

Every request carries a different payload (figures and one sentence vary; see
``bench/payloads.py``), so no cache helps. The service runs on a free 127.0.0.1 port with a
temporary API key; every process the benchmark starts is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import importlib.util
import io
import itertools
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import payloads, procs
from bench.service import Client, Service, session
from bench.stats import Table, mib, ms, p50, p95, ratio, secs


@dataclass(frozen=True)
class Plan:
    name: str
    cold_starts: int
    latency_n: int
    latency_warm: int
    throughput_clients: tuple[int, ...]
    throughput_s: float
    memory_marks: tuple[int, int, int]
    memory_cap_s: float
    batch_n: int
    chromium_n: int
    chromium_cold_n: int
    lo_cold_n: int
    lo_uno_n: int
    lo_pipeline_n: int
    lo_throughput_s: float
    lo_throughput_docs: int
    typst_n: int
    inproc_n: int


FULL = Plan(
    name="full",
    cold_starts=3,
    latency_n=60,
    latency_warm=2,
    throughput_clients=(1, 2, 4, 8),
    throughput_s=12.0,
    memory_marks=(1, 100, 1000),
    memory_cap_s=360.0,
    batch_n=100,
    chromium_n=25,
    chromium_cold_n=3,
    lo_cold_n=4,
    lo_uno_n=20,
    lo_pipeline_n=25,
    lo_throughput_s=12.0,
    lo_throughput_docs=120,
    typst_n=40,
    inproc_n=20,
)
QUICK = Plan(
    name="quick",
    cold_starts=1,
    latency_n=12,
    latency_warm=2,
    throughput_clients=(1, 2, 4, 8),
    throughput_s=3.0,
    memory_marks=(1, 25, 100),
    memory_cap_s=90.0,
    batch_n=24,
    chromium_n=6,
    chromium_cold_n=1,
    lo_cold_n=2,
    lo_uno_n=5,
    lo_pipeline_n=6,
    lo_throughput_s=4.0,
    lo_throughput_docs=40,
    typst_n=10,
    inproc_n=6,
)


class Variants:
    """An endless supply of different reference payloads (variant numbers never repeat)."""

    def __init__(self, seed: int) -> None:
        self.base = payloads.reference()
        self.seed = seed
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> bytes:
        with self.lock:
            n = next(self.counter)
        return payloads.encode(payloads.vary(self.base, n, seed=self.seed))

    def take(self, count: int) -> list[bytes]:
        return [self.next() for _ in range(count)]


@dataclass
class Results:
    table: Table = field(default_factory=Table)
    data: dict[str, Any] = field(default_factory=dict)
    targets: list[tuple[str, bool | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- machine ---------------------------------------------------------------------------------


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "not installed"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    debian = (
        Path("/etc/debian_version").read_text().strip()
        if Path("/etc/debian_version").exists()
        else "?"
    )

    def pkg(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "—"

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem / 2**30:.1f} GiB",
        "os": f"Debian {debian}, Linux {platform.release()}",
        "python": platform.python_version(),
        "weasyprint": pkg("weasyprint"),
        "python-docx": pkg("python-docx"),
        "aiohttp": pkg("aiohttp"),
        "typst": pkg("typst"),
        "docxtpl": pkg("docxtpl"),
        "chromium": _version(["chromium", "--version"]),
        "libreoffice": _version(["soffice", "--version"]),
    }


# --- the service -----------------------------------------------------------------------------


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


def memory_snapshot(svc: Service, label: str, res: Results) -> list[int]:
    pids = svc.worker_pids()
    rss = [procs.rss_bytes(p) for p in pids]
    cpu = [procs.cpu_seconds(p) for p in pids]
    server = procs.rss_bytes(svc.running.process.pid)
    res.data.setdefault("memory", []).append(
        {
            "label": label,
            "tasks": svc.tasks,
            "pids": pids,
            "rss": rss,
            "cpu_s": cpu,
            "server_rss": server,
        }
    )
    log(f"memory {label}: tasks {svc.tasks}, RSS {[round(r / 2**20) for r in rss]} MiB")
    return rss


async def sequential(client: Client, variants: Variants, fmt: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        elapsed, _body = await client.render(variants.next(), fmt)
        times.append(elapsed)
    return times


async def service_phases(svc: Service, plan: Plan, variants: Variants, res: Results) -> None:
    marks = plan.memory_marks
    workers = svc.workers
    async with session(limit=32) as http:
        client = Client(svc, http)
        # 1 render each (sequential requests alternate between idle workers; one task each)
        await sequential(client, variants, "pdf", workers * marks[0] - svc.tasks)
        rss_1 = memory_snapshot(svc, f"{marks[0]}", res)

        latency: dict[str, list[float]] = {}
        cpu_per_request: dict[str, float] = {}
        for fmt in ("pdf", "docx", "zip"):
            await sequential(client, variants, fmt, plan.latency_warm)
            cpu_before = sum(procs.cpu_seconds(p) for p in svc.worker_pids())
            latency[fmt] = await sequential(client, variants, fmt, plan.latency_n)
            cpu_after = sum(procs.cpu_seconds(p) for p in svc.worker_pids())
            cpu_per_request[fmt] = (cpu_after - cpu_before) / plan.latency_n
            log(
                f"latency {fmt}: p50 {p50(latency[fmt]) * 1000:.0f} ms, p95 {p95(latency[fmt]) * 1000:.0f} ms"
            )
        res.data["latency_s"] = latency
        res.data["worker_cpu_per_request_s"] = cpu_per_request
        pad = workers * marks[1] - svc.tasks
        if pad > 0:
            await sequential(client, variants, "pdf", pad)
        rss_100 = memory_snapshot(svc, f"{marks[1]}", res)

        throughput: dict[int, dict[str, float]] = {}
        for clients in plan.throughput_clients:
            throughput[clients] = await load(svc, http, variants, clients, plan.throughput_s)
            log(f"throughput {clients} clients: {throughput[clients]['pairs_per_s']:.2f} pairs/s")
        res.data["throughput"] = throughput

        # top up to marks[2] renders per worker, every worker busy, bounded in time
        target = workers * marks[2]
        started = time.perf_counter()
        capped = False
        if svc.tasks < target:

            async def topper(k: int) -> None:
                nonlocal capped
                formats = itertools.cycle(("pdf", "docx", "zip"))
                while svc.tasks < target:
                    if time.perf_counter() - started > plan.memory_cap_s:
                        capped = True
                        return
                    await client.render(variants.next(), next(formats))

            await asyncio.gather(*(topper(k) for k in range(workers)))
        rss_last = memory_snapshot(svc, f"{marks[2]}", res)
        res.data["memory_capped"] = capped

    # --- rows
    for fmt, label in (("pdf", "PDF"), ("docx", "DOCX"), ("zip", "PDF+DOCX (zip)")):
        values = latency[fmt]
        res.table.add(
            "service",
            f"warm latency over HTTP, {label}",
            ms(p50(values)),
            ms(p95(values)),
            str(len(values)),
            "",
            f"1 client, keep-alive, new payload per request; worker CPU {ms(cpu_per_request[fmt])}/request",
        )
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
    mem = res.data["memory"]
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
            f"memory: stopped at the {plan.memory_cap_s:.0f} s cap after {mem[-1]['tasks']} renders "
            f"(≈{mem[-1]['tasks'] / workers:.0f} per worker), short of {marks[2]} per worker"
        )
    res.data["rss_marks"] = {"first": rss_1, "middle": rss_100, "last": rss_last}


async def load(
    svc: Service, http: Any, variants: Variants, clients: int, duration: float
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


# --- batch -----------------------------------------------------------------------------------


def _has_batch_command() -> bool:
    pilu = Path(sys.executable).with_name("pilu")
    out = subprocess.run(
        [str(pilu), "batch", "--help"], capture_output=True, timeout=60, check=False, cwd=ROOT
    )
    return out.returncode == 0


def _has_run_batch() -> bool:
    code = "from service.jobs.batch_cli import run_batch"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=False, cwd=ROOT
    )
    return out.returncode == 0


_POOL_BATCH = """
import sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from pathlib import Path
from service import pipeline
lines = [l for l in Path(sys.argv[1]).read_bytes().splitlines() if l.strip()]
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
with ProcessPoolExecutor(int(sys.argv[3]), mp_context=multiprocessing.get_context("spawn"),
                         initializer=pipeline.warm_up) as pool:
    for i, docs in enumerate(pool.map(pipeline.render_payload, lines)):
        for fmt, data in docs.items():
            (out / f"{i:04d}.{fmt}").write_bytes(data)
"""


def batch(plan: Plan, workers: int, res: Results) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pilu-bench-batch-"))
    try:
        source = tmp / "batch.ndjson"
        source.write_bytes(b"\n".join(payloads.historical_batch(plan.batch_n, seed=7)) + b"\n")
        out = tmp / "out"
        pilu = Path(sys.executable).with_name("pilu")
        if _has_batch_command():
            how = f"`pilu batch --workers {workers}`"
            cmd = [str(pilu), "batch", str(source), "--out", str(out), "--workers", str(workers)]
        elif _has_run_batch():
            how = (
                f"service.jobs.batch_cli.run_batch(workers={workers}) (no `pilu batch` command yet)"
            )
            code = (
                "import sys; from pathlib import Path; from service.jobs.batch_cli import run_batch; "
                f"sys.exit(run_batch(Path(sys.argv[1]), Path(sys.argv[2]), {workers}))"
            )
            cmd = [sys.executable, "-c", code, str(source), str(out)]
        else:
            how = f"process pool over pipeline.render_payload ({workers} processes)"
            cmd = [sys.executable, "-c", _POOL_BATCH, str(source), str(out), str(workers)]
        log(f"batch of {plan.batch_n}: {how}")
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            procs.stop_group(proc)
            raise RuntimeError("batch did not finish within 600 s") from None
        finally:
            procs.stop_group(proc, grace=5)
        wall = time.perf_counter() - started
        pdfs = len(list(out.glob("*.pdf")))
        docxs = len(list(out.glob("*.docx")))
        ok = proc.returncode == 0 and pdfs == plan.batch_n and docxs == plan.batch_n
        if not ok:
            res.notes.append(
                f"batch: exit {proc.returncode}, {pdfs} PDF and {docxs} DOCX of {plan.batch_n}: "
                + (stderr or stdout).decode(errors="replace")[-400:]
            )
        res.data["batch"] = {
            "n": plan.batch_n,
            "wall_s": wall,
            "how": how,
            "ok": ok,
            "pdf": pdfs,
            "docx": docxs,
        }
        res.table.add(
            "batch",
            f"{plan.batch_n} historical-year payloads, PDF+DOCX",
            secs(wall),
            "",
            str(plan.batch_n),
            "",
            f"{how}; wall time incl. start-up; {pdfs} PDF + {docxs} DOCX written"
            + ("" if ok else " — INCOMPLETE"),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- peers -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF (pypdf, from the test extra); 0 when pypdf is missing."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return 0
    return len(PdfReader(io.BytesIO(data)).pages)


def preflight(skip: set[str]) -> dict[str, str]:
    """Peers that cannot run here, with the reason: they are skipped, not failed."""

    def importable(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    missing: dict[str, str] = {}
    if "chromium" not in skip:
        if not (shutil.which("chromium") or shutil.which("chromium-browser")):
            missing["chromium"] = "no chromium binary"
        elif not importable("websockets"):
            missing["chromium"] = "no websockets module for CDP"
    if "libreoffice" not in skip:
        uno = (
            subprocess.run(
                ["/usr/bin/python3", "-c", "import uno"],
                capture_output=True,
                check=False,
                timeout=60,
            )
            if Path("/usr/bin/python3").exists()
            else None
        )
        if not shutil.which("soffice"):
            missing["libreoffice"] = "no soffice binary"
        elif uno is None or uno.returncode != 0:
            missing["libreoffice"] = "/usr/bin/python3 cannot import uno (python3-uno)"
        elif not importable("docxtpl"):
            missing["libreoffice"] = "no docxtpl module"
    if "typst" not in skip and not importable("typst"):
        missing["typst"] = "no typst module"
    return missing


def peers(plan: Plan, variants: Variants, workers: int, res: Results, skip: set[str]) -> None:
    from service import pipeline
    from service.render.docx import render_docx
    from service.render.pdf import render_pdf
    from service.style import load_house_style

    count = max(plan.inproc_n, plan.chromium_n, plan.lo_uno_n, plan.lo_pipeline_n, plan.typst_n)
    documents = [pipeline.build(raw)[1] for raw in variants.take(count)]
    style = load_house_style(documents[0].meta.house_style)
    pages: dict[str, int] = {}

    # Pilu's writers in this process: the same scope as a peer's render (no HTTP, no payload)
    log("Pilu in-process")
    pipeline.warm_up()
    pdf_t, docx_t = [], []
    cpu = {"pdf": 0.0, "docx": 0.0}
    for document in documents[: plan.inproc_n]:
        c0 = time.process_time()
        t, pdf = timed(lambda: render_pdf(document, style))  # noqa: B023
        c1 = time.process_time()
        pdf_t.append(t)
        t, docx = timed(lambda: render_docx(document, style))  # noqa: B023
        cpu["pdf"] += c1 - c0
        cpu["docx"] += time.process_time() - c1
        docx_t.append(t)
    cpu = {k: v / len(pdf_t) for k, v in cpu.items()}
    pages["pilu"] = pdf_pages(pdf)
    res.data["inproc"] = {"pdf": pdf_t, "docx": docx_t, "cpu_s": cpu}
    res.table.add(
        "peers",
        "Pilu in-process render_pdf (model → PDF)",
        ms(p50(pdf_t)),
        ms(p95(pdf_t)),
        str(len(pdf_t)),
        "",
        f"no HTTP; CPU {ms(cpu['pdf'])}/render; {pages['pilu']} pages",
    )
    res.table.add(
        "peers",
        "Pilu in-process render_docx (model → DOCX)",
        ms(p50(docx_t)),
        ms(p95(docx_t)),
        str(len(docx_t)),
        "",
        f"CPU {ms(cpu['docx'])}/render; fonts embedded ({style.docx.embed_fonts}); "
        f"{len(docx) / 2**20:.1f} MiB",
    )
    pilu_pdf = p50(res.data["latency_s"]["pdf"]) if "latency_s" in res.data else p50(pdf_t)
    pilu_pair = (
        p50(res.data["latency_s"]["zip"]) if "latency_s" in res.data else p50(pdf_t) + p50(docx_t)
    )
    worker_cpu = res.data.get("worker_cpu_per_request_s", {})
    pilu_pdf_cpu = worker_cpu.get("pdf", cpu["pdf"])
    pilu_pair_cpu = worker_cpu.get("zip", cpu["pdf"] + cpu["docx"])

    # Chromium
    if "chromium" not in skip:
        from bench.peers.chromium import Chromium, cold_print, page_html

        log("Chromium warm")
        browser = Chromium(style)
        try:
            browser.print_pdf(page_html(documents[-1], style))  # first page load: untimed
            times = []
            cpu0 = browser.cpu_seconds()
            for document in documents[: plan.chromium_n]:
                html = page_html(document, style)
                t, pdf = timed(lambda: browser.print_pdf(html))  # noqa: B023
                times.append(t)
            chromium_cpu = (browser.cpu_seconds() - cpu0) / len(times)
            pages["chromium"] = pdf_pages(pdf)
            memory = browser.memory_bytes()
            fonts = browser.fonts_loaded
        finally:
            browser.close()
        res.data["chromium_warm"] = {"times": times, "pss": memory, "cpu_s": chromium_cpu}
        res.table.add(
            "peers",
            "Chromium headless print, warm (CDP)",
            ms(p50(times)),
            ms(p95(times)),
            str(len(times)),
            ratio(pilu_pdf, p50(times)),
            f"CPU {ms(chromium_cpu)}/doc (Pilu ÷ this on CPU {ratio(pilu_pdf_cpu, chromium_cpu)}); "
            f"in-process Pilu ÷ this {ratio(p50(pdf_t), p50(times))}; same HTML+CSS, {fonts} web "
            f"fonts; {pages['chromium']} pages; tree PSS {mib(memory)}",
        )
        cold = []
        for document in documents[: plan.chromium_cold_n]:
            t, _ = cold_print(style, page_html(document, style))
            cold.append(t)
        res.data["chromium_cold"] = cold
        res.table.add(
            "peers",
            "Chromium, one browser per document",
            ms(p50(cold)),
            "",
            str(len(cold)),
            ratio(pilu_pdf, p50(cold)),
            "start, load, print, quit",
        )

    # LibreOffice
    if "libreoffice" not in skip:
        libreoffice_peers(
            plan,
            variants,
            documents,
            style,
            workers,
            res,
            (pilu_pdf, pilu_pdf_cpu),
            (pilu_pair, pilu_pair_cpu),
            pages,
        )

    # Typst
    if "typst" not in skip:
        from bench.peers.typst_doc import Typst

        log("Typst")
        typst = Typst()
        typst.compile(typst.source(documents[-1], style))  # first compile loads the fonts
        times = []
        cpu0 = time.process_time()
        for document in documents[: plan.typst_n]:
            t, pdf = timed(lambda: typst.compile(typst.source(document, style)))  # noqa: B023
            times.append(t)
        typst_cpu = (time.process_time() - cpu0) / len(times)
        pages["typst"] = pdf_pages(pdf)
        res.data["typst"] = {"times": times, "cpu_s": typst_cpu}
        res.table.add(
            "peers",
            "Typst (PyPI binding), warm compiler",
            ms(p50(times)),
            ms(p95(times)),
            str(len(times)),
            ratio(pilu_pdf, p50(times)),
            f"CPU {ms(typst_cpu)}/doc (Pilu ÷ this on CPU {ratio(pilu_pdf_cpu, typst_cpu)}); "
            f"in-process Pilu ÷ this {ratio(p50(pdf_t), p50(times))}; equivalent markup from the "
            f"same model, same fonts; {pages['typst']} pages",
        )
    res.data["pages"] = pages


def libreoffice_peers(
    plan: Plan,
    variants: Variants,
    documents: list[Any],
    style: Any,
    workers: int,
    res: Results,
    pilu_pdf_times: tuple[float, float],
    pilu_pair_times: tuple[float, float],
    pages: dict[str, int],
) -> None:
    """LibreOffice rows; ``pilu_*_times`` are Pilu's (p50 seconds, CPU seconds) to compare."""
    pilu_pdf, pilu_pdf_cpu = pilu_pdf_times
    pilu_pair, pilu_pair_cpu = pilu_pair_times
    from bench.peers import libreoffice as lo
    from service.render.docx import render_docx

    work = lo.workdir()
    env = lo.fontconfig_env(work)
    converters: list[Any] = []
    try:
        sources = []
        for i, document in enumerate(documents[: max(plan.lo_uno_n, plan.lo_cold_n)]):
            path = work / f"pilu-{i}.docx"
            path.write_bytes(render_docx(document, style))
            sources.append(path)

        log("LibreOffice cold")
        cold_out = work / "cold"
        cold_out.mkdir()
        profile = work / "profile-cold"
        lo.cold_convert(sources[-1], work, profile, env)  # creates the profile: untimed
        cold = [lo.cold_convert(src, cold_out, profile, env) for src in sources[: plan.lo_cold_n]]
        res.data["lo_cold"] = cold
        res.table.add(
            "peers",
            "LibreOffice soffice --convert-to, per document",
            ms(p50(cold)),
            "",
            str(len(cold)),
            ratio(pilu_pdf, p50(cold)),
            "Pilu's DOCX → PDF, one process each",
        )

        log("LibreOffice resident (UNO)")
        converters.append(lo.UnoConverter(work, env, "0"))
        uno = converters[0]
        uno.convert(sources[-1], work / "warm.pdf")  # first load: untimed
        cpu0 = uno.cpu_seconds()
        times = [
            uno.convert(src, work / f"uno-{i}.pdf")
            for i, src in enumerate(sources[: plan.lo_uno_n])
        ]
        uno_cpu = (uno.cpu_seconds() - cpu0) / len(times)
        pages["libreoffice"] = pdf_pages((work / "uno-0.pdf").read_bytes())
        res.data["lo_uno"] = {"times": times, "cpu_s": uno_cpu}
        res.table.add(
            "peers",
            "LibreOffice resident soffice over UNO",
            ms(p50(times)),
            ms(p95(times)),
            str(len(times)),
            ratio(pilu_pdf, p50(times)),
            f"CPU {ms(uno_cpu)}/doc (Pilu ÷ this on CPU {ratio(pilu_pdf_cpu, uno_cpu)}); "
            f"Pilu's DOCX (fonts embedded) → PDF; {pages['libreoffice']} pages",
        )

        # the LibreOffice pipeline: docxtpl fill + UNO, one document at a time
        log("LibreOffice pipeline")
        fill = lo.TemplateFill()
        jobs = [fill.template_for(d, style) for d in documents[: plan.lo_pipeline_n]]
        spawn = multiprocessing.get_context("spawn")  # never fork a process that loaded WeasyPrint
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            pool.submit(lo.fill_to_file, *jobs[0], str(work / "warm-fill.docx")).result()
            uno.convert(work / "warm-fill.docx", work / "warm-fill.pdf")
            fills, converts, totals, fill_cpu = [], [], [], 0.0
            cpu0 = uno.cpu_seconds()
            for i, (template, context) in enumerate(jobs):
                started = time.perf_counter()
                path = work / f"fill-{i}.docx"
                wall, cpu_s = pool.submit(lo.fill_to_file, template, context, str(path)).result()
                fills.append(wall)
                fill_cpu += cpu_s
                converts.append(uno.convert(path, work / f"fill-{i}.pdf"))
                totals.append(time.perf_counter() - started)
            pipeline_cpu = (fill_cpu + uno.cpu_seconds() - cpu0) / len(totals)
        res.data["lo_pipeline"] = {
            "fill": fills,
            "convert": converts,
            "total": totals,
            "pss": uno.memory_bytes(),
            "cpu_s": pipeline_cpu,
        }
        res.table.add(
            "peers",
            "LibreOffice pipeline: docxtpl fill + UNO → DOCX+PDF",
            ms(p50(totals)),
            ms(p95(totals)),
            str(len(totals)),
            ratio(pilu_pair, p50(totals)),
            f"CPU {ms(pipeline_cpu)}/pair (Pilu ÷ this on CPU {ratio(pilu_pair_cpu, pipeline_cpu)}); "
            f"fill p50 {ms(p50(fills))} + convert p50 {ms(p50(converts))}; "
            f"soffice PSS {mib(uno.memory_bytes())}; template without embedded fonts",
        )

        # throughput: one fill process and one resident soffice per core
        for i in range(1, workers):
            converters.append(lo.UnoConverter(work, env, str(i)))
            converters[-1].convert(sources[-1], work / f"warm-{i}.pdf")
        done: list[float] = []
        counter = itertools.count()
        lock = threading.Lock()
        from service import pipeline

        lane_jobs = [
            fill.template_for(pipeline.build(raw)[1], style)
            for raw in variants.take(plan.lo_throughput_docs)
        ]
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            warm = [
                pool.submit(lo.fill_to_file, *jobs[0], str(work / f"w{k}.docx"))
                for k in range(workers)
            ]
            for future in warm:
                future.result()
            started = time.perf_counter()
            deadline = started + plan.lo_throughput_s

            def lane(conv: Any) -> None:
                while time.perf_counter() < deadline:
                    with lock:
                        n = next(counter)
                    template, context = lane_jobs[n % len(lane_jobs)]
                    path = work / f"tp-{n}.docx"
                    t0 = time.perf_counter()
                    pool.submit(lo.fill_to_file, template, context, str(path)).result()
                    conv.convert(path, work / f"tp-{n}.pdf")
                    with lock:
                        done.append(time.perf_counter() - t0)
                    path.unlink(missing_ok=True)
                    (work / f"tp-{n}.pdf").unlink(missing_ok=True)

            with ThreadPoolExecutor(workers) as lanes:
                list(lanes.map(lane, converters))
            wall = time.perf_counter() - started
        rate = len(done) / wall
        if len(done) > len(lane_jobs):
            res.notes.append(
                f"LibreOffice throughput: {len(done)} pairs from {len(lane_jobs)} different payloads (cycled)"
            )
        res.data["lo_throughput"] = {
            "pairs": len(done),
            "wall_s": wall,
            "pairs_per_s": rate,
            "lanes": workers,
        }
        best = max(
            (t["pairs_per_s"] for t in res.data.get("throughput", {}).values()), default=math.nan
        )
        res.table.add(
            "peers",
            f"LibreOffice pipeline throughput, {workers} lanes",
            f"{rate:.2f} pairs/s",
            "",
            str(len(done)),
            ratio(best, rate) if not math.isnan(best) else "—",
            f"{workers} fill processes + {workers} resident soffice; Pilu ÷ peer = Pilu best ÷ this",
        )
    finally:
        for conv in converters:
            conv.close()
        shutil.rmtree(work, ignore_errors=True)


# --- targets ---------------------------------------------------------------------------------


def targets(plan: Plan, res: Results) -> None:
    d = res.data
    lat = d.get("latency_s", {})
    cpu = d.get("worker_cpu_per_request_s", {})

    def on_cpu(ours: float | None, theirs: float | None) -> str:
        """The same comparison in CPU time, which other load on the machine disturbs less."""
        if not ours or not theirs:
            return ""
        return f"; on CPU time {ms(ours)} vs {ms(theirs)}: ratio {ours / theirs:.2f}"

    def add(name: str, ok: bool | None, detail: str) -> None:
        res.targets.append((name, ok, detail))

    if lat and d.get("chromium_warm"):
        r = p50(lat["pdf"]) / p50(d["chromium_warm"]["times"])
        add(
            "PDF p50 ≤ ½ × warm Chromium p50",
            r <= 0.5,
            f"Pilu {ms(p50(lat['pdf']))} vs Chromium {ms(p50(d['chromium_warm']['times']))}: "
            f"ratio {r:.2f} (target ≤ 0.50)"
            + on_cpu(cpu.get("pdf"), d["chromium_warm"].get("cpu_s")),
        )
    else:
        add("PDF p50 ≤ ½ × warm Chromium p50", None, "not measured")
    if lat and d.get("lo_pipeline"):
        r = p50(lat["zip"]) / p50(d["lo_pipeline"]["total"])
        add(
            "DOCX+PDF pair p50 < resident-LibreOffice pipeline p50",
            r < 1,
            f"Pilu {ms(p50(lat['zip']))} vs LibreOffice pipeline "
            f"{ms(p50(d['lo_pipeline']['total']))}: ratio {r:.2f} (target < 1.00)"
            + on_cpu(cpu.get("zip"), d["lo_pipeline"].get("cpu_s")),
        )
    else:
        add("DOCX+PDF pair p50 < resident-LibreOffice pipeline p50", None, "not measured")
    if d.get("throughput") and d.get("lo_throughput"):
        best_clients, best = max(d["throughput"].items(), key=lambda kv: kv[1]["pairs_per_s"])
        r = best["pairs_per_s"] / d["lo_throughput"]["pairs_per_s"]
        add(
            "throughput ≥ 2 × LibreOffice pipeline",
            r >= 2,
            f"Pilu {best['pairs_per_s']:.2f} pairs/s ({best_clients} clients) vs "
            f"{d['lo_throughput']['pairs_per_s']:.2f}: ratio {r:.2f} (target ≥ 2.00)"
            + (
                f"; on CPU time a pair costs Pilu {ms(cpu['zip'])} and the LibreOffice pipeline "
                f"{ms(d['lo_pipeline']['cpu_s'])}: capacity ratio "
                f"{d['lo_pipeline']['cpu_s'] / cpu['zip']:.2f}"
                if cpu.get("zip") and d.get("lo_pipeline", {}).get("cpu_s")
                else ""
            ),
        )
    else:
        add("throughput ≥ 2 × LibreOffice pipeline", None, "not measured")
    mem = d.get("memory", [])
    if len(mem) >= 3:
        last, middle = mem[-1]["rss"], mem[-2]["rss"]
        worst = max(last) / 2**20
        growth = max((a / b - 1) for a, b in zip(last, middle, strict=False) if b)
        label_last, label_mid = mem[-1]["label"], mem[-2]["label"]
        if d.get("memory_capped"):
            label_last = f"≈{mem[-1]['tasks'] / max(1, len(last)):.0f}"
        full = plan.memory_marks == FULL.memory_marks and not d.get("memory_capped")
        add(
            f"worker RSS < 250 MiB after {label_last} renders",
            worst < 250,
            f"largest {worst:.0f} MiB"
            + ("" if full else " (short run: not the 1,000 of the target)"),
        )
        add(
            f"worker RSS growth ≤ 10 % from {label_mid} to {label_last} renders",
            growth <= 0.10,
            f"largest growth {growth * 100:+.1f} %",
        )
    b = d.get("batch")
    if b:
        scaled = b["wall_s"] * 100 / b["n"]
        ok = b["ok"] and scaled < 15
        detail = f"{b['wall_s']:.1f} s for {b['n']}" + (
            "" if b["n"] == 100 else f" (≈{scaled:.1f} s per 100)"
        )
        add("100-document batch < 15 s", ok, detail + ("" if b["ok"] else "; batch incomplete"))
    else:
        add("100-document batch < 15 s", None, "not measured")


# --- main ------------------------------------------------------------------------------------


class Stop(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise Stop(f"signal {signum}")


def wait_idle(limit_s: float, threshold: float) -> float:
    """Wait up to ``limit_s`` for the 1-minute load average to fall under ``threshold``."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and os.getloadavg()[0] > threshold:
        time.sleep(5)
    return os.getloadavg()[0]


def render_report(
    plan: Plan,
    info: dict[str, str],
    res: Results,
    started: dt.datetime,
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
    wall: float,
    workers: int,
) -> str:
    lines = [
        f"Pilu benchmark ({plan.name} run) — {started.strftime('%Y-%m-%d %H:%M %Z')}, {wall / 60:.1f} min",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; {info['os']}",
        (
            f"software: Python {info['python']}, WeasyPrint {info['weasyprint']}, "
            f"python-docx {info['python-docx']}, aiohttp {info['aiohttp']}; {info['chromium']}; "
            f"{info['libreoffice']}; typst {info['typst']}; docxtpl {info['docxtpl']}"
        ),
        (
            f"service: pilu serve on 127.0.0.1, {workers} workers, worker recycling off "
            "(PILU_MAX_TASKS_PER_CHILD=1000000) so memory growth shows"
        ),
        (
            f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in load_start)} at start, "
            f"{' '.join(f'{x:.2f}' for x in load_end)} at end"
        ),
        f"other processes' CPU during the run (cores of {info['cores']}): "
        + ", ".join(f"{k} {v:.2f}" for k, v in res.data.get("foreign_cores", {}).items())
        + (
            "  ⚠ machine shared: these numbers are slower than on an idle machine"
            if max(res.data.get("foreign_cores", {}).values(), default=0) > 0.25
            else ""
        ),
        "",
        res.table.text(),
        "",
        "Targets (evaluated, not asserted):",
    ]
    for name, ok, detail in res.targets:
        mark = "PASS" if ok else ("MISS" if ok is not None else "n/a ")
        lines.append(f"  {mark}  {name}: {detail}")
    if res.notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in res.notes)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 3 minutes)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="service workers (default: CPU count)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to skip: service,batch,chromium,libreoffice,typst",
    )
    parser.add_argument("--json", type=Path, help="also write every sample as JSON here")
    parser.add_argument(
        "--markdown", type=Path, help="also write the report (table in Markdown) here"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for the 1-minute load average to fall under 0.5",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the payload variations")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    missing = preflight(skip)
    skip |= set(missing)
    if args.wait_idle:
        log(f"waiting up to {args.wait_idle:.0f} s for an idle machine")
        wait_idle(args.wait_idle, 0.5)
    signal.signal(signal.SIGTERM, _on_signal)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    info = machine()
    res = Results()
    foreign = procs.ForeignLoad()
    whole = procs.ForeignLoad()

    def phase_done(name: str) -> None:
        res.data.setdefault("foreign_cores", {})[name] = foreign.cores()
        log(f"{name}: other processes used {foreign.cores():.2f} cores meanwhile")
        foreign.mark()

    for part, why in missing.items():
        log(f"skipping {part}: {why} (install with: bash scripts/install-bench.sh)")
        res.notes.append(f"{part} not run: {why}; install with `bash scripts/install-bench.sh`")
    variants = Variants(args.seed)
    svc: Service | None = None
    try:
        if "service" not in skip:
            svc = cold_starts(plan, args.workers, res)
            asyncio.run(service_phases(svc, plan, variants, res))
            svc.stop()
            svc = None
            phase_done("service")
        if "batch" not in skip:
            batch(plan, args.workers, res)
            phase_done("batch")
        peers(plan, variants, args.workers, res, skip)
        phase_done("peers")
        res.data["foreign_cores"]["whole run"] = whole.cores()
    except (KeyboardInterrupt, Stop) as exc:
        log(f"interrupted ({exc!r}); stopping everything started")
        return 130
    finally:
        if svc is not None:
            svc.stop()
    targets(plan, res)
    wall = time.perf_counter() - t0
    report = render_report(
        plan, info, res, started, load_start, os.getloadavg(), wall, args.workers
    )
    print(report)
    if args.markdown:
        md = report.replace(res.table.text(), res.table.markdown())
        args.markdown.write_text(md + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "plan": plan.__dict__,
                    "machine": info,
                    "results": res.data,
                    "targets": res.targets,
                    "notes": res.notes,
                },
                default=str,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
