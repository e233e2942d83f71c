"""Webhooks: signature, retries, the runner calling one when a batch finishes, and where a
webhook may go (public addresses only unless allowed, checked again at delivery).

No test here sends anything beyond loopback: internal addresses other than 127.0.0.1 are only
classified, and name lookups are replaced by fakes that answer loopback at delivery time (so a
guard that failed would reach the test's own listener, never another host)."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from service.jobs import webhook
from service.jobs.parse import item_from_bytes
from service.jobs.runner import run_worker
from service.jobs.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Refused,
    check_url,
    deliver,
    is_public,
    sign,
    verify,
)
from service.store import Store, Webhook
from tests.jobs.runner_events import Heard
from tests.jobs.webhook_targets import loopback_urls
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
        error = await deliver(
            http, receiver.url, SECRET, b"{}", delivery_id="d1", backoff_s=0.01, allow_private=True
        )
    assert error is None and len(receiver.received) == 3


async def test_deliver_gives_up_with_last_error(receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 418]
    async with aiohttp.ClientSession() as http:
        error = await deliver(
            http, receiver.url, SECRET, b"{}", delivery_id="d1", tries=3, backoff_s=0.01,
            allow_private=True,
        )  # fmt: skip
    assert error == "HTTP 418"


async def test_runner_calls_webhook_once_batch_finishes(store: Store, receiver: Receiver) -> None:
    receiver.statuses = [500]
    raws = [payload(n=0), payload(n=1, fail=True)]
    created = await store.batches.create(
        [item_from_bytes(r, str(i)) for i, r in enumerate(raws)],
        webhook=Webhook(receiver.url, SECRET),
    )
    batch_id = created.batch.id
    heard = Heard()
    await run_worker(
        store, FakeRender(), 2, 5, batch_id=batch_id, stop_when_finished=True,
        poll_interval_s=0.02, webhook_allow_private=True,  # the receiver is on loopback
        events=heard,
    )  # fmt: skip
    assert (await store.batches.get(batch_id)).webhook_state == "delivered"
    assert heard.webhooks == ["delivered"]
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


# --- where a webhook may go -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",
    ],
)  # fmt: skip
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1:70/", "javascript:1",
        "/relative", "http://", "http://u:p@example.com/", "http://u@example.com/",
        "http://exa mple.com/", "http://example.com/\x00", "http://" + "a" * 2001 + ".com/",
    ],
)  # fmt: skip
async def test_unusable_urls_are_refused_whatever_the_setting(url: str) -> None:
    with pytest.raises(Refused):
        await check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook", "http://localhost/hook", "http://sub.localhost/hook",
        "http://[::1]/hook", "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/",
        "http://[::ffff:7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/",
    ],
)  # fmt: skip
async def test_internal_urls_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(Refused):
        await check_url(url, allow_private=False)
    assert str(await check_url(url, allow_private=True))


def fake_lookup(answers: list[list[str]]) -> object:
    """A stand-in for :func:`webhook.lookup` answering each call with the next list (the last
    one repeats): a DNS name that changes its answer."""
    calls: list[str] = []

    async def lookup(host: str, port: int | None, family: int = socket.AF_UNSPEC) -> list[object]:
        calls.append(host)
        answer = answers[min(len(calls) - 1, len(answers) - 1)]
        return [ipaddress.ip_address(a) for a in answer]

    lookup.calls = calls  # type: ignore[attr-defined]
    return lookup


async def test_names_that_resolve_to_internal_addresses_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook, "lookup", fake_lookup([["8.8.8.8", "127.0.0.1"]]))
    with pytest.raises(Refused):
        await check_url("https://half-internal.example/hook", allow_private=False)


async def test_delivery_to_loopback_sends_nothing_unless_allowed(receiver: Receiver) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    async with aiohttp.ClientSession() as http:
        for url in loopback_urls(port):
            error = await deliver(http, url, SECRET, b"{}", delivery_id="d", backoff_s=0.01)
            assert error is not None, url
        assert receiver.received == [], "a refused webhook reached the listener"
        # the control: the same listener, allowed, does receive (the test can see a delivery)
        error = await deliver(
            http, receiver.url, SECRET, b"{}", delivery_id="d", allow_private=True
        )
    assert error is None and len(receiver.received) == 1


async def test_dns_rebinding_is_caught_at_delivery(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is public when the batch is submitted and loopback when it is delivered."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    lookup = fake_lookup([["8.8.8.8"], ["127.0.0.1"]])
    monkeypatch.setattr(webhook, "lookup", lookup)
    url = f"http://rebind.example:{port}/hook"
    assert str(await check_url(url, allow_private=False)) == url
    async with aiohttp.ClientSession() as http:
        error = await deliver(http, url, SECRET, b"{}", delivery_id="d", backoff_s=0.01)
    assert error is not None and "rebind.example" in error
    assert receiver.received == []
    assert len(lookup.calls) >= 2  # type: ignore[attr-defined]


async def test_the_runner_refuses_private_addresses_unless_told(
    store: Store, receiver: Receiver
) -> None:
    """No ``webhook_allow_private``: the loopback receiver is refused; the item still finishes
    and the webhook records the refusal."""
    created = await store.batches.create(
        [item_from_bytes(payload(n=0), "0")], webhook=Webhook(receiver.url, SECRET)
    )
    await run_worker(
        store, FakeRender(), 1, 5, batch_id=created.batch.id, stop_when_finished=True,
        poll_interval_s=0.02,
    )  # fmt: skip
    assert receiver.received == []
    status = await store.batches.get(created.batch.id)
    assert status.done == 1 and status.webhook_state != "delivered"  # to be retried, or given up
