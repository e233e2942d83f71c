"""Page thumbnails: made once per PDF hash by pdftoppm, shared, and never half-written."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

import pytest

from service.console.thumbnails import Thumbnails, png_size

needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="no pdftoppm")


def tiny_pdf(pages: int = 2) -> bytes:
    """A valid PDF of ``pages`` blank A4 pages, written by hand (offsets computed)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
    ]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


@needs_pdftoppm
async def test_made_once_and_cached(tmp_path: Path) -> None:
    pdf = tiny_pdf(3)
    sha = hashlib.sha256(pdf).hexdigest()
    thumbnails = Thumbnails(tmp_path, width_px=120)
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return pdf

    first, second = await asyncio.gather(thumbnails.pages(sha, load), thumbnails.pages(sha, load))
    assert first == second
    assert first is not None and [t.page for t in first] == [1, 2, 3]
    assert all(t.width == 120 and t.height == 170 for t in first)
    assert loads == 1
    assert await thumbnails.pages(sha, load) == first and loads == 1
    path = thumbnails.path(sha, 2)
    assert path is not None and png_size(path.read_bytes()) == (120, 170)
    assert thumbnails.path(sha, 4) is None
    assert not list(tmp_path.glob("*/.tmp-*"))


@needs_pdftoppm
async def test_a_broken_pdf_gives_none(tmp_path: Path) -> None:
    thumbnails = Thumbnails(tmp_path)

    async def load() -> bytes:
        return b"%PDF-1.4 this is not a pdf"

    assert await thumbnails.pages("a" * 64, load) is None
    assert thumbnails.cached("a" * 64) is None
    assert not list(tmp_path.rglob("*.png"))


async def test_without_pdftoppm(tmp_path: Path) -> None:
    thumbnails = Thumbnails(tmp_path, program=None)

    async def load() -> bytes:
        raise AssertionError("nothing to load without pdftoppm")

    assert not thumbnails.available
    assert await thumbnails.pages("b" * 64, load) is None


def test_only_hashes_name_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Thumbnails(tmp_path).path("../../etc/passwd", 1)
