"""What the console keeps on the application and on each request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from service.console.companies import CompanyNames

if TYPE_CHECKING:
    import jinja2

    from service.console.sessions import Session, SessionStore, SignInThrottle
    from service.console.thumbnails import Thumbnails


@dataclass(eq=False)
class ConsoleState:
    sessions: SessionStore
    throttle: SignInThrottle
    pages: jinja2.Environment
    thumbnails: Thumbnails
    companies: CompanyNames = field(default_factory=CompanyNames)
    previews: dict[str, set[str]] = field(default_factory=dict)
    """A previewed PDF's SHA-256 → the sessions that asked for it (service.console.preview_pages)."""


CONSOLE: web.AppKey[ConsoleState] = web.AppKey("console")
SESSION: web.RequestKey[Session | None] = web.RequestKey("console_session")
"""The signed-in session of a console request, or ``None``; set by the console middleware."""
