"""Peers on the same documents: Pilu's own writers in this process, Chromium and Typst.

LibreOffice's rows are in ``bench/libreoffice_phase.py``. Each peer's row compares it with
Pilu's figures (:class:`Baseline`): over HTTP when the service part ran, else in-process.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.plan import Plan, Results, Variants, log, pdf_pages, timed
from bench.stats import mib, ms, p50, ratio


@dataclass(frozen=True)
class Baseline:
    """Pilu's figures a peer is compared with: p50 seconds and CPU seconds per document."""

    pdf_s: float
    pdf_cpu_s: float
    pair_s: float
    """A PDF and a DOCX of one document."""
    pair_cpu_s: float
    inproc_pdf_s: float
    """``render_pdf`` in this process: the same scope as a peer's render."""


def preflight(skip: set[str]) -> dict[str, str]:
    """Peers that cannot run here, with the reason: they are skipped, not failed."""
    missing: dict[str, str] = {}
    if "chromium" not in skip:
        if not (shutil.which("chromium") or shutil.which("chromium-browser")):
            missing["chromium"] = "no chromium binary"
        elif not _importable("websockets"):
            missing["chromium"] = "no websockets module for CDP"
    if "libreoffice" not in skip:
        if not shutil.which("soffice"):
            missing["libreoffice"] = "no soffice binary"
        elif not _system_python_has_uno():
            missing["libreoffice"] = "/usr/bin/python3 cannot import uno (python3-uno)"
        elif not _importable("docxtpl"):
            missing["libreoffice"] = "no docxtpl module"
    if "typst" not in skip and not _importable("typst"):
        missing["typst"] = "no typst module"
    return missing


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _system_python_has_uno() -> bool:
    if not Path("/usr/bin/python3").exists():
        return False
    check = ["/usr/bin/python3", "-c", "import uno"]
    return subprocess.run(check, capture_output=True, check=False, timeout=60).returncode == 0


def peers(plan: Plan, variants: Variants, workers: int, res: Results, skip: set[str]) -> None:
    from service import pipeline
    from service.style import load_house_style

    count = max(plan.inproc_n, plan.chromium_n, plan.lo_uno_n, plan.lo_pipeline_n, plan.typst_n)
    documents = [pipeline.build(raw)[1] for raw in variants.take(count)]
    style = load_house_style(documents[0].meta.house_style)
    pages: dict[str, int] = {}
    baseline = in_process(plan, documents, style, res, pages)
    if "chromium" not in skip:
        chromium(plan, documents, style, baseline, res, pages)
    if "libreoffice" not in skip:
        from bench.libreoffice_phase import libreoffice

        libreoffice(plan, variants, documents, style, workers, baseline, res, pages)
    if "typst" not in skip:
        typst(plan, documents, style, baseline, res, pages)
    res.data["pages"] = pages


def in_process(
    plan: Plan, documents: list[Any], style: Any, res: Results, pages: dict[str, int]
) -> Baseline:
    """Pilu's writers in this process: the same scope as a peer's render (no HTTP, no payload)."""
    from service import pipeline
    from service.render.docx import render_docx
    from service.render.pdf import render_pdf

    log("Pilu in-process")
    pipeline.warm_up()
    pdf_t, plain_t, docx_t = [], [], []
    cpu = {"pdf": 0.0, "plain": 0.0, "docx": 0.0}
    pdf = docx = b""
    for document in documents[: plan.inproc_n]:
        c0 = time.process_time()
        t, pdf = timed(lambda: render_pdf(document, style))  # noqa: B023
        c1 = time.process_time()
        pdf_t.append(t)
        t, _ = timed(lambda: render_pdf(document, style, variant="plain"))  # noqa: B023
        c2 = time.process_time()
        plain_t.append(t)
        t, docx = timed(lambda: render_docx(document, style))  # noqa: B023
        cpu["pdf"] += c1 - c0
        cpu["plain"] += c2 - c1
        cpu["docx"] += time.process_time() - c2
        docx_t.append(t)
    cpu = {k: v / len(pdf_t) for k, v in cpu.items()}
    pages["pilu"] = pdf_pages(pdf)
    res.data["inproc"] = {"pdf": pdf_t, "pdf_plain": plain_t, "docx": docx_t, "cpu_s": cpu}
    res.table.timings(
        "peers",
        "Pilu in-process render_pdf (model → PDF)",
        pdf_t,
        None,
        f"no HTTP; PDF/A-3b, tagged; CPU {ms(cpu['pdf'])}/render; {pages['pilu']} pages",
    )
    res.table.timings(
        "peers",
        "Pilu in-process render_pdf, plain PDF",
        plain_t,
        None,
        f"untagged, no XMP; PDF/A-3b and tagging cost "
        f"{100 * (p50(pdf_t) / p50(plain_t) - 1):+.1f} % (p50), "
        f"{100 * (cpu['pdf'] / cpu['plain'] - 1):+.1f} % (CPU); the same documents, interleaved",
    )
    res.table.timings(
        "peers",
        "Pilu in-process render_docx (model → DOCX)",
        docx_t,
        None,
        f"CPU {ms(cpu['docx'])}/render; fonts embedded ({style.docx.embed_fonts}); "
        f"{len(docx) / 2**20:.1f} MiB",
    )
    latency = res.data.get("latency_s")
    worker_cpu = res.data.get("worker_cpu_per_request_s", {})
    return Baseline(
        pdf_s=p50(latency["pdf"]) if latency else p50(pdf_t),
        pdf_cpu_s=worker_cpu.get("pdf", cpu["pdf"]),
        pair_s=p50(latency["zip"]) if latency else p50(pdf_t) + p50(docx_t),
        pair_cpu_s=worker_cpu.get("zip", cpu["pdf"] + cpu["docx"]),
        inproc_pdf_s=p50(pdf_t),
    )


