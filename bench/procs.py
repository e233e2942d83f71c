"""Process helpers read from /proc: children, resident size, CPU time, process-tree memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    return text[text.rindex(")") + 2 :].split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and parent_of(int(entry)) == pid:
            out.append(int(entry))
    return sorted(out)


def descendants(pid: int) -> list[int]:
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                by_parent.setdefault(parent, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return sorted(out)


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def rss_bytes(pid: int) -> int:
    """Resident set size (VmRSS) of ``pid``; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages divided among sharers); 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pss_bytes(pid: int) -> int:
    """PSS of ``pid`` and every descendant: the memory a process tree really holds."""
    return sum(pss_bytes(p) for p in [pid, *descendants(pid)])


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return one, five, fifteen


def stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group we started ``proc`` in, then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _busy_seconds() -> float:
    """CPU time all processes on the machine spent busy since boot (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) for x in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - guest) / TICKS


class _DescendantCPU:
    """CPU time of every process the benchmark started, directly or not, including those that
    have exited: a worker of ``pilu batch`` is reaped by a process that may never be reaped
    itself (multiprocessing's fork server), so its time would never reach ``RUSAGE_CHILDREN``.
    A thread samples each descendant's own user + system time every 0.2 s and keeps the last
    value seen (keyed by pid and start time); only the last 0.2 s of a process can be missed."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="bench-cpu-sampler", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.sample()
            time.sleep(0.2)

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            fields = _stat_fields(pid)
            if fields:
                with self._lock:
                    self._seen[(pid, fields[19])] = sum(int(x) for x in fields[11:13]) / TICKS

    def seconds(self) -> float:
        self.sample()
        with self._lock:
            return sum(self._seen.values())


_descendant_cpu: _DescendantCPU | None = None


def _own_seconds() -> float:
    """CPU time of this process and of every process it started (see :class:`_DescendantCPU`)."""
    import resource

    global _descendant_cpu
    if _descendant_cpu is None:
        _descendant_cpu = _DescendantCPU()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + _descendant_cpu.seconds()


class ForeignLoad:
    """How many cores *other* processes used between two marks: the noise under a measurement."""

    def __init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        self._t = time.monotonic()
        self._busy = _busy_seconds()
        self._own = _own_seconds()

    def cores(self) -> float:
        """Average cores used by processes not started by the benchmark since the last mark."""
        wall = time.monotonic() - self._t
        if wall <= 0:
            return 0.0
        foreign = (_busy_seconds() - self._busy) - (_own_seconds() - self._own)
        return max(0.0, foreign / wall)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its descendants, live or already reaped by them."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        fields = _stat_fields(p)
        if fields:
            total += sum(int(x) for x in fields[11:15]) / TICKS
    return total
