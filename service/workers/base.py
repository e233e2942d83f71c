"""What every pool offers the API, whatever runs the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")

Lane = Literal["request", "batch"]
"""Who waits for a task: a caller of the API or console (``request``), or the batch runner
(``batch``). Requests go before batch tasks. A process pool of N > 1 workers keeps one worker
free of batch tasks while requests come (the requests' lane) and lends it to them once none
came for a while, so a batch alone renders on all N; a request waits at most for the render
running, as it does with one worker (:class:`~service.workers.pool.ProcessPool`)."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot. ``warm`` counts live, warmed workers (busy ones included); ``queued`` the
    requests waiting for one; ``restarts`` every worker replaced since start; ``lane_lent``:
    batch tasks may take every worker now, the requests' lane included (no request came for
    a while; never with one worker or none)."""

    size: int
    warm: int
    busy: int
    queued: int
    restarts: int
    accepting: bool
    lane_lent: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "warm": self.warm,
            "busy": self.busy,
            "queued": self.queued,
            "restarts": self.restarts,
            "accepting": self.accepting,
            "lane_lent": self.lane_lent,
        }


class Pool(Protocol):
    async def start(self) -> None: ...

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, lane: Lane = "request"
    ) -> T: ...

    def drain(self) -> None: ...

    async def close(self) -> None: ...

    def stats(self) -> PoolStats: ...
