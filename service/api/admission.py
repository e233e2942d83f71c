"""Admission: how many render and validate requests may be inside the service at once.

A request takes a ticket before its body is read and gives it back when answered, so at most
``workers + queue_limit`` bodies (each at most ``max_body_bytes``) are held at any time; the
next request is refused at once with 503 and Retry-After, before its body is read.

What it cannot do: tell a slow upload from a slow render. A client that sends its body slowly
holds a ticket meanwhile; put a buffering reverse proxy in front when clients are untrusted.
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
