"""Peer: headless Chromium printing Pilu's own HTML and CSS to PDF, warm, over CDP.

The page is the HTML the PDF writer hands WeasyPrint (``service.render.pdf.html.build_html``)
with the writer's stylesheet (``service.render.pdf.css.build_css``). Both go into a temporary
folder with a copy of the fonts, the stylesheet's ``file://`` font URLs rewritten to the copies,
so Chromium lays out the same text with the same faces; nothing leaves the machine.

One browser and one tab stay open (warm). Per document: write the HTML, navigate, wait for the
load event and ``document.fonts.ready``, ``Page.printToPDF`` with the stylesheet's page size.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from bench import procs

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page_stylesheet(style: Any, font_dir: Path) -> str:
    """The PDF writer's stylesheet, its font URLs pointing at copies in ``font_dir``."""
    from service.render.pdf.css import build_css

    css = build_css(style)
    for face in style.faces.values():
        css = css.replace(face.path.as_uri(), (font_dir / face.path.name).as_uri())
    return css


def page_html(document: Any, style: Any) -> str:
    """The PDF writer's HTML for ``document`` in ``style``, linking the stylesheet beside it."""
    from service.render.pdf.html import build_html

    html = build_html(document, style)
    return html.replace("</head>", '<link rel="stylesheet" href="style.css">\n</head>', 1)


class Chromium:
    """A warm headless Chromium with one tab, driven over the DevTools protocol."""

    def __init__(self, style: Any, timeout: float = 60.0) -> None:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium not installed (scripts/install-bench.sh)")
        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="pilu-bench-chromium-"))
        profile = self.dir / "profile"
        site = self.dir / "site"
        fonts = site / "fonts"
        fonts.mkdir(parents=True)
        for face in style.faces.values():
            target = fonts / face.path.name
            if not target.exists():
                try:
                    target.hardlink_to(face.path)
                except OSError:
                    shutil.copyfile(face.path, target)
        (site / "style.css").write_text(page_stylesheet(style, fonts), encoding="utf-8")
        self.site = site
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "chromium.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        if not procs.wait_for(
            lambda: port_file.exists() and len(port_file.read_text().split()) >= 2, 30
        ):
            self.close()
            raise RuntimeError(
                f"chromium did not open its DevTools port; see {self.dir}/chromium.log"
            )
        port, path = port_file.read_text().split()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10)
        self._ids = itertools.count(1)
        self._loaded = False
        self.fonts_loaded: int | None = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self._count = itertools.count()

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = False
    ) -> Any:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("method") == "Page.loadEventFired":
                self._loaded = True
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"CDP {method}: {reply['error']}")
                return reply.get("result", {})

    def _wait_load(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self._loaded:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("method") == "Page.loadEventFired":
                self._loaded = True

    def print_pdf(self, html: str) -> bytes:
        """The PDF of one page of HTML (``page_html``), laid out with the shared stylesheet."""
        page = self.site / f"doc-{next(self._count)}.html"
        page.write_text(html, encoding="utf-8")
        self._loaded = False
        self.call("Page.navigate", {"url": page.as_uri()}, session=True)
        self._wait_load()
        fonts = self.call(
            "Runtime.evaluate",
            {
                # every face of the stylesheet, as WeasyPrint loads them (the page-number face
                # is only used in a margin box, which Chromium lays out at print time)
                "expression": (
                    "Promise.all([...document.fonts].map(f => f.load()))"
                    ".then(() => document.fonts.ready)"
                    ".then(() => [...document.fonts].filter(f => f.status === 'loaded').length)"
                ),
                "awaitPromise": True,
                "returnByValue": True,
            },
            session=True,
        )
        self.fonts_loaded = fonts.get("result", {}).get("value")
        result = self.call(
            "Page.printToPDF",
            {"preferCSSPageSize": True, "printBackground": True, "displayHeaderFooter": False},
            session=True,
        )
        page.unlink(missing_ok=True)
        return base64.b64decode(result["data"])

    def cpu_seconds(self) -> float:
        """CPU time of the browser's process tree so far."""
        return procs.tree_cpu_seconds(self.proc.pid)

    def memory_bytes(self) -> int:
        """PSS of the browser's whole process tree."""
        return procs.tree_pss_bytes(self.proc.pid)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        procs.stop_group(self.proc, grace=5)
        shutil.rmtree(self.dir, ignore_errors=True)


def cold_print(style: Any, html: str) -> tuple[float, bytes]:
    """One browser per document: start Chromium, print, stop. Seconds and the PDF."""
    started = time.perf_counter()
    browser = Chromium(style)
    try:
        pdf = browser.print_pdf(html)
    finally:
        browser.close()
    return time.perf_counter() - started, pdf
