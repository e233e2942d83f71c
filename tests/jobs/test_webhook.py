"""Webhooks: signature, retries, and the runner calling one when a batch finishes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from service.jobs.parse import item_from_bytes
from service.jobs.runner import run_worker
from service.jobs.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, deliver, sign, verify
from service.store import Store, Webhook
from tests.store.fakes import FakeRender, payload

SECRET = "s3cret-值"


@dataclass
class Receiver:
    url: str
    statuses: list[int]
    """Answers in order, then 200."""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(url="", statuses=[])

    async def hook(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.read()))
        return web.Response(status=state.statuses.pop(0) if state.statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("secret", "timestamp_delta", "body_change", "ok"),
    [
        (SECRET, 0, b"", True),
        ("other", 0, b"", False),
        (SECRET, -600, b"", False),
        (SECRET, 0, b" ", False),
    ],
    ids=["valid", "wrong-secret", "too-old", "body-changed"],
)
def test_verify(secret: str, timestamp_delta: int, body_change: bytes, ok: bool) -> None:
    now = int(time.time())
    body = b'{"event":"batch.finished"}'
    signature = sign(SECRET, now + timestamp_delta, body)
    assert verify(secret, str(now + timestamp_delta), body + body_change, signature) is ok


async def test_deliver_retries_until_2xx(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    async with aiohttp.ClientSession() as http:
        error = await deliver(http, receiver.url, SECRET, b"{}", delivery_id="d1", backoff_s=0.01)
    assert error is None and len(receiver.received) == 3


async def test_deliver_gives_up_with_last_error(receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 418]
    async with aiohttp.ClientSession() as http:
        error = await deliver(
            http, receiver.url, SECRET, b"{}", delivery_id="d1", tries=3, backoff_s=0.01
        )
    assert error == "HTTP 418"


async def test_runner_calls_webhook_once_batch_finishes(store: Store, receiver: Receiver) -> None:
    receiver.statuses = [500]
    raws = [payload(n=0), payload(n=1, fail=True)]
    created = await store.batches.create(
        [item_from_bytes(r, str(i)) for i, r in enumerate(raws)],
        webhook=Webhook(receiver.url, SECRET),
    )
    batch_id = created.batch.id
    await run_worker(
        store, FakeRender(), 2, 5, batch_id=batch_id, stop_when_finished=True, poll_interval_s=0.02
    )
    assert (await store.batches.get(batch_id)).webhook_state == "delivered"
    assert len(receiver.received) == 2, "one 500, then delivered on the retry"
    headers, body = receiver.received[-1]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["event"] == "batch.finished"
    assert (event["batch"]["id"], event["batch"]["done"], event["batch"]["failed"]) == (
        batch_id,
        1,
        1,
    )
    assert headers["X-Pilu-Delivery"] == batch_id
