"""Batch webhooks: one signed POST when a batch finishes, retried a few times.

Signature: ``X-Pilu-Signature: sha256=<hex>`` where ``hex`` is HMAC-SHA256 under the batch's
secret of ``<X-Pilu-Timestamp>.<body>`` (the timestamp header, a dot, the raw body bytes). A
receiver recomputes it over the bytes it got, compares in constant time (:func:`verify` does),
and rejects old timestamps to stop replays. ``X-Pilu-Delivery`` is the batch id, the same for every
retry, so a receiver can drop duplicates: delivery is at least once.

Redirects are not followed (the URL must answer itself); a 2xx status counts as delivered.
What the caller's URL may point at (internal addresses) is for the API layer to check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import aiohttp

from service.store.models import BatchStatus

SIGNATURE_HEADER = "X-Pilu-Signature"
TIMESTAMP_HEADER = "X-Pilu-Timestamp"
DELIVERY_HEADER = "X-Pilu-Delivery"
EVENT_HEADER = "X-Pilu-Event"
EVENT = "batch.finished"

log = logging.getLogger("pilu.jobs.webhook")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` over ``b"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance_s: float = 300,
           now: float | None = None) -> bool:  # fmt: skip
    """Whether ``signature`` is ours for ``body`` at ``timestamp``, no older than ``tolerance_s``."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def body_of(status: BatchStatus) -> bytes:
    payload: dict[str, Any] = {"event": EVENT, "batch": status.as_dict()}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    body: bytes,
    *,
    delivery_id: str,
    tries: int = 3,
    backoff_s: float = 0.5,
    timeout_s: float = 10.0,
) -> str | None:
    """POST ``body`` to ``url`` up to ``tries`` times (back-off doubling from ``backoff_s``).

    Returns ``None`` when delivered, else the last error (for ``webhook_last_error``).
    """
    error: str | None = None
    for attempt in range(tries):
        if attempt:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: EVENT,
            "User-Agent": "pilu-webhook/1",
        }
        try:
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:  # fmt: skip
                if 200 <= response.status < 300:
                    return None
                error = f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("webhook %s try %d failed: %s", delivery_id, attempt + 1, error)
    return error
