"""A listener that records what a runner reports (take-overs, webhook deliveries)."""

from __future__ import annotations

from service.jobs.runner import RunnerEvents
from service.store import ClaimedItem


class Heard(RunnerEvents):
    def __init__(self) -> None:
        self.taken: list[ClaimedItem] = []
        self.webhooks: list[str] = []

    def took_over(self, item: ClaimedItem) -> None:
        self.taken.append(item)

    def webhook_delivered(self, outcome: str) -> None:
        self.webhooks.append(outcome)
