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
6. a batch of 100 historical-year payloads, both formats, with ``pilu batch``, and the bytes
   its store holds per document;
6b. the same batch on PostgreSQL through ``pilu serve`` (``POST /v1/batches``): its time, the
   database's size after it, and the server's RSS while all its DOCX are downloaded at once;
7. peers on the same documents: Pilu's own writers in this process (no HTTP), headless
   Chromium printing the PDF writer's HTML over CDP (warm, and one browser per document),
   LibreOffice converting Pilu's DOCX (one ``soffice --convert-to`` per document, and a
   resident soffice over UNO), the LibreOffice pipeline (docxtpl fill + UNO conversion) for
   latency and throughput, and Typst compiling an equivalent document;
8. the targets of the issue as PASS/MISS lines with their ratios (never asserted).

Every request carries a different payload (figures and one sentence vary; see
``bench/payloads.py``), so no cache helps. The service runs on a free 127.0.0.1 port with a
temporary API key; every process the benchmark starts is stopped at the end, also on Ctrl-C.
Each part is a module of its own: ``service_phase``, ``batch_phase``, ``archive_phase``,
``peer_phase`` and
``libreoffice_phase``, then ``targets``; this one runs them and prints the report.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH has it: else bench/service.py, beside this script, is `service`
sys.path.insert(0, str(ROOT))

from bench import procs
from bench.archive_phase import archive
from bench.batch_phase import batch
from bench.machine import core_speed, machine, wait_idle
from bench.peer_phase import peers, preflight
from bench.plan import FULL, QUICK, Plan, Results, Variants, log
from bench.service import Service
from bench.service_phase import cold_starts, service_phases
from bench.targets import targets

PARTS = "service,batch,archive,chromium,libreoffice,typst"


class Stop(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise Stop(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
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
    res.data["core_speed_s"] = [core_speed()]
    for part, why in missing.items():
        log(f"skipping {part}: {why} (install with: bash scripts/install-bench.sh)")
        res.notes.append(f"{part} not run: {why}; install with `bash scripts/install-bench.sh`")
    try:
        run_parts(plan, args.workers, Variants(args.seed), skip, res)
    except (KeyboardInterrupt, Stop) as exc:
        log(f"interrupted ({exc!r}); stopping everything started")
        return 130
    res.data["core_speed_s"].append(core_speed())
    targets(plan, res)
    wall = time.perf_counter() - t0
    header = report_header(plan, args.workers, info, res, started, load_start, wall)
    write_outputs(args, plan, info, header, res)
    return 0


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 3 minutes)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="service workers (default: CPU count)",
    )
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip: {PARTS}")
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
    return parser


def run_parts(plan: Plan, workers: int, variants: Variants, skip: set[str], res: Results) -> None:
    """The parts in order, with the CPU other processes used during each."""
    foreign = procs.ForeignLoad()
    whole = procs.ForeignLoad()

    def phase_done(name: str) -> None:
        res.data.setdefault("foreign_cores", {})[name] = foreign.cores()
        log(f"{name}: other processes used {foreign.cores():.2f} cores meanwhile")
        foreign.mark()

    if "service" not in skip:
        service(plan, workers, variants, res)
        phase_done("service")
    if "batch" not in skip:
        batch(plan, workers, res)
        phase_done("batch")
    if "archive" not in skip:
        archive(plan, workers, res)
        phase_done("archive")
    peers(plan, variants, workers, res, skip)
    phase_done("peers")
    res.data["foreign_cores"]["whole run"] = whole.cores()


def service(plan: Plan, workers: int, variants: Variants, res: Results) -> None:
    svc: Service | None = None
    try:
        svc = cold_starts(plan, workers, res)
        asyncio.run(service_phases(svc, plan, variants, res))
    finally:
        if svc is not None:
            svc.stop()


def report_header(
    plan: Plan,
    workers: int,
    info: dict[str, str],
    res: Results,
    started: dt.datetime,
    load_start: tuple[float, float, float],
    wall: float,
) -> list[str]:
    """The lines above the table: the run, the machine, the software and how busy it was."""
    load_end = os.getloadavg()
    foreign = res.data.get("foreign_cores", {})
    shared = max(foreign.values(), default=0) > 0.25
    return [
        f"Pilu benchmark ({plan.name} run) — {started.strftime('%Y-%m-%d %H:%M %Z')}, "
        f"{wall / 60:.1f} min",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; {info['os']}",
        (
            "core speed: a fixed pure-Python loop (10^7 additions) took "
            + " s, then ".join(f"{s:.2f}" for s in res.data["core_speed_s"])
            + " s of CPU at the start and the end of the run (lower is a faster core)"
        ),
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
        + ", ".join(f"{k} {v:.2f}" for k, v in foreign.items())
        + (
            "  ⚠ machine shared: these numbers are slower than on an idle machine" if shared else ""
        ),
    ]


def report(header: list[str], res: Results, table: str) -> str:
    lines = [*header, "", table, "", "Targets (evaluated, not asserted):"]
    for name, ok, detail in res.targets:
        mark = "PASS" if ok else ("MISS" if ok is not None else "n/a ")
        lines.append(f"  {mark}  {name}: {detail}")
    if res.notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in res.notes)]
    return "\n".join(lines)


def write_outputs(
    args: argparse.Namespace, plan: Plan, info: dict[str, str], header: list[str], res: Results
) -> None:
    print(report(header, res, res.table.text()))
    if args.markdown:
        args.markdown.write_text(report(header, res, res.table.markdown()) + "\n", "utf-8")
    if args.json:
        everything = {
            "plan": plan.__dict__,
            "machine": info,
            "results": res.data,
            "targets": res.targets,
            "notes": res.notes,
        }
        args.json.write_text(json.dumps(everything, default=str, indent=1))


if __name__ == "__main__":
    sys.exit(main())
