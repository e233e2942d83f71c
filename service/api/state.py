"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from service.settings import Settings

if TYPE_CHECKING:
    from service.api.admission import Admission
    from service.api.auth import KeyRing, Principal
    from service.api.backend import Backend
    from service.api.body import Uploads
    from service.api.metrics import Metrics
    from service.store import Store
    from service.workers import Pool

SETTINGS = web.AppKey("settings", Settings)
BACKEND: web.AppKey[Backend] = web.AppKey("backend")
KEYRING: web.AppKey[KeyRing] = web.AppKey("keyring")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
POOL: web.AppKey[Pool] = web.AppKey("pool")
ADMISSION: web.AppKey[Admission] = web.AppKey("admission")
UPLOADS: web.AppKey[Uploads] = web.AppKey("uploads")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
DOCS_HTML = web.AppKey("docs_html", str)
PAYLOAD_SCHEMA: web.AppKey[dict[str, Any]] = web.AppKey("payload_schema")
STORE: web.AppKey[Store] = web.AppKey("store")
"""The document and batch store, opened in a cleanup context (SQLite by default)."""

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
ERROR_CODE = web.RequestKey("error_code", str)
"""Set by the error middleware so the access log line names the error without its message."""
