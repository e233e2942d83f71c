"""PNG thumbnails of a PDF's pages, made by ``pdftoppm`` (poppler-utils) and kept on disk.

The cache is keyed by the PDF's SHA-256 (the stored output's hash from the manifest), so a
version's thumbnails are made once and shared by every document that has the same bytes:
``<root>/ab/abcd…/1.png, 2.png, …, pages.json``. A set is made in a temporary folder and
renamed into place, so a reader never sees half of one; ``pages.json`` (written last) lists
the pages with their pixel sizes. At most :attr:`Thumbnails.concurrency` ``pdftoppm`` run at
once, each with a time limit; two requests for the same PDF wait for one run.

Access control is not here: callers look a document up with the user's companies first and only
then ask for its PDF's thumbnails by hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("pilu.console.thumbnails")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PAGE_FILE = re.compile(r"-(\d+)\.png$")


@dataclass(frozen=True, slots=True)
class Thumb:
    page: int
    width: int
    height: int


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@dataclass(eq=False)
class Thumbnails:
    root: Path
    width_px: int = 360
    """Pixel width of a thumbnail (shown at half that on the page, sharp on HiDPI screens)."""
    max_pages: int = 60
    concurrency: int = 2
    timeout_s: float = 60.0
    program: str | None = field(default_factory=lambda: shutil.which("pdftoppm"))
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    @property
    def available(self) -> bool:
        return self.program is not None

    def _folder(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256

    def cached(self, sha256: str) -> list[Thumb] | None:
        index = self._folder(sha256) / "pages.json"
        try:
            pages = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return [Thumb(p["page"], p["width"], p["height"]) for p in pages]

    def path(self, sha256: str, page: int) -> Path | None:
        """The PNG of ``page`` (1-based) if it is in the cache."""
        file = self._folder(sha256) / f"{int(page)}.png"
        return file if file.is_file() else None

    async def pages(
        self, sha256: str, load_pdf: Callable[[], Awaitable[bytes]]
    ) -> list[Thumb] | None:
        """The thumbnails of the PDF whose hash is ``sha256``, made now if not cached
        (``load_pdf`` is only called then). ``None`` when they cannot be made: no ``pdftoppm``,
        a failing or too slow run (logged)."""
        found = self.cached(sha256)
        if found is not None or not self.available:
            return found
        lock = self._locks.setdefault(sha256, asyncio.Lock())
        try:
            async with lock:
                found = self.cached(sha256)
                if found is not None:
                    return found
                if self._slots is None:
                    self._slots = asyncio.Semaphore(self.concurrency)
                async with self._slots:
                    return await self._make(sha256, await load_pdf())
        finally:
            if not lock.locked():
                self._locks.pop(sha256, None)

    async def _make(self, sha256: str, pdf: bytes) -> list[Thumb] | None:
        assert self.program is not None
        final = self._folder(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        work = final.parent / f".tmp-{sha256[:16]}-{secrets.token_hex(4)}"
        work.mkdir()
        try:
            source = work / "in.pdf"
            source.write_bytes(pdf)
            process = await asyncio.create_subprocess_exec(
                self.program, "-png", "-scale-to-x", str(self.width_px), "-scale-to-y", "-1",
                "-f", "1", "-l", str(self.max_pages), str(source), str(work / "p"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), self.timeout_s)
            except TimeoutError:
                process.kill()
                await process.wait()
                log.warning("pdftoppm took longer than %ss for %s", self.timeout_s, sha256)
                return None
            if process.returncode != 0:
                log.warning(
                    "pdftoppm failed for %s: %s",
                    sha256,
                    stderr.decode("utf-8", "replace").strip()[:500],
                )
                return None
            source.unlink()
            pages: list[dict[str, int]] = []
            made = sorted(
                (int(m.group(1)), f)
                for f in work.iterdir()
                if (m := _PAGE_FILE.search(f.name)) is not None
            )
            for number, file in made:
                width, height = png_size(file.read_bytes()[:32])
                file.rename(work / f"{number}.png")
                pages.append({"page": number, "width": width, "height": height})
            (work / "pages.json").write_text(json.dumps(pages), encoding="utf-8")
            try:
                os.rename(work, final)
            except OSError:
                if not (final / "pages.json").is_file():
                    raise
            return [Thumb(p["page"], p["width"], p["height"]) for p in pages]
        finally:
            if work.exists():
                with contextlib.suppress(OSError):
                    shutil.rmtree(work)
