"""Webhook URLs the tests expect refused: every spelling of this machine's loopback."""

from __future__ import annotations


def loopback_urls(port: int) -> list[str]:
    """URLs that all reach this machine on ``port`` when nothing stops them."""
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://LOCALHOST:{port}/hook",
        f"http://127.0.0.2:{port}/hook",
        f"http://127.1:{port}/hook",
        f"http://2130706433:{port}/hook",
        f"http://0x7f.1:{port}/hook",
        f"http://0x7f000001:{port}/hook",
        f"http://0177.0.0.1:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"http://0.0.0.0:{port}/hook",
        f"https://127.0.0.1:{port}/hook",
    ]
