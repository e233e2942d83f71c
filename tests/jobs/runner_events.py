"""A listener that records what a runner reports (take-overs, retries, webhook deliveries)."""

from __future__ import annotations

from service.jobs.runner import RunnerEvents
from service.store import ClaimedItem


class Heard(RunnerEvents):
    def __init__(self) -> None:
        self.taken: list[ClaimedItem] = []
        self.webhooks: list[str] = []
        self.retried_items: list[ClaimedItem] = []

    def took_over(self, item: ClaimedItem) -> None:
        self.taken.append(item)

    def retried(self, item: ClaimedItem) -> None:
        self.retried_items.append(item)

    def webhook_delivered(self, outcome: str) -> None:
        self.webhooks.append(outcome)
