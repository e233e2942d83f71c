"""Prometheus metrics, in a registry of the application's own (tests build many apps).

Route labels are route templates (``/v1/render``) or ``unmatched``, never raw paths, so a scan
of random URLs cannot grow the label set.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from service.jobs.runner import RunnerEvents
from service.store import ClaimedItem
from service.workers import Pool, PoolStats, RestartReason

# No ``*_created`` series: they double the counters' lines and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = CONTENT_TYPE_LATEST

BATCH_ITEM_STATES = ("pending", "running", "done", "failed")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RENDER_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._pool: Pool | None = None
        self.requests = Counter(
            "pilu_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pilu_http_request_duration_seconds",
            "Time from request received to response ready, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.render_seconds = Histogram(
            "pilu_render_duration_seconds",
            "Time of successful renders in a worker, queueing excluded, by output format.",
            ["format"],
            buckets=_RENDER_BUCKETS,
            registry=self.registry,
        )
        self.renders = Counter(
            "pilu_renders",
            "Renders finished, by output format and outcome (ok or the error code).",
            ["format", "outcome"],
            registry=self.registry,
        )
        self.worker_restarts = Counter(
            "pilu_worker_restarts",
            "Workers replaced, by reason: timeout, crash or recycle (max_tasks_per_child).",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("timeout", "crash", "recycle"):
            self.worker_restarts.labels(reason)
        self.batch_items = Gauge(
            "pilu_batch_items",
            "Batch items in the store (every node's), by state; read when /metrics is scraped.",
            ["state"],
            registry=self.registry,
        )
        self.jobs = Gauge(
            "pilu_jobs",
            "Jobs in the store (every node's), by queue and state: on PostgreSQL the job "
            "engine's (batch_items, webhooks; todo, doing, succeeded, failed …), on SQLite the "
            "local queue's items; read when /metrics is scraped.",
            ["queue", "state"],
            registry=self.registry,
        )
        self.stalled = Counter(
            "pilu_stalled_jobs_put_back",
            "Jobs of a silent worker (its node died) this node's sweep put back for any node.",
            registry=self.registry,
        )
        self.take_overs = Counter(
            "pilu_batch_item_takeovers",
            "Batch items this node claimed again after an attempt that did not finish (its "
            "node died, or its render killed the worker).",
            registry=self.registry,
        )
        self.retries = Counter(
            "pilu_batch_item_retries",
            "Batch items this node gave back for another attempt: their render killed the worker.",
            registry=self.registry,
        )
        self.webhooks = Counter(
            "pilu_webhook_deliveries",
            "Webhook deliveries this node made, by outcome: delivered or failed.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("delivered", "failed"):
            self.webhooks.labels(outcome)
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds … of the server
        ProcessCollector(registry=self.registry)
        self._gauge("pilu_render_queue_depth", "Requests waiting for a free worker.", "queued")
        self._gauge("pilu_workers_busy", "Workers running a task.", "busy")
        self._gauge("pilu_workers_warm", "Live, warmed workers (busy ones included).", "warm")
        self._gauge(
            "pilu_workers_lane_lent",
            "1 while batch renders may use every worker: no request came for a while.",
            "lane_lent",
        )

    def bind_pool(self, pool: Pool) -> None:
        self._pool = pool

    def count_restart(self, reason: RestartReason) -> None:
        self.worker_restarts.labels(reason).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def count_batch_items(self, by_state: dict[str, int]) -> None:
        for state in BATCH_ITEM_STATES:
            self.batch_items.labels(state).set(by_state.get(state, 0))

    def count_jobs(self, by_queue_state: dict[tuple[str, str], int]) -> None:
        self.jobs.clear()
        for (queue, state), n in sorted(by_queue_state.items()):
            self.jobs.labels(queue, state).set(n)

    def runner_events(self) -> RunnerEvents:
        """What the batch runner reports into these metrics."""
        return _RunnerMetrics(self)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _gauge(self, name: str, documentation: str, stat: str) -> None:
        gauge = Gauge(name, documentation, registry=self.registry)
        gauge.set_function(lambda: float(getattr(self._stats(), stat)))

    def _stats(self) -> PoolStats:
        if self._pool is None:
            return PoolStats(0, 0, 0, 0, 0, False)
        return self._pool.stats()


class _RunnerMetrics(RunnerEvents):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def took_over(self, item: ClaimedItem) -> None:
        self.metrics.take_overs.inc()

    def retried(self, item: ClaimedItem) -> None:
        self.metrics.retries.inc()

    def webhook_delivered(self, outcome: str) -> None:
        self.metrics.webhooks.labels(outcome).inc()

    def stalled_put_back(self, count: int) -> None:
        self.metrics.stalled.inc(count)
