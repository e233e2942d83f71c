"""Console sessions: signed session ids in a cookie, the sessions themselves in memory.

A session is made only by signing in with an API key (the API's :class:`KeyRing` decides), so a
session id is never chosen by the browser (no fixation). The cookie holds
``<id>.<HMAC-SHA256(secret, id)>``; the secret is random per process, and so is the memory the
sessions live in: a restart (which is also how keys change) signs everyone out. With several
server processes behind one address, a browser must keep talking to the same one (sticky
sessions), or sign in again.

Each session has its own CSRF token, compared in constant time with the one every form sends.
The sign-in form, which has no session yet, is protected by a double-submit token: a random
pre-session cookie and an HMAC of it in the form.
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

from service.api.auth import ALL_COMPANIES, Principal

COOKIE = "pilu_console"
PRE_COOKIE = "pilu_console_pre"
COOKIE_PATH = "/console"

IDLE_TIMEOUT_S = 8 * 3600.0
"""A session unused this long is gone."""
MAX_AGE_S = 12 * 3600.0
"""No session lives longer than this, used or not (a working day)."""
MAX_SESSIONS = 10_000
"""Oldest sessions are dropped past this many (bounds memory)."""


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
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_age_s: float = MAX_AGE_S
    max_sessions: int = MAX_SESSIONS
    clock: Callable[[], float] = time.monotonic
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _sessions: OrderedDict[str, Session] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._sessions)

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self.secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return _b64(mac)

    def create(self, principal: Principal, tag: str) -> tuple[Session, str]:
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
        self._sessions[session.id] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session, f"{session.id}.{self._sign('session', session.id)}"

    def lookup(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; ``None`` for no cookie, a bad signature, an unknown
        or expired session. Using a session keeps it alive (up to :attr:`max_age_s`)."""
        if not cookie:
            return None
        sid, _, mac = cookie.partition(".")
        if (
            not sid
            or not mac
            or not hmac.compare_digest(
                mac.encode("utf-8", "surrogateescape"), self._sign("session", sid).encode()
            )
        ):
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle_timeout_s or now - session.created > self.max_age_s:
            del self._sessions[sid]
            return None
        session.seen = now
        self._sessions.move_to_end(sid)
        return session

    def drop(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    # --- the sign-in form ---------------------------------------------------------------------

    @staticmethod
    def new_pre_session() -> str:
        return secrets.token_urlsafe(24)

    def sign_in_token(self, pre_session: str) -> str:
        return self._sign("sign-in", pre_session)

    def sign_in_token_ok(self, pre_session: str | None, presented: str | None) -> bool:
        if not pre_session or not presented:
            return False
        return hmac.compare_digest(
            self.sign_in_token(pre_session).encode(),
            presented.encode("utf-8", "surrogateescape"),
        )


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
