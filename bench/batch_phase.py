"""``pilu batch`` over historical-year payloads, both formats: wall time including start-up."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench import payloads, procs
from bench.plan import Plan, Results, log
from bench.server import PILU, ROOT
from bench.stats import secs

TIMEOUT_S = 600


@dataclass(frozen=True)
class BatchRun:
    wall_s: float
    cpu_s: float
    """CPU time of ``pilu batch`` and its workers."""
    returncode: int
    output: bytes
    """The end of stderr (or of stdout when stderr is empty), for the note of a failed run."""
    pdf: int
    docx: int
    stored_bytes: int
    """The size of every file of ``pilu batch``'s own store (``OUT/.pilu``) afterwards."""
    shared_bytes: int
    """Of which the parts two or more documents share (the fonts, stored once)."""


def batch(plan: Plan, workers: int, res: Results) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pilu-bench-batch-"))
    try:
        source = tmp / "batch.ndjson"
        source.write_bytes(b"\n".join(payloads.historical_batch(plan.batch_n, seed=7)) + b"\n")
        how = f"`pilu batch --workers {workers}`"
        log(f"batch of {plan.batch_n}: {how}")
        run = pilu_batch(source, tmp / "out", workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(plan, how, run, res)


def pilu_batch(source: Path, out: Path, workers: int) -> BatchRun:
    cmd = [str(PILU), "batch", str(source), "--out", str(out), "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, as bench/server.py
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        procs.stop_group(proc)
        raise RuntimeError(f"batch did not finish within {TIMEOUT_S} s") from None
    finally:
        procs.stop_group(proc, grace=5)
    wall = time.perf_counter() - started
    return BatchRun(
        wall_s=wall,
        cpu_s=_children_cpu() - cpu_before,
        returncode=proc.returncode,
        output=(stderr or stdout)[-400:],
        pdf=len(list(out.glob("*.pdf"))),
        docx=len(list(out.glob("*.docx"))),
        stored_bytes=sum(p.stat().st_size for p in (out / ".pilu").rglob("*") if p.is_file()),
        shared_bytes=shared_part_bytes(out / ".pilu"),
    )


def shared_part_bytes(data_dir: Path) -> int:
    """The bytes of the parts that two or more stored outputs name (``output_layouts``)."""
    try:
        with contextlib.closing(sqlite3.connect(data_dir / "pilu.sqlite3")) as db:
            rows = db.execute("SELECT segments FROM output_layouts").fetchall()
    except sqlite3.Error:
        return 0
    named = Counter(seg[1] for (segments,) in rows for seg in json.loads(segments) if seg[0] == "p")
    sizes = {
        seg[1]: seg[2] for (segments,) in rows for seg in json.loads(segments) if seg[0] == "p"
    }
    return sum(sizes[sha] for sha, n in named.items() if n > 1)


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children and theirs (``pilu batch`` reaps its
    workers before it exits)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(plan: Plan, how: str, run: BatchRun, res: Results) -> None:
    ok = run.returncode == 0 and run.pdf == plan.batch_n and run.docx == plan.batch_n
    if not ok:
        res.notes.append(
            f"batch: exit {run.returncode}, {run.pdf} PDF and {run.docx} DOCX of {plan.batch_n}: "
            + run.output.decode(errors="replace")
        )
    res.data["batch"] = {
        "n": plan.batch_n,
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "how": how,
        "ok": ok,
        "pdf": run.pdf,
        "docx": run.docx,
        "stored_bytes_per_document": (run.stored_bytes - run.shared_bytes) / plan.batch_n,
        "shared_bytes": run.shared_bytes,
    }
    res.table.add(
        "batch",
        f"{plan.batch_n} historical-year payloads, PDF+DOCX",
        secs(run.wall_s),
        "",
        str(plan.batch_n),
        "",
        f"{how}; wall time incl. start-up; {run.cpu_s:.0f} CPU s; {run.pdf} PDF + {run.docx} DOCX "
        "written" + ("" if ok else " — INCOMPLETE"),
    )
    res.table.add(
        "batch",
        "bytes stored per document",
        f"{(run.stored_bytes - run.shared_bytes) / plan.batch_n / 1000:.0f} KB",
        "",
        str(plan.batch_n),
        "",
        f"OUT/.pilu after the batch, {run.stored_bytes / 1e6:.1f} MB (SQLite, payloads, PDF, "
        f"DOCX residues), less the parts documents share, stored once: "
        f"{run.shared_bytes / 1e6:.1f} MB",
    )
