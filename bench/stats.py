"""Small statistics and formatting helpers for the benchmark table."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def p50(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    return f"{seconds * 1000:,.0f} ms"


def secs(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    return f"{seconds:.2f} s"


def mib(n_bytes: float) -> str:
    if math.isnan(n_bytes) or n_bytes <= 0:
        return "—"
    return f"{n_bytes / 2**20:,.0f} MiB"


def ratio(ours: float, theirs: float) -> str:
    if not ours or not theirs or math.isnan(ours) or math.isnan(theirs):
        return "—"
    return f"{ours / theirs:.2f}×"


class Table:
    """Rows of cells printed as one aligned text table (and as Markdown for the docs)."""

    HEADER = ("group", "measure", "p50 / value", "p95", "n", "Pilu ÷ peer", "notes")

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(
        self,
        group: str,
        measure: str,
        value: str,
        p95_: str = "",
        n: str = "",
        vs: str = "",
        notes: str = "",
    ) -> None:
        self.rows.append((group, measure, value, p95_, n, vs, notes))

    def timings(
        self,
        group: str,
        measure: str,
        times: Sequence[float],
        ours_s: float | None = None,
        notes: str = "",
        *,
        with_p95: bool = True,
    ) -> None:
        """A row of wall times: p50, p95 (unless ``with_p95`` is false) and count, and
        ``ours_s`` ÷ p50 in the comparison column when Pilu's own figure is given."""
        self.add(
            group,
            measure,
            ms(p50(times)),
            ms(p95(times)) if with_p95 else "",
            str(len(times)),
            "" if ours_s is None else ratio(ours_s, p50(times)),
            notes,
        )

    @staticmethod
    def _width(text: str) -> int:
        import unicodedata

        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    def text(self) -> str:
        rows = [self.HEADER, *self.rows]
        widths = [max(self._width(r[i]) for r in rows) for i in range(len(self.HEADER))]
        right = {2, 3, 4, 5}

        def line(cells: tuple[str, ...]) -> str:
            out = []
            for i, cell in enumerate(cells):
                pad = " " * (widths[i] - self._width(cell))
                out.append(pad + cell if i in right else cell + pad)
            return "| " + " | ".join(out) + " |"

        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        body = [rule, line(self.HEADER), rule]
        group = None
        for row in self.rows:
            if group is not None and row[0] != group:
                body.append(rule)
            group = row[0]
            body.append(line(row))
        body.append(rule)
        return "\n".join(body)

    def markdown(self) -> str:
        out = ["| " + " | ".join(self.HEADER) + " |", "|---|---|---:|---:|---:|---:|---|"]
        for row in self.rows:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return "\n".join(out)
