"""The targets of the performance issue, evaluated on a run's results (printed, never asserted).

Each is PASS, MISS, or n/a when a part it needs did not run. Where both sides' CPU time is
known the line adds the same comparison on CPU time, which other load on the machine disturbs
less than wall time.
"""

from __future__ import annotations

from typing import Any

from bench.plan import FULL, Plan, Results
from bench.stats import ms, p50

Target = tuple[str, bool | None, str]


def targets(plan: Plan, res: Results) -> None:
    d = res.data
    res.targets += [
        pdf_vs_chromium(d),
        pair_vs_libreoffice(d),
        throughput_vs_libreoffice(d),
        *worker_memory(plan, d),
        batch_time(d),
        stored_per_document(d),
        download_memory(d),
    ]


def _on_cpu(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return ""
    return f"; on CPU time {ms(ours)} vs {ms(theirs)}: ratio {ours / theirs:.2f}"


def pdf_vs_chromium(d: dict[str, Any]) -> Target:
    name = "PDF p50 ≤ ½ × warm Chromium p50"
    lat, peer = d.get("latency_s", {}), d.get("chromium_warm")
    if not lat or not peer:
        return name, None, "not measured"
    r = p50(lat["pdf"]) / p50(peer["times"])
    return (
        name,
        r <= 0.5,
        f"Pilu {ms(p50(lat['pdf']))} vs Chromium {ms(p50(peer['times']))}: "
        f"ratio {r:.2f} (target ≤ 0.50)"
        + _on_cpu(d.get("worker_cpu_per_request_s", {}).get("pdf"), peer.get("cpu_s")),
    )


def pair_vs_libreoffice(d: dict[str, Any]) -> Target:
    name = "DOCX+PDF pair p50 < resident-LibreOffice pipeline p50"
    lat, peer = d.get("latency_s", {}), d.get("lo_pipeline")
    if not lat or not peer:
        return name, None, "not measured"
    r = p50(lat["zip"]) / p50(peer["total"])
    return (
        name,
        r < 1,
        f"Pilu {ms(p50(lat['zip']))} vs LibreOffice pipeline "
        f"{ms(p50(peer['total']))}: ratio {r:.2f} (target < 1.00)"
        + _on_cpu(d.get("worker_cpu_per_request_s", {}).get("zip"), peer.get("cpu_s")),
    )


def throughput_vs_libreoffice(d: dict[str, Any]) -> Target:
    name = "throughput ≥ 2 × LibreOffice pipeline"
    if not d.get("throughput") or not d.get("lo_throughput"):
        return name, None, "not measured"
    best_clients, best = max(d["throughput"].items(), key=lambda kv: kv[1]["pairs_per_s"])
    r = best["pairs_per_s"] / d["lo_throughput"]["pairs_per_s"]
    pilu_cpu = d.get("worker_cpu_per_request_s", {}).get("zip")
    peer_cpu = d.get("lo_pipeline", {}).get("cpu_s")
    capacity = (
        f"; on CPU time a pair costs Pilu {ms(pilu_cpu)} and the LibreOffice pipeline "
        f"{ms(peer_cpu)}: capacity ratio {peer_cpu / pilu_cpu:.2f}"
        if pilu_cpu and peer_cpu
        else ""
    )
    return (
        name,
        r >= 2,
        f"Pilu {best['pairs_per_s']:.2f} pairs/s ({best_clients} clients) vs "
        f"{d['lo_throughput']['pairs_per_s']:.2f}: ratio {r:.2f} (target ≥ 2.00)" + capacity,
    )


def worker_memory(plan: Plan, d: dict[str, Any]) -> list[Target]:
    """Largest worker RSS at the last mark, and its growth from the mark before."""
    mem = d.get("memory", [])
    if len(mem) < 3:
        return []
    last, middle = mem[-1]["rss"], mem[-2]["rss"]
    worst = max(last) / 2**20
    growth = max((a / b - 1) for a, b in zip(last, middle, strict=False) if b)
    label_last, label_mid = mem[-1]["label"], mem[-2]["label"]
    if d.get("memory_capped"):
        label_last = f"≈{mem[-1]['tasks'] / max(1, len(last)):.0f}"
    full = plan.memory_marks == FULL.memory_marks and not d.get("memory_capped")
    return [
        (
            f"worker RSS < 250 MiB after {label_last} renders",
            worst < 250,
            f"largest {worst:.0f} MiB"
            + ("" if full else " (short run: not the 1,000 of the target)"),
        ),
        (
            f"worker RSS growth ≤ 10 % from {label_mid} to {label_last} renders",
            growth <= 0.10,
            f"largest growth {growth * 100:+.1f} %",
        ),
    ]


def batch_time(d: dict[str, Any]) -> Target:
    name = "100-document batch < 15 s"
    b = d.get("batch")
    if not b:
        return name, None, "not measured"
    scaled = b["wall_s"] * 100 / b["n"]
    detail = f"{b['wall_s']:.1f} s for {b['n']}" + (
        "" if b["n"] == 100 else f" (≈{scaled:.1f} s per 100)"
    )
    return name, b["ok"] and scaled < 15, detail + ("" if b["ok"] else "; batch incomplete")


def stored_per_document(d: dict[str, Any]) -> Target:
    name = "stored bytes per document <= 500 KB"
    b = d.get("batch")
    if not b:
        return name, None, "not measured"
    per = b["stored_bytes_per_document"]
    shared = b["shared_bytes"] / 1e6
    return (
        name,
        per <= 500_000,
        (
            f"{per / 1000:.0f} KB (pilu batch's store over {b['n']}, besides {shared:.1f} MB of "
            "parts they share)"
        ),
    )


def download_memory(d: dict[str, Any]) -> Target:
    name = "server RSS < 200 MiB during concurrent DOCX downloads"
    a = d.get("archive")
    if not a:
        return name, None, "not measured"
    peak = a["rss_peak"] / 2**20
    return name, peak < 200 and a["intact"], f"{peak:.0f} MiB peak over {a['downloads']} at once"
