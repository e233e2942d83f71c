"""What every pool offers the API, whatever runs the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


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

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T: ...

    def drain(self) -> None: ...

    async def close(self) -> None: ...

    def stats(self) -> PoolStats: ...
