"""The only door from a rendered document to the file system: a closed WeasyPrint URL fetcher.

WeasyPrint's default fetcher reads any ``file://`` URL and follows HTTP(S) and ``data:``. Ours
serves regular files under the allowed roots (``templates/`` and ``fonts/`` by default) and
refuses everything else: other schemes, hosts, ``..`` segments and symlinks that lead outside.
A refusal stops the render (``fail_on_errors``) instead of becoming a silent missing image.
The house style's ``@font-face`` files pass :meth:`ClosedURLFetcher.resolve` too; what it
returns is handed to fontconfig to read in place (:mod:`.fonts`) rather than fetched.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from service import FONTS_DIR, TEMPLATES_DIR


class URLRefused(ValueError):
    """A URL the document may not reach."""


class ClosedURLFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """Serve files under ``roots`` only; ``roots`` default to the templates and fonts folders."""

    def __init__(self, roots: Iterable[Path] = (TEMPLATES_DIR, FONTS_DIR)) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)
        self.roots = tuple(Path(root).resolve(strict=True) for root in roots)

    def resolve(self, url: str) -> Path:
        """The real path ``url`` names, or :class:`URLRefused` when it is not ours to read."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise URLRefused(f"only file URLs under the template and font folders: {url[:200]}")
        raw_path = unquote(parts.path)
        if "\0" in raw_path or ".." in raw_path.split("/"):
            raise URLRefused(f"path with '..' or NUL refused: {url[:200]}")
        path = Path(url2pathname(parts.path))
        if not path.is_absolute():
            raise URLRefused(f"relative file URL refused: {url[:200]}")
        try:
            real = path.resolve(strict=True)
        except OSError as exc:
            raise URLRefused(f"no such file: {url[:200]}") from exc
        if not real.is_file() or not any(real.is_relative_to(root) for root in self.roots):
            raise URLRefused(f"outside the template and font folders: {url[:200]}")
        return real

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), path.read_bytes(), headers={"Content-Type": content_type}
        )
