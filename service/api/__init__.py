"""The HTTP layer: a thin aiohttp application in front of the worker pool.

Start with :func:`service.api.app.create_app`; ``pilu serve`` runs :func:`service.server.serve`,
which mounts the console on it.
"""

from __future__ import annotations

from service.api.app import create_app

__all__ = ["create_app"]
