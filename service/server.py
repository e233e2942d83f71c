"""The whole web application, and ``pilu serve``: settings, logging, keys, then aiohttp's runner
until SIGTERM or SIGINT; and ``pilu worker``, a node with the same pool, store and batch runner
but no HTTP (:func:`work`).

:func:`build_app` is where the API and the console meet: the API's ``create_app`` knows nothing
of the console, which is mounted on the application it made.

On a signal aiohttp stops listening, the pool refuses new work, and in-flight requests get up to
``shutdown_grace_s`` to finish before they are cut and the workers are stopped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import signal
import sys
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr, ValidationError

from service import signing
from service.api.app import create_app, create_worker_app
from service.api.backend import Backend
from service.api.logs import configure_logging
from service.console import setup_console
from service.settings import ApiKey, Settings
from service.workers.pool import stop_helper_processes

DEV_KEY_FILE = "dev-api-key"


def serve(
    host: str | None = None, port: int | None = None, *, backend: Backend | None = None
) -> None:
    """Run the API until stopped. ``host``/``port`` override the settings when not ``None``."""
    try:
        settings = Settings.load(host=host, port=port)
    except (ValidationError, FileNotFoundError) as exc:
        sys.exit(f"pilu: bad settings (see docs/configuration.md):\n{exc}")
    try:
        signing.signer_from_settings(settings)
    except signing.SigningSetupError as exc:
        sys.exit(f"pilu: 签章证书不可用（PILU_SIGNING_PKCS12）：{exc}")
    configure_logging(settings.log_level)
    settings, hints = with_local_dev_key(settings)
    app = build_app(settings, backend=backend)
    base = base_url(settings.host, settings.port)

    def announce(_: str) -> None:
        print(f"Pilu listening on {base}  (API page: {base}/docs; Ctrl-C to stop)", flush=True)
        for line in hints:
            print(line, flush=True)

    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_grace_s,
        access_log=None,
        print=announce,
    )
    # The pool has reaped its workers; end multiprocessing's helper processes too, so that no
    # child of the server outlives it (a supervisor may count a lingering child as a stuck stop).
    stop_helper_processes()


def work(*, backend: Backend | None = None) -> None:
    """Run a node that renders batch items only (``pilu worker``) until SIGTERM or SIGINT; then
    stop as ``pilu serve`` does: no new item, those in flight get ``shutdown_grace_s``."""
    try:
        settings = Settings.load()
    except (ValidationError, FileNotFoundError) as exc:
        sys.exit(f"pilu: bad settings (see docs/configuration.md):\n{exc}")
    configure_logging(settings.log_level)
    asyncio.run(_work(create_worker_app(settings, backend=backend)))
    stop_helper_processes()


async def _work(app: web.Application) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # workers warm, store open, runner started
    print("Pilu batch worker running (no HTTP; SIGTERM or Ctrl-C to stop)", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def build_app(settings: Settings, *, backend: Backend | None = None) -> web.Application:
    """The API (:func:`~service.api.app.create_app`) with the compliance console mounted on it:
    what ``pilu serve`` runs. ``backend`` defaults to the real pipeline; tests pass their own."""
    app = create_app(settings, backend=backend)
    setup_console(app)
    return app


def with_local_dev_key(settings: Settings) -> tuple[Settings, list[str]]:
    """Settings with a local development key added when none are configured, and lines that
    tell a person how to use it (the key itself is never printed: the curl line reads the file).

    Exits with a message when no keys are configured and a dev key is not allowed.
    """
    if settings.api_keys:
        return settings, []
    if not settings.local_dev_key or not is_loopback(settings.host):
        sys.exit(
            "pilu: no API keys configured. Set PILU_API_KEYS (for example "
            "'<key>:<company id>'); see docs/configuration.md. A local development key is only "
            "made when binding a loopback address."
        )
    path = settings.data_dir / DEV_KEY_FILE
    key = load_or_create_key(path)
    dev = ApiKey(secret=SecretStr(key), companies=frozenset({"*"}), given_name="local-dev")
    shown = path if not path.is_absolute() else path.resolve()
    base = base_url(settings.host, settings.port)
    hints = [
        f"No PILU_API_KEYS set: using a local development key (all companies) kept in {shown}.",
        "Render the example:",
        (
            f'  curl -sS -H "Authorization: Bearer $(cat {shown})" '
            f"--data-binary @examples/xiaokang-life-2023.json -o report.pdf "
            f'"{base}/v1/render?format=pdf"'
        ),
    ]
    return settings.model_copy(update={"api_keys": (dev,)}), hints


def load_or_create_key(path: Path) -> str:
    """The key in ``path``, or a new random one written there with mode 0600."""
    try:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
