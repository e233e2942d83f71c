"""Admission: how many render and validate requests may be inside the service at once.

A request takes a ticket once its body is read (:mod:`service.api.body` reads it, within a
deadline and a bound per key) and gives it back when answered, so at most
``workers + queue_limit`` requests wait for or hold a worker; the next is refused at once with
503 and Retry-After. A client that sends its body slowly never holds a ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.errors import Overloaded


class Admission:
    def __init__(self, limit: int | None, retry_after_s: int) -> None:
        """``limit`` ``None`` admits everything (in-process rendering has no queue)."""
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.active = 0

    @contextmanager
    def ticket(self) -> Iterator[None]:
        if self.limit is not None and self.active >= self.limit:
            raise Overloaded(
                "渲染进程都在忙且等候队列已满，请稍后重试",
                details={"in_service": self.active, "limit": self.limit},
                retry_after_s=self.retry_after_s,
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
