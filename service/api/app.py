"""The application factory: ``create_app(settings)`` is what the API's tests run.

The application serves the API alone; :func:`service.server.build_app` (what ``pilu serve`` runs)
mounts the console on it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service.api import archive, handlers, storage
from service.api.admission import Admission
from service.api.auth import KeyRing
from service.api.backend import Backend, default_backend
from service.api.body import Uploads
from service.api.docs_page import render_docs_page
from service.api.metrics import Metrics
from service.api.middleware import access_middleware, context_middleware, error_middleware
from service.api.openapi import build_openapi
from service.api.state import (
    ADMISSION,
    BACKEND,
    DOCS_HTML,
    KEYRING,
    METRICS,
    OPENAPI,
    PAYLOAD_SCHEMA,
    POOL,
    SETTINGS,
    UPLOADS,
)
from service.settings import Settings
from service.workers import make_pool

log = logging.getLogger("pilu.api")


def create_app(settings: Settings, *, backend: Backend | None = None) -> web.Application:
    """The API application. Workers start (and warm up) when the application starts, so a
    broken font or template stops the server at start, not at the first request. The store
    (``database_url``, else SQLite in ``data_dir``) opens then too, and a background runner
    renders batch items on the same pool (:mod:`service.api.storage`).

    ``backend`` defaults to the real pipeline; tests pass their own.
    """
    backend = backend or default_backend()
    app = web.Application(
        middlewares=[context_middleware, error_middleware, access_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[BACKEND] = backend
    app[KEYRING] = KeyRing(settings.api_keys)
    app[METRICS] = Metrics()
    app[ADMISSION] = Admission(
        settings.workers + settings.queue_limit if settings.workers else None,
        settings.retry_after_s,
    )
    app[UPLOADS] = Uploads(
        settings.uploads_per_key, settings.body_timeout_s, settings.retry_after_s
    )
    app[PAYLOAD_SCHEMA] = backend.payload_schema()
    app[OPENAPI] = build_openapi(app[PAYLOAD_SCHEMA], backend.formats)
    app[DOCS_HTML] = render_docs_page(app[OPENAPI])
    app.cleanup_ctx.append(_worker_pool)
    app.cleanup_ctx.append(storage.store_ctx)  # app[STORE]; closed after the runner stops
    app.cleanup_ctx.append(storage.runner_ctx)  # batch items, on the pool, from the store
    app.on_shutdown.append(_stop_taking_work)
    app.on_shutdown.append(storage.stop_runner)
    _add_routes(app.router)
    archive.add_routes(app)
    return app


def create_worker_app(settings: Settings, *, backend: Backend | None = None) -> web.Application:
    """A node that renders batch items and answers no HTTP (``pilu worker``): the same worker
    pool, store and batch runner as :func:`create_app`, started and stopped the same way, with
    no route and no listening socket."""
    backend = backend or default_backend()
    app = web.Application()
    app[SETTINGS] = settings
    app[BACKEND] = backend
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_worker_pool)
    app.cleanup_ctx.append(storage.store_ctx)
    app.cleanup_ctx.append(storage.runner_ctx)
    app.on_shutdown.append(storage.stop_runner)
    return app


def _add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/render", handlers.render, name="render")
    router.add_post("/v1/validate", handlers.validate, name="validate")
    router.add_get("/v1/schema", handlers.schema, name="schema")
    router.add_get("/healthz", handlers.healthz, name="healthz")
    router.add_get("/readyz", handlers.readyz, name="readyz")
    router.add_get("/metrics", handlers.metrics, name="metrics")
    router.add_get("/openapi.json", handlers.openapi, name="openapi")
    router.add_get("/docs", handlers.docs, name="docs")


async def _worker_pool(app: web.Application) -> AsyncIterator[None]:
    settings, metrics = app[SETTINGS], app[METRICS]
    backend = app[BACKEND]
    pool = make_pool(
        settings, backend.warm_up, on_restart=metrics.count_restart, preload=backend.preload
    )
    await pool.start()
    log.info(
        "workers ready",
        extra={
            "fields": {"workers": settings.workers, "start_method": settings.worker_start_method}
        },
    )
    app[POOL] = pool
    metrics.bind_pool(pool)
    yield
    await pool.close()


async def _stop_taking_work(app: web.Application) -> None:
    """First step of a graceful stop: refuse new renders, let running and queued ones finish.

    aiohttp then waits up to ``shutdown_grace_s`` for handlers before cleanup closes the pool.
    """
    if POOL in app:
        app[POOL].drain()
