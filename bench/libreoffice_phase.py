"""LibreOffice on the same documents: converting Pilu's DOCX (one process per document, and a
resident soffice over UNO), and the LibreOffice pipeline (docxtpl fill + UNO) for latency and
throughput. Fill processes are spawned, never forked from a process that loaded WeasyPrint."""

from __future__ import annotations

import itertools
import math
import multiprocessing
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.peer_phase import Baseline, best_throughput
from bench.plan import Plan, Results, Variants, log, pdf_pages
from bench.stats import mib, ms, p50, ratio

SPAWN = multiprocessing.get_context("spawn")

Job = tuple[bytes, dict[str, Any]]
"""A docxtpl template and the context that fills it."""


def libreoffice(
    plan: Plan,
    variants: Variants,
    documents: list[Any],
    style: Any,
    workers: int,
    pilu: Baseline,
    res: Results,
    pages: dict[str, int],
) -> None:
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
        cold(plan, work, env, sources, pilu, res)
        converters.append(lo.UnoConverter(work, env, "0"))
        resident(plan, work, converters[0], sources, pilu, res, pages)
        fill = lo.TemplateFill()
        jobs = [fill.template_for(d, style) for d in documents[: plan.lo_pipeline_n]]
        pipeline(work, converters[0], jobs, pilu, res)
        for i in range(1, workers):  # one fill process and one resident soffice per lane
            converters.append(lo.UnoConverter(work, env, str(i)))
            converters[-1].convert(sources[-1], work / f"warm-{i}.pdf")
        from service import pipeline as pilu_pipeline

        lane_jobs = [
            fill.template_for(pilu_pipeline.build(raw)[1], style)
            for raw in variants.take(plan.lo_throughput_docs)
        ]
        throughput(plan, work, converters, jobs[0], lane_jobs, res)
    finally:
        for conv in converters:
            conv.close()
        shutil.rmtree(work, ignore_errors=True)


def cold(
    plan: Plan, work: Path, env: dict[str, str], sources: list[Path], pilu: Baseline, res: Results
) -> None:
    """One ``soffice --convert-to pdf`` per document (the profile made first, untimed)."""
    from bench.peers import libreoffice as lo

    log("LibreOffice cold")
    out = work / "cold"
    out.mkdir()
    profile = work / "profile-cold"
    lo.cold_convert(sources[-1], work, profile, env)  # creates the profile: untimed
    times = [lo.cold_convert(src, out, profile, env) for src in sources[: plan.lo_cold_n]]
    res.data["lo_cold"] = times
    res.table.timings(
        "peers",
        "LibreOffice soffice --convert-to, per document",
        times,
        pilu.pdf_s,
        "Pilu's DOCX → PDF, one process each",
        with_p95=False,
    )


def resident(
    plan: Plan,
    work: Path,
    uno: Any,
    sources: list[Path],
    pilu: Baseline,
    res: Results,
    pages: dict[str, int],
) -> None:
    """Pilu's DOCX converted by one resident soffice over UNO."""
    log("LibreOffice resident (UNO)")
    uno.convert(sources[-1], work / "warm.pdf")  # first load: untimed
    cpu0 = uno.cpu_seconds()
    times = [
        uno.convert(src, work / f"uno-{i}.pdf") for i, src in enumerate(sources[: plan.lo_uno_n])
    ]
    cpu_s = (uno.cpu_seconds() - cpu0) / len(times)
    pages["libreoffice"] = pdf_pages((work / "uno-0.pdf").read_bytes())
    res.data["lo_uno"] = {"times": times, "cpu_s": cpu_s}
    res.table.timings(
        "peers",
        "LibreOffice resident soffice over UNO",
        times,
        pilu.pdf_s,
        f"CPU {ms(cpu_s)}/doc (Pilu ÷ this on CPU {ratio(pilu.pdf_cpu_s, cpu_s)}); "
        f"Pilu's DOCX (fonts embedded) → PDF; {pages['libreoffice']} pages",
    )


def pipeline(work: Path, uno: Any, jobs: list[Job], pilu: Baseline, res: Results) -> None:
    """The LibreOffice pipeline one document at a time: docxtpl fill, then UNO conversion."""
    from bench.peers import libreoffice as lo

    log("LibreOffice pipeline")
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
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
        cpu_s = (fill_cpu + uno.cpu_seconds() - cpu0) / len(totals)
    res.data["lo_pipeline"] = {
        "fill": fills,
        "convert": converts,
        "total": totals,
        "pss": uno.memory_bytes(),
        "cpu_s": cpu_s,
    }
    res.table.timings(
        "peers",
        "LibreOffice pipeline: docxtpl fill + UNO → DOCX+PDF",
        totals,
        pilu.pair_s,
        f"CPU {ms(cpu_s)}/pair (Pilu ÷ this on CPU {ratio(pilu.pair_cpu_s, cpu_s)}); "
        f"fill p50 {ms(p50(fills))} + convert p50 {ms(p50(converts))}; "
        f"soffice PSS {mib(uno.memory_bytes())}; template without embedded fonts",
    )


def throughput(
    plan: Plan,
    work: Path,
    converters: list[Any],
    warm_job: Job,
    lane_jobs: list[Job],
    res: Results,
) -> None:
    """One lane per converter for ``plan.lo_throughput_s``: fill a template, convert it."""
    from bench.peers import libreoffice as lo

    lanes = len(converters)
    done: list[float] = []
    counter = itertools.count()
    lock = threading.Lock()
    with ProcessPoolExecutor(lanes, mp_context=SPAWN) as pool:
        warm = [
            pool.submit(lo.fill_to_file, *warm_job, str(work / f"w{k}.docx")) for k in range(lanes)
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
                docx, pdf = work / f"tp-{n}.docx", work / f"tp-{n}.pdf"
                t0 = time.perf_counter()
                pool.submit(lo.fill_to_file, template, context, str(docx)).result()
                conv.convert(docx, pdf)
                with lock:
                    done.append(time.perf_counter() - t0)
                docx.unlink(missing_ok=True)
                pdf.unlink(missing_ok=True)

        with ThreadPoolExecutor(lanes) as threads:
            list(threads.map(lane, converters))
        wall = time.perf_counter() - started
    rate = len(done) / wall
    if len(done) > len(lane_jobs):
        res.notes.append(
            f"LibreOffice throughput: {len(done)} pairs from {len(lane_jobs)} different "
            "payloads (cycled)"
        )
    res.data["lo_throughput"] = {
        "pairs": len(done),
        "wall_s": wall,
        "pairs_per_s": rate,
        "lanes": lanes,
    }
    best = best_throughput(res)
    res.table.add(
        "peers",
        f"LibreOffice pipeline throughput, {lanes} lanes",
        f"{rate:.2f} pairs/s",
        "",
        str(len(done)),
        ratio(best, rate) if not math.isnan(best) else "—",
        f"{lanes} fill processes + {lanes} resident soffice; Pilu ÷ peer = Pilu best ÷ this",
    )