def chromium(
    plan: Plan,
    documents: list[Any],
    style: Any,
    pilu: Baseline,
    res: Results,
    pages: dict[str, int],
) -> None:
    """Headless Chromium printing the PDF writer's HTML: one warm browser, then one per document."""
    from bench.peers.chromium import Chromium, cold_print, page_html

    log("Chromium warm")
    browser = Chromium(style)
    try:
        browser.print_pdf(page_html(documents[-1], style))  # first page load: untimed
        times = []
        pdf = b""
        cpu0 = browser.cpu_seconds()
        for document in documents[: plan.chromium_n]:
            html = page_html(document, style)
            t, pdf = timed(lambda: browser.print_pdf(html))  # noqa: B023
            times.append(t)
        cpu_s = (browser.cpu_seconds() - cpu0) / len(times)
        memory = browser.memory_bytes()
        fonts = browser.fonts_loaded
    finally:
        browser.close()
    pages["chromium"] = pdf_pages(pdf)
    res.data["chromium_warm"] = {"times": times, "pss": memory, "cpu_s": cpu_s}
    res.table.timings(
        "peers",
        "Chromium headless print, warm (CDP)",
        times,
        pilu.pdf_s,
        f"CPU {ms(cpu_s)}/doc (Pilu ÷ this on CPU {ratio(pilu.pdf_cpu_s, cpu_s)}); "
        f"in-process Pilu ÷ this {ratio(pilu.inproc_pdf_s, p50(times))}; same HTML+CSS, "
        f"{fonts} web fonts; {pages['chromium']} pages; tree PSS {mib(memory)}",
    )
    cold = [
        cold_print(style, page_html(document, style))[0]
        for document in documents[: plan.chromium_cold_n]
    ]
    res.data["chromium_cold"] = cold
    res.table.timings(
        "peers",
        "Chromium, one browser per document",
        cold,
        pilu.pdf_s,
        "start, load, print, quit",
        with_p95=False,
    )


def typst(
    plan: Plan,
    documents: list[Any],
    style: Any,
    pilu: Baseline,
    res: Results,
    pages: dict[str, int],
) -> None:
    """Typst compiling markup written from the same model, with one warm compiler."""
    from bench.peers.typst_doc import Typst

    log("Typst")
    compiler = Typst()
    compiler.compile(compiler.source(documents[-1], style))  # first compile loads the fonts
    times = []
    pdf = b""
    cpu0 = time.process_time()
    for document in documents[: plan.typst_n]:
        t, pdf = timed(lambda: compiler.compile(compiler.source(document, style)))  # noqa: B023
        times.append(t)
    cpu_s = (time.process_time() - cpu0) / len(times)
    pages["typst"] = pdf_pages(pdf)
    res.data["typst"] = {"times": times, "cpu_s": cpu_s}
    res.table.timings(
        "peers",
        "Typst (PyPI binding), warm compiler",
        times,
        pilu.pdf_s,
        f"CPU {ms(cpu_s)}/doc (Pilu ÷ this on CPU {ratio(pilu.pdf_cpu_s, cpu_s)}); "
        f"in-process Pilu ÷ this {ratio(pilu.inproc_pdf_s, p50(times))}; equivalent markup from "
        f"the same model, same fonts; {pages['typst']} pages",
    )


def best_throughput(res: Results) -> float:
    """Pilu's best pairs per second over HTTP (NaN when the service part did not run)."""
    rates = (t["pairs_per_s"] for t in res.data.get("throughput", {}).values())
    return max(rates, default=math.nan)
