"""Zero workers: run each task in the calling process, for unit tests and debugging.

It blocks the event loop for the whole task and cannot enforce ``timeout``; it never queues, so
it never answers Overloaded. Results are not pickled, so a result that could not cross to a
real worker's parent still passes here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from service.errors import ShuttingDown
from service.workers.base import Lane, PoolStats

T = TypeVar("T")


@dataclass(eq=False)
class InlinePool:
    initializer: Callable[[], None] | None = None
    _accepting: bool = field(init=False, default=False)
    _busy: int = field(init=False, default=0)

    async def start(self) -> None:
        if self.initializer is not None:
            self.initializer()
        self._accepting = True

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, lane: Lane = "request"
    ) -> T:
        if not self._accepting:
            raise ShuttingDown("服务正在停止，不再接受新的请求")
        self._busy += 1
        try:
            return fn(*args)
        finally:
            self._busy -= 1

    def drain(self) -> None:
        self._accepting = False

    async def close(self) -> None:
        self._accepting = False

    def stats(self) -> PoolStats:
        return PoolStats(
            size=0, warm=0, busy=self._busy, queued=0, restarts=0, accepting=self._accepting
        )
