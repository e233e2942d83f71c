"""Console sessions: signed session ids in a cookie, the sessions themselves in the store.

A session is made only by signing in with an API key (the API's :class:`KeyRing` decides), so a
session id is never chosen by the browser (no fixation). The cookie holds
``<id>.<HMAC-SHA256(secret, id)>``; the secret is made once and kept in the store, and so are the
sessions (:mod:`service.store.sessions`): every node sharing the store knows every session, and
a restart signs no one out. A session records which key made it (the key's scope, never the
key) and takes that key's companies from the key ring at every request, so a key removed from
``PILU_API_KEYS`` signs its sessions out on the next request to a node that has the new setting.

Each session has its own CSRF token, compared in constant time with the one every form sends.
The sign-in form, which has no session yet, is protected by a double-submit token: a random
pre-session cookie and an HMAC of it in the form (valid on every node: the secret is shared).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from service.api.auth import ALL_COMPANIES, KeyRing, Principal
from service.store.sessions import SessionRow, SessionRows

COOKIE = "pilu_console"
PRE_COOKIE = "pilu_console_pre"
COOKIE_PATH = "/console"

IDLE_TIMEOUT_S = 8 * 3600.0
"""A session unused this long is gone."""
MAX_AGE_S = 12 * 3600.0
"""No session lives longer than this, used or not (a working day)."""
MAX_SESSIONS = 10_000
"""Oldest sessions are dropped past this many (bounds the table)."""
TOUCH_AFTER_S = 60.0
"""A session's last use is written at most this often (a console page is not a write)."""
SECRET_NAME = "console"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def key_tag(key: str) -> str:
    """A short, non-reversible tag of an API key: the idempotency scope of its console writes."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass(eq=False)
class Session:
    id: str
    principal: Principal
    key_tag: str
    csrf: str
    created: float
    seen: float

    @property
    def allowed_companies(self) -> frozenset[str] | None:
        """What the stores take: ``None`` for a key allowed every company."""
        companies = self.principal.companies
        return None if ALL_COMPANIES in companies else companies

    @property
    def all_companies(self) -> bool:
        return ALL_COMPANIES in self.principal.companies

    @property
    def companies(self) -> list[str]:
        """The company ids the key names, sorted (``*`` left out)."""
        return sorted(c for c in self.principal.companies if c != ALL_COMPANIES)

    @property
    def scope(self) -> str:
        return f"console:{self.key_tag}"

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(
            self.csrf.encode(), (presented or "").encode("utf-8", "surrogateescape")
        )


@dataclass(eq=False)
class SessionStore:
    """Sessions in the store ``rows()`` reads (opened when the application starts, after the
    console is set up), their keys resolved by ``keys()``."""

    rows: Callable[[], SessionRows]
    keys: Callable[[], KeyRing]
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_age_s: float = MAX_AGE_S
    max_sessions: int = MAX_SESSIONS
    touch_after_s: float = TOUCH_AFTER_S
    clock: Callable[[], float] = time.time
    _secret: bytes | None = None

    async def _sign(self, purpose: str, value: str) -> str:
        if self._secret is None:
            self._secret = await self.rows().secret(SECRET_NAME)
        mac = hmac.new(self._secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return _b64(mac)

    async def create(self, principal: Principal, tag: str) -> tuple[Session, str]:
        """A new session and the cookie value that names it."""
        now = self.clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            principal=principal,
            key_tag=tag,
            csrf=secrets.token_urlsafe(32),
            created=now,
            seen=now,
        )
        row = SessionRow(_sha(session.id), principal.scope, tag, session.csrf, now, now)
        await self.rows().add(
            row, keep=self.max_sessions, idle_timeout_s=self.idle_timeout_s,
            max_age_s=self.max_age_s,
        )  # fmt: skip
        return session, f"{session.id}.{await self._sign('session', session.id)}"

    async def lookup(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; ``None`` for no cookie, a bad signature, an unknown
        or expired session, or one whose key is no longer configured. Using a session keeps it
        alive (up to :attr:`max_age_s`)."""
        if not cookie:
            return None
        sid, _, mac = cookie.partition(".")
        if (
            not sid
            or not mac
            or not hmac.compare_digest(
                mac.encode("utf-8", "surrogateescape"), (await self._sign("session", sid)).encode()
            )
        ):
            return None
        rows = self.rows()
        row = await rows.get(_sha(sid))
        if row is None:
            return None
        now = self.clock()
        principal = self.keys().by_scope(row.key_scope)
        if (
            principal is None
            or now - row.seen_at > self.idle_timeout_s
            or now - row.created_at > self.max_age_s
        ):
            await rows.remove(row.id_sha256)
            return None
        if now - row.seen_at >= self.touch_after_s:
            await rows.touch(row.id_sha256, now)
        return Session(sid, principal, row.key_tag, row.csrf, row.created_at, now)

    async def drop(self, session: Session) -> None:
        await self.rows().remove(_sha(session.id))

    # --- the sign-in form ---------------------------------------------------------------------

    @staticmethod
    def new_pre_session() -> str:
        return secrets.token_urlsafe(24)

    async def sign_in_token(self, pre_session: str) -> str:
        return await self._sign("sign-in", pre_session)

    async def sign_in_token_ok(self, pre_session: str | None, presented: str | None) -> bool:
        if not pre_session or not presented:
            return False
        return hmac.compare_digest(
            (await self.sign_in_token(pre_session)).encode(),
            presented.encode("utf-8", "surrogateescape"),
        )


def _sha(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(eq=False)
class SignInThrottle:
    """At most ``limit`` failed sign-ins per client address in ``window_s``; then wait."""

    limit: int = 10
    window_s: float = 600.0
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        cutoff = self.clock() - self.window_s
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.limit

    def failed(self, client: str) -> None:
        times = self._recent(client)
        times.append(self.clock())
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
