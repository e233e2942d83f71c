"""LibreOffice, isolated from the machine's fonts, as a second reader of our DOCX files.

``soffice --headless --convert-to pdf`` runs with its own HOME and user profile and a fontconfig
configuration whose only font is a Latin one (LibreOffice aborts with no font at all): every
Chinese glyph in the output must then come from the fonts embedded in the DOCX. Poppler's
``pdffonts``, ``pdftotext -bbox`` and ``pdftoppm`` read the result.

Positions are PDF points from the top-left corner of the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.render.pdf_reading import Box, word_pages

Word = Box
"""A word with its box, on a page numbered from 1."""

_LATIN_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def available() -> bool:
    return all(
        shutil.which(tool) for tool in ("soffice", "pdffonts", "pdftotext", "pdftoppm", "fc-list")
    )


def latin_font() -> Path | None:
    for candidate in _LATIN_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Sandbox:
    """A HOME, a LibreOffice profile and a fontconfig setup that sees no CJK font."""

    root: Path

    @classmethod
    def create(cls, root: Path, font: Path) -> Sandbox:
        fonts = root / "fonts"
        fonts.mkdir(parents=True)
        (fonts / font.name).symlink_to(font)
        (root / "home").mkdir()
        (root / "fontconfig.xml").write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
            f"  <dir>{fonts}</dir>\n  <cachedir>{root / 'fc-cache'}</cachedir>\n</fontconfig>\n",
            encoding="utf-8",
        )
        return cls(root)

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / "home"),
            "FONTCONFIG_FILE": str(self.root / "fontconfig.xml"),
            "LANG": "C.UTF-8",
        }

    def fonts_for(self, lang: str) -> list[str]:
        """What fontconfig in the sandbox offers for ``lang`` (``zh`` must give nothing)."""
        out = subprocess.run(
            ["fc-list", f":lang={lang}", "family"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [line for line in out.stdout.splitlines() if line.strip()]

    def convert(self, docx_files: Sequence[Path], out_dir: Path) -> list[Path]:
        """Convert ``docx_files`` to PDF in one LibreOffice run; the PDFs, in the same order."""
        out_dir.mkdir(parents=True, exist_ok=True)
        profile = (self.root / "profile").as_uri()
        subprocess.run(
            [
                "soffice", "--headless", "--norestore", "--nologo", f"-env:UserInstallation={profile}",
                "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, docx_files),
            ],
            env=self.env, capture_output=True, check=True, timeout=240,
        )  # fmt: skip
        pdfs = [out_dir / (f.stem + ".pdf") for f in docx_files]
        missing = [p.name for p in pdfs if not p.is_file()]
        if missing:
            raise RuntimeError(f"LibreOffice wrote no PDF for {missing}")
        return pdfs


def pdf_fonts(pdf: Path) -> list[str]:
    """Base font names (``ABCDEF+FandolFang``) that ``pdffonts`` lists."""
    out = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True, timeout=60
    )
    return [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip()]


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    width: float
    height: float
    words: tuple[Word, ...]

    def lines(self) -> list[list[Word]]:
        """Words grouped by their box top (one text line each), top to bottom."""
        rows: dict[float, list[Word]] = {}
        for w in self.words:
            rows.setdefault(round(w.y0, 1), []).append(w)
        return [sorted(rows[y], key=lambda w: w.x0) for y in sorted(rows)]


def pages(pdf: Path) -> list[Page]:
    """Every page with its words, from ``pdftotext -bbox``."""
    return [
        Page(n, width, height, tuple(words))
        for n, (width, height, words) in enumerate(word_pages(pdf.read_bytes()), start=1)
    ]


def render_pngs(pdf: Path, out_dir: Path, resolution: int = 60) -> list[Path]:
    """The pages as PNG files (``<stem>-<n>.png``) for a person to look at."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / pdf.stem
    subprocess.run(
        ["pdftoppm", "-r", str(resolution), "-png", str(pdf), str(prefix)], check=True, timeout=120
    )
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"))
