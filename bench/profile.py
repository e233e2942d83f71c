"""Where a warm render spends its time: pyinstrument over N renders of PDF and of DOCX.

    .venv/bin/python bench/profile.py                  # 20 renders of each format
    .venv/bin/python bench/profile.py -n 50 --format pdf
    .venv/bin/python bench/profile.py --end-to-end     # what a worker runs: bytes → checks → model → document
    .venv/bin/python bench/profile.py --batch -n 30    # what a `pilu batch` worker runs per item, both formats
    .venv/bin/python bench/profile.py --html /tmp/prof # also an interactive HTML profile per format

Each format is warmed first (``pipeline.warm_up`` and one render), then timed without the
profiler (the honest mean), then profiled. It prints, per format:

- the mean time per render, unprofiled;
- the call tree (pyinstrument, library internals collapsed, frames under 1.5 % hidden);
- the functions with the most *self* time (flat view), which is where optimising pays.

Payloads are the reference example varied per render (``bench/payloads.py``), so no cache
answers one render from another; with ``--batch``, the batch phase's payloads (six historical
years, varied), each rendered to PDF and DOCX by ``render_item`` as a ``pilu batch`` worker
does (its kept font subsets then help as they do in a batch).
pyinstrument is installed by ``scripts/install-bench.sh``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH has it: else bench/service.py, beside this script, is `service`
sys.path.insert(0, str(ROOT))

from bench import payloads


def self_times(root: Any) -> tuple[dict[tuple[str, str], float], dict[str, float], float]:
    """Self time per function and per package (top folder of the file), from a frame tree.

    pyinstrument keeps a frame's own time in synthetic ``[self]`` children; C code called from
    Python (Pango, HarfBuzz, zlib) counts for the built-in or the Python function calling it.
    """
    by_function: dict[tuple[str, str], float] = defaultdict(float)
    by_package: dict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        frame = stack.pop()
        if frame.is_synthetic:
            continue
        own = frame.total_self_time
        if own:
            where = frame.file_path_short or "?"
            line = f":{frame.line_no}" if frame.line_no else ""
            by_function[(frame.function or "?", f"{where}{line}")] += own
            package = where.split("/", 1)[0] if "/" in where else where
            by_package[package] += own
        stack.extend(frame.children)
    return dict(by_function), dict(by_package), root.time or 1e-9


def stages(root: Any, name: str) -> dict[str, float]:
    """Time of the direct callees of every frame called ``name``, summed by callee."""
    out: dict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        frame = stack.pop()
        if frame.function == name and not frame.is_synthetic:
            for child in frame.children:
                label = "(own code)" if child.is_synthetic else child.function
                where = "" if child.is_synthetic else f"  {child.file_path_short}"
                out[f"{label}{where}"] += child.time
            continue
        stack.extend(frame.children)
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="renders per format (default 20)")
    parser.add_argument(
        "--format", default="pdf,docx", help="formats, comma-separated (default pdf,docx)"
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="profile service.jobs.tasks.render (parse, check, build, render) instead of the writer alone",
    )
    parser.add_argument(
        "--batch",
        action="store_true",
        help="profile service.jobs.render.render_item (both formats) over the batch's payloads",
    )
    parser.add_argument(
        "--interval", type=float, default=0.001, help="sampling interval in seconds"
    )
    parser.add_argument("--html", type=Path, help="folder to write pyinstrument HTML profiles into")
    parser.add_argument("--top", type=int, default=20, help="lines of the flat self-time view")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is missing: bash scripts/install-bench.sh", file=sys.stderr)
        return 2

    from service import pipeline
    from service.jobs import tasks
    from service.jobs.render import render_item
    from service.style import load_house_style

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if args.batch:
        formats = ["pdf+docx"]
        raws = payloads.historical_batch(2 * args.n + 2, seed=7)
    else:
        raws = payloads.reference_variants(2 * args.n + 2, seed=11)
    documents = [pipeline.build(raw)[1] for raw in raws]
    style = load_house_style(documents[0].meta.house_style)
    pipeline.warm_up()

    for fmt in formats:
        writer: Any = None if args.batch else pipeline._writer(fmt)  # what is profiled

        def one(i: int) -> None:
            if args.batch:
                render_item(raws[i])
            elif args.end_to_end:
                tasks.render(raws[i], fmt)  # noqa: B023
            else:
                writer(documents[i], style)  # noqa: B023

        one(0)  # warm this writer
        started = time.perf_counter()
        for i in range(1, args.n + 1):
            one(i)
        mean = (time.perf_counter() - started) / args.n
        profiler = Profiler(interval=args.interval, async_mode="disabled")
        profiler.start()
        for i in range(args.n + 1, 2 * args.n + 1):
            one(i)
        profiler.stop()
        scope = (
            "render_item (parse + check + build + PDF + DOCX + parts)"
            if args.batch
            else "tasks.render (parse + check + build + write)"
            if args.end_to_end
            else f"render_{fmt}"
        )
        print("=" * 100)
        print(
            f"{fmt.upper()}: {scope}, mean {mean * 1000:.0f} ms per render unprofiled (n={args.n})"
        )
        print("=" * 100)
        print(
            profiler.output_text(
                unicode=True,
                color=False,
                show_all=False,
                short_mode=False,
                processor_options={"filter_threshold": 0.015},
            )
        )
        session = profiler.last_session
        assert session is not None
        root = session.root_frame()
        selfs, packages, total = self_times(root)
        target = "render_item" if args.batch else "render" if args.end_to_end else f"render_{fmt}"
        steps = stages(root, target)
        # shares of the sampled time, shown as ms of an unprofiled render (share × mean)
        print(f"Stages (direct callees of {target}), share and ms of an unprofiled render:")
        for name, seconds in sorted(steps.items(), key=lambda kv: -kv[1])[:12]:
            print(
                f"  {seconds / total * 100:5.1f} %  {seconds / total * mean * 1000:7.1f} ms  {name}"
            )
        print(f"Self time by package ({fmt}):")
        for name, seconds in sorted(packages.items(), key=lambda kv: -kv[1])[:10]:
            print(
                f"  {seconds / total * 100:5.1f} %  {seconds / total * mean * 1000:7.1f} ms  {name}"
            )
        print(f"Top {args.top} functions by self time ({fmt}):")
        ranked = sorted(selfs.items(), key=lambda kv: -kv[1])[: args.top]
        for (function, where), seconds in ranked:
            share = seconds / total
            print(f"  {share * 100:5.1f} %  {share * mean * 1000:7.1f} ms  {function}  {where}")
        print()
        if args.html:
            args.html.mkdir(parents=True, exist_ok=True)
            target = args.html / f"profile-{fmt.replace('+', '-')}.html"
            target.write_text(profiler.output_html(), encoding="utf-8")
            print(f"HTML profile: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
