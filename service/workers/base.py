"""What every pool offers the API, whatever runs the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")

Lane = Literal["request", "batch"]
"""Who waits for a task: a caller of the API or console (``request``), or the batch runner
(``batch``). A process pool of N > 1 workers runs batch tasks on N - 1 of them at most, so one
is always free for requests; with one worker, a request waits for at most the render running."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot. ``warm`` counts live, warmed workers (busy ones included); ``queued`` the
    callers waiting for one; ``restarts`` every worker replaced since start."""

    size: int
    warm: int
    busy: int
    queued: int
    restarts: int
    accepting: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "warm": self.warm,
            "busy": self.busy,
            "queued": self.queued,
            "restarts": self.restarts,
            "accepting": self.accepting,
        }


class Pool(Protocol):
    async def start(self) -> None: ...

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, lane: Lane = "request"
    ) -> T: ...

    def drain(self) -> None: ...

    async def close(self) -> None: ...

    def stats(self) -> PoolStats: ...
