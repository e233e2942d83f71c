"""The compliance console: server-rendered pages (zh-CN) on the API's own application.

Sign in with an API key, browse and download stored documents of one's companies, check a new
payload (every error beside its field, the figures as printed) and generate it, run batches and
follow them live. ``setup_console(app)`` adds it to an application made by ``create_app``
(:func:`service.server.build_app` does; the API never imports the console); ``docs/console.md``
describes it.
"""

from service.console.setup import setup_console

__all__ = ["setup_console"]
