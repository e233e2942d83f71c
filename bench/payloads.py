"""Payloads for the benchmark: the reference example and the historical batch, varied per use.

Every payload the benchmark sends differs from the one before in its figures and its text, so
no cache on any side (ours, a peer's, the HTTP stack's) can answer twice from one render:

- counts move (review, training, outreach, every complaint breakdown), and every rule that
  ties them still holds: review total = product + service, each breakdown sums to its source's
  total, each row's subrows sum to the row, closed <= total;
- the intro gets one more sentence with the variant number and a six-digit code.

Variation is seeded: variant ``i`` of a payload is the same in every run.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "xiaokang-life-2023.json"
HISTORY = ROOT / "examples" / "batch" / "xiaokang-life-2019-2024.ndjson"

# Only common characters (GB2312 level 1, digits, CJK punctuation): the sentence must be
# printable in every house-style face.
_SENTENCE = "本期数据经第{n}次核对，核对编号为{code}，相关数据以监管报送口径为准。"


def reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def history() -> list[dict[str, Any]]:
    """The six historical-year payloads (2019–2024), in file order."""
    lines = HISTORY.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` as ``parts`` non-negative counts (each at least 1 when total allows)."""
    if parts <= 0:
        return []
    if total >= parts:
        cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
        bounds = [0, *cuts, total]
        return [bounds[i + 1] - bounds[i] for i in range(parts)]
    counts = [0] * parts
    for _ in range(total):
        counts[rng.randrange(parts)] += 1
    return counts


def _vary_source(source: dict[str, Any], rng: random.Random) -> None:
    total = max(1, int(source["total"] * rng.uniform(0.8, 1.25)) + rng.randint(0, 3))
    source["total"] = total
    source["closed"] = total - (rng.randint(0, min(2, total)) if rng.random() < 0.3 else 0)
    for breakdown in source.get("breakdowns", []):
        rows = breakdown["rows"]
        for row, count in zip(rows, _split(total, len(rows), rng), strict=True):
            row["count"] = count
            subrows = row.get("subrows") or []
            for sub, sub_count in zip(subrows, _split(count, len(subrows), rng), strict=True):
                sub["count"] = sub_count


def vary(payload: dict[str, Any], n: int, *, seed: int = 0) -> dict[str, Any]:
    """Variant ``n`` of ``payload``: other figures (rules still hold) and one more sentence."""
    rng = random.Random(f"{seed}:{payload.get('report_year')}:{n}")
    out = copy.deepcopy(payload)
    figures = out.get("figures", {})
    review = figures.get("review")
    if review:
        review["product"] = rng.randint(10, 400)
        review["service"] = rng.randint(10, 400)
        if review.get("total") is not None:
            review["total"] = review["product"] + review["service"]
    training = figures.get("training")
    if training:
        training["participants"] = rng.randint(500, 90_000)
        training["coverage"] = round(rng.uniform(90, 100), 2)
        if training.get("yoy") is not None:
            training["yoy"] = round(rng.uniform(-20, 40), 2)
    outreach = figures.get("outreach")
    if outreach:
        outreach["reach"] = rng.randint(10_000, 2_000_000)
        if outreach.get("yoy") is not None:
            outreach["yoy"] = round(rng.uniform(-20, 400), 2)
    complaints = figures.get("complaints", {})
    for name in ("regulator", "direct"):
        if complaints.get(name):
            _vary_source(complaints[name], rng)
    code = f"{rng.randrange(10**6):06d}"
    out.setdefault("intro", []).append(_SENTENCE.format(n=n + 1, code=code))
    return out


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def reference_variants(count: int, *, start: int = 0, seed: int = 0) -> list[bytes]:
    base = reference()
    return [encode(vary(base, n, seed=seed)) for n in range(start, start + count)]


def historical_batch(count: int, *, seed: int = 0) -> list[bytes]:
    """``count`` payloads cycling through the six historical years, each one varied."""
    years = history()
    return [encode(vary(years[n % len(years)], n, seed=seed)) for n in range(count)]
