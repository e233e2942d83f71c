"""Batch webhooks: one signed POST when a batch finishes, retried a few times.

Signature: ``X-Pilu-Signature: sha256=<hex>`` where ``hex`` is HMAC-SHA256 under the batch's
secret of ``<X-Pilu-Timestamp>.<body>`` (the timestamp header, a dot, the raw body bytes). A
receiver recomputes it over the bytes it got, compares in constant time (:func:`verify` does),
and rejects old timestamps to stop replays. ``X-Pilu-Delivery`` is the batch id, the same for every
retry, so a receiver can drop duplicates: delivery is at least once.

Redirects are not followed (the URL must answer itself); a 2xx status counts as delivered.

Where a webhook may go: only to public addresses, unless the operator allows private ones
(``PILU_WEBHOOK_ALLOW_PRIVATE``). The API checks the URL when the batch is submitted
(:func:`check_url`), and :func:`deliver` checks again at delivery time, on the addresses it
actually connects to (:class:`PublicResolver`): a host name whose DNS answer changed in between
(DNS rebinding) reaches nothing internal. The policy is an argument all the way down
(``run_worker(webhook_allow_private=…)`` → :func:`deliver`), *not allowed* unless given. What
this cannot see: an egress proxy or NAT in front of the service that maps a
public address to an internal one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from service.store.models import BatchStatus

SIGNATURE_HEADER = "X-Pilu-Signature"
TIMESTAMP_HEADER = "X-Pilu-Timestamp"
DELIVERY_HEADER = "X-Pilu-Delivery"
EVENT_HEADER = "X-Pilu-Event"
EVENT = "batch.finished"

SCHEMES = ("http", "https")
MAX_URL_CHARS = 2000
RESOLVE_TIMEOUT_S = 5.0

log = logging.getLogger("pilu.jobs.webhook")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """A webhook URL that may not be used; the message says why (no secret in it)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not loopback, private, link-local (169.254.169.254, the cloud
    metadata address, included), shared (100.64/10), multicast, reserved or unspecified, and
    no IPv6 form that carries such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
        if address.scope_id:
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


async def lookup(host: str, port: int | None, family: int = socket.AF_UNSPEC) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is itself); ``Refused`` if none."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_S,
        )
    except (OSError, TimeoutError, UnicodeError):
        raise Refused("无法解析Webhook地址的主机名") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise Refused("无法解析Webhook地址的主机名")
    return found


def parse_url(text: str) -> URL:
    """An absolute http(s) URL without user name or password; ``Refused`` otherwise."""
    try:
        url = URL(text)
    except (ValueError, TypeError):
        url = URL()
    if (
        len(text) > MAX_URL_CHARS
        or url.scheme not in SCHEMES
        or not url.host
        or url.user is not None
        or url.password is not None
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in text)
    ):
        raise Refused("Webhook地址须为不含用户名密码的 http(s) 绝对地址")
    return url


async def check_url(text: str, *, allow_private: bool) -> URL:
    """The URL a batch may be given: :func:`parse_url`, and unless ``allow_private`` every
    address its host resolves to now is public (delivery checks again: :func:`deliver`)."""
    url = parse_url(text)
    if not allow_private:
        host = url.host or ""
        if host == "localhost" or host.endswith(".localhost"):
            raise Refused("Webhook地址指向内部网络地址")
        addresses = await lookup(host, url.port)
        if not all(is_public(a) for a in addresses):
            raise Refused("Webhook地址指向内部网络地址")
    return url


class PublicResolver(AbstractResolver):
    """Resolves through :func:`lookup` and keeps only public addresses, so the connection goes
    to an address that was checked (no second lookup between check and connect)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await lookup(host, port, family)
        except Refused as exc:
            raise OSError(str(exc)) from None
        kept = [a for a in addresses if is_public(a)]
        if not kept:
            raise OSError(f"Webhook主机 {host[:100]} 只解析到内部网络地址，已拒绝")
        return [
            ResolveResult(
                hostname=host,
                host=str(a),
                port=port,
                family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in kept
        ]

    async def close(self) -> None:
        return None


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
    allow_private: bool = False,
) -> str | None:
    """POST ``body`` to ``url`` up to ``tries`` times (back-off doubling from ``backoff_s``).

    Returns ``None`` when delivered, else the last error (for ``webhook_last_error``). Unless
    private addresses are allowed (``allow_private``), the URL is
    checked again here and sent through a connector of its own that connects only to public
    addresses; ``session`` is used as it is only when they are allowed.
    """
    if allow_private:
        return await _deliver(session, url, secret, body, delivery_id, tries, backoff_s, timeout_s)
    try:
        target = parse_url(url)
        if target.host is not None and not _public_literal(target.host):
            raise Refused("Webhook地址指向内部网络地址")
    except Refused as exc:
        log.warning("webhook %s refused: %s", delivery_id, exc)
        return f"refused: {exc}"
    connector = aiohttp.TCPConnector(resolver=PublicResolver(), use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as guarded:
        return await _deliver(guarded, url, secret, body, delivery_id, tries, backoff_s, timeout_s)


def _public_literal(host: str) -> bool:
    """False for an IP literal (aiohttp skips the resolver for those) that is not public, and
    for ``localhost`` names; names are left to :class:`PublicResolver`."""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return is_public(address)


async def _deliver(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    body: bytes,
    delivery_id: str,
    tries: int,
    backoff_s: float,
    timeout_s: float,
) -> str | None:
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
