"""The complaint figures both disclosure kinds share: per source, the total and relative metrics."""

from __future__ import annotations

from typing import Any

from service.kinds.kind import Figure
from service.model.figures import plain_decimal, share, share_text

SOURCES = {"regulator": "监管转办投诉", "direct": "公司自收投诉"}
METRICS = {
    "per_100m_premium": ("亿元保费投诉量", "件/亿元"),
    "per_10k_policies": ("万张保单投诉量", "件/万张"),
    "per_10k_customers": ("万人次投诉量", "件/万人次"),
}
"""Relative metrics by name: Chinese name and unit, as the table and the sentence print them."""
METRIC_NAMES = {name: words for name, (words, _) in METRICS.items()}
METRIC_UNITS = {name: unit for name, (_, unit) in METRICS.items()}


def _source(payload: Any, name: str) -> Any:
    return getattr(payload.figures.complaints, name)


def _total(name: str) -> Any:
    def read(payload: Any) -> int | None:
        source = _source(payload, name)
        return None if source is None else int(source.total)

    return read


def _closed(name: str) -> Any:
    def read(payload: Any) -> int | None:
        source = _source(payload, name)
        return None if source is None or source.closed is None else int(source.closed)

    return read


def _closed_rate(name: str) -> Any:
    def read(payload: Any) -> tuple[int, int] | None:
        source = _source(payload, name)
        if source is None or source.closed is None:
            return None
        return int(source.closed), int(source.total)

    return read


def _all_complaints(payload: Any) -> int | None:
    sources = [_source(payload, name) for name in SOURCES]
    given = [s.total for s in sources if s is not None]
    return sum(given) if given else None


def _metric(name: str) -> Any:
    def read(payload: Any) -> Any:
        for metric in payload.figures.complaints.relative_metrics:
            if metric.name == name:
                return metric.value
        return None

    return read


def _rate(pair: tuple[int, int]) -> str:
    return share_text(share(*pair))


def complaint_figures() -> tuple[Figure, ...]:
    out: list[Figure] = []
    for name, words in SOURCES.items():
        path = f"figures.complaints.{name}"
        out += [
            Figure(f"complaints.{name}.total", f"{words}件数", "件", f"{path}.total",
                   _total(name), str, "12"),
            Figure(f"complaints.{name}.closed", f"{words}已办结件数", "件", f"{path}.closed",
                   _closed(name), str, "12"),
            Figure(f"complaints.{name}.closed_rate", f"{words}办结率", "%",
                   f"{path}.closed ÷ {path}.total", _closed_rate(name), _rate, "100.00%"),
        ]  # fmt: skip
    out.append(
        Figure("complaints.total", "投诉合计件数", "件", "both sources' totals",
               _all_complaints, str, "15")
    )  # fmt: skip
    for name, (words, unit) in METRICS.items():
        out.append(
            Figure(f"complaints.relative_metrics.{name}", words, unit,
                   "figures.complaints.relative_metrics", _metric(name), plain_decimal, "2.31")
        )  # fmt: skip
    return tuple(out)
