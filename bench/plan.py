"""What one benchmark run measures (its counts), the payloads it sends, and where results go."""

from __future__ import annotations

import io
import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench import payloads
from bench.stats import Table

T = TypeVar("T")


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


def timed(fn: Callable[[], T]) -> tuple[float, T]:
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
