"""The machine a benchmark ran on: processor, memory, system, and the versions of what it ran."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import time
from pathlib import Path


def machine() -> dict[str, str]:
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{_memory_bytes() / 2**30:.1f} GiB",
        "os": f"Debian {_debian_version()}, Linux {platform.release()}",
        "python": platform.python_version(),
        "weasyprint": _package("weasyprint"),
        "python-docx": _package("python-docx"),
        "aiohttp": _package("aiohttp"),
        "typst": _package("typst"),
        "docxtpl": _package("docxtpl"),
        "chromium": _version(["chromium", "--version"]),
        "libreoffice": _version(["soffice", "--version"]),
    }


SPEED_LOOP_STEPS = 10**7


def core_speed() -> float:
    """CPU seconds one core takes for a fixed pure-Python loop (the least of three runs).

    The benchmark's machine is a virtual one, whose cores need not run at the same speed on two
    days, and every figure of the run scales with theirs: the header prints this at the start
    and at the end of the run, so that the seconds of two runs (and of the targets) can be read
    side by side. It measures the interpreter's speed only, not the machine's caches or I/O.
    """
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for step in range(SPEED_LOOP_STEPS):
            total += step
        best = min(best, time.process_time() - started)
    return best


def wait_idle(limit_s: float, threshold: float) -> float:
    """Wait up to ``limit_s`` for the 1-minute load average to fall under ``threshold``."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and os.getloadavg()[0] > threshold:
        time.sleep(5)
    return os.getloadavg()[0]


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _memory_bytes() -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _debian_version() -> str:
    path = Path("/etc/debian_version")
    return path.read_text().strip() if path.exists() else "?"


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "—"


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "not installed"
